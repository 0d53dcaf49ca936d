/**
 * The keys of the one config schema (z.toJSONSchema, input side: what a user
 * writes), in schema order, with type, default and whether required: what
 * config errors name and suggest ("did you mean", friendly-issues.ts), and
 * what scripts/config-reference.ts renders into docs/configuration.md.
 */
import { z } from 'zod';
import { formatDuration } from './duration.ts';
import { configSchema } from './schema.ts';

type Json = Record<string, unknown>;

export interface KeyRow {
  /** "checks.<name>.interval", "records[].targets[].address". */
  path: string;
  type: string;
  default?: string;
  required: boolean;
  /** Has keys of its own (a section, a list of objects, a map). */
  container: boolean;
}

const DURATION = 'duration';

/** The config keys, in schema order, with type, default and whether required. */
export function configKeys(): KeyRow[] {
  const js = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Json;
  const rows: KeyRow[] = [];
  walkObject(js, '', [], rows);
  return rows;
}

function walkObject(node: Json, prefix: string, zodPath: PropertyKey[], rows: KeyRow[]): void {
  const props = (node.properties ?? {}) as Record<string, Json>;
  const required = new Set((node.required ?? []) as string[]);
  for (const [key, child] of Object.entries(props)) {
    const path = prefix ? `${prefix}.${key}` : key;
    addKey(path, child, required.has(key), [...zodPath, key], rows);
  }
}

function addKey(path: string, node: Json, required: boolean, zodPath: PropertyKey[], rows: KeyRow[]): void {
  const nested = nestedOf(node);
  const row: KeyRow = { path, type: typeOf(node), required, container: nested !== undefined };
  const def = node.default !== undefined ? node.default : zodDefault(zodPath);
  // A section's default is the defaults of its keys, listed below it.
  const section = nested !== undefined && node.type === 'object' && node.properties !== undefined;
  if (def !== undefined && !section) row.default = formatDefault(def, row.type);
  rows.push(row);
  if (!nested) return;
  const [childNode, suffix, childZod] = nested;
  walkObject(childNode, path + suffix, [...zodPath, ...childZod], rows);
}

/** The object whose keys continue this one: itself, its list items, its map values, or an object branch of a union. */
function nestedOf(node: Json): [Json, string, PropertyKey[]] | undefined {
  if (node.type === 'object' && node.properties) return [node, '', []];
  if (node.type === 'array' && isObj(node.items)) return [node.items as Json, '[]', ['[]']];
  if (node.type === 'object' && isObj(node.additionalProperties)) return [node.additionalProperties as Json, '.<name>', ['<name>']];
  for (const alt of (node.anyOf ?? node.oneOf ?? []) as Json[]) {
    const n = nestedOf(alt);
    if (n) return n;
  }
  return undefined;
}

function isObj(v: unknown): boolean {
  return typeof v === 'object' && v !== null && (v as Json).type === 'object' && ((v as Json).properties !== undefined || isObj((v as Json).additionalProperties));
}

function typeOf(node: Json): string {
  const alts = (node.anyOf ?? node.oneOf) as Json[] | undefined;
  if (alts) return alts.map(typeOf).join(' or ');
  if (Array.isArray(node.enum)) return node.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (node.const !== undefined) return JSON.stringify(node.const);
  const t = node.type;
  if (Array.isArray(t) && t.length === 2 && t.includes('string') && t.includes('number')) return DURATION;
  if (t === 'array') {
    const items = node.items as Json | undefined;
    const item = items ? (items.type === 'object' ? 'objects' : typeOf(items)) : 'values';
    return `list of ${item}${range(node.minItems, node.maxItems, ' items')}`;
  }
  if (t === 'object') {
    const v = node.additionalProperties;
    if (isObj(v)) return 'map of name → object';
    if (typeof v === 'object' && v) return `map of string → ${typeOf(v as Json)}`;
    return 'object';
  }
  if (t === 'integer' || t === 'number') return `${String(t)}${bounds(node)}`;
  if (t === 'string') {
    if (node.format === 'uri') return 'URL';
    return 'string';
  }
  return typeof t === 'string' ? t : 'any';
}

function range(lo: unknown, hi: unknown, unit: string): string {
  if (lo === undefined && hi === undefined) return '';
  if (hi === undefined) return ` (≥ ${String(lo)}${unit})`;
  return ` (${lo === undefined ? 0 : String(lo)}–${String(hi)}${unit})`;
}

function bounds(node: Json): string {
  const hi = node.maximum !== undefined && node.maximum !== Number.MAX_SAFE_INTEGER ? node.maximum : undefined;
  if (node.exclusiveMinimum !== undefined) return ` (> ${String(node.exclusiveMinimum)}${hi !== undefined ? `, ≤ ${String(hi)}` : ''})`;
  return range(node.minimum, hi, '');
}

type ZodLike = { _zod: { def: Json } };

/** Defaults that toJSONSchema leaves out (on transformed values: durations, addresses): read from the zod schema. */
function zodDefault(path: PropertyKey[]): unknown {
  let s: ZodLike | undefined = configSchema as unknown as ZodLike;
  for (const seg of path) {
    let inner = unwrap(s);
    if (inner._zod.def.type === 'union') inner = ((inner._zod.def.options as ZodLike[]).map(unwrap).find((o) => o._zod.def.shape) ?? inner);
    const def = inner._zod.def;
    if (seg === '[]') s = def.element as ZodLike | undefined;
    else if (seg === '<name>') s = def.valueType as ZodLike | undefined;
    else s = (def.shape as Record<string, ZodLike> | undefined)?.[seg as string];
    if (!s) return undefined;
  }
  // A default among the wrappers of this key.
  let cur: ZodLike | undefined = s;
  for (let i = 0; i < 10 && cur; i++) {
    const def: Json = cur._zod.def;
    if (def.type === 'default') return typeof def.defaultValue === 'function' ? (def.defaultValue as () => unknown)() : def.defaultValue;
    if (def.type === 'optional' || def.type === 'nullable' || def.type === 'prefault') cur = def.innerType as ZodLike;
    else if (def.type === 'pipe') cur = def.in as ZodLike;
    else break;
  }
  return undefined;
}

/** Through default/optional/pipe wrappers to the object, array, record or union inside. */
function unwrap(s: ZodLike): ZodLike {
  let cur = s;
  for (let i = 0; i < 10; i++) {
    const def = cur._zod.def;
    if (def.type === 'default' || def.type === 'optional' || def.type === 'nullable' || def.type === 'prefault' || def.type === 'readonly') cur = def.innerType as ZodLike;
    else if (def.type === 'pipe') cur = (def.in as ZodLike)._zod.def.type === 'transform' ? (def.out as ZodLike) : (def.in as ZodLike);
    else break;
  }
  return cur;
}

function formatDefault(v: unknown, type: string): string {
  if (type.startsWith(DURATION) && typeof v === 'number') return formatDuration(v);
  const hostPort = (x: unknown) => (x && typeof x === 'object' && 'host' in x && 'port' in x ? `${String((x as { host: string }).host).includes(':') ? `[${String((x as { host: string }).host)}]` : String((x as { host: string }).host)}:${String((x as { port: number }).port)}` : undefined);
  if (hostPort(v)) return hostPort(v)!;
  if (Array.isArray(v) && v.length > 0 && v.every((x) => hostPort(x))) return `[${v.map((x) => hostPort(x)).join(', ')}]`;
  if (typeof v === 'string') return v === '' ? '""' : v;
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && _k && /timeout|interval|backoff|duration/i.test(_k) ? formatDuration(x) : x)).replace(/"([A-Za-z_][\w]*)":/g, '$1: ').replace(/,/g, ', ');
}
