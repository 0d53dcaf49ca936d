/**
 * Loads failoverd.yaml and the zone files it names, validates both, and
 * resolves them into a Config. Every problem is collected and reported at
 * once (ProblemsError, code CONFIG_INVALID) with file, line and field path.
 */
import { resolveAdmin } from './admin.ts';
import { readFile, readdir, stat } from 'node:fs/promises';
import { isIPv4, isIPv6 } from 'node:net';
import { dirname, resolve, join } from 'node:path';
import { nextTurn } from '../clock.ts';
import { LineCounter } from 'yaml';
import { errorText, ProblemsError, quote, shown, type Problem } from '../errors.ts';
import { canonicalName, isInZone } from '../dns-model/names.ts';
import type { ZoneFile } from '../dns-model/records.ts';
import { resolveCluster } from './cluster.ts';
import { friendlyMessage, unknownKeyMessage } from './friendly-issues.ts';
import { validateRoute53 } from './route53.ts';
import { resolveRfc2136 } from './rfc2136.ts';
import { resolveTransferConfig } from './transfer.ts';
import { loadZoneFile } from '../zones/load.ts';
import { isHostName, readsAsIpAddress } from './dns-name.ts';
import { canonicalIp } from './ip-address.ts';
import { configSchema, type RawConfig, type RawRecordSet } from './schema.ts';
import { compileTopologyMap } from './topology.ts';
import { loadGeoDatabase, type GeoDatabase } from './geo-database.ts';
import type { Config, HostPort, RecordSetConfig, SiteConfig, Target, TopologyConfig } from './types.ts';
import { lineOfAlias, lineOfKey, lineOfPath } from './yaml-locate.ts';
import { parseDocumentInSteps } from './yaml-steps.ts';

/** The most nodes one YAML alias may expand to (the yaml library's default); more is a "billion laughs". */
const MAX_ALIAS_COUNT = 100;

export interface LoadedConfig {
  config: Config;
  zones: ZoneFile[];
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : (out ? '.' : '') + shown(String(seg));
  return out;
}

/** "route53.adopt[0]" → ["route53", "adopt", 0] */
function parsePath(path: string): PropertyKey[] {
  const out: PropertyKey[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

export async function loadConfig(file: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ProblemsError('CONFIG_INVALID', [{ file, message: `cannot read config: ${errorText(err)}` }]);
  }
  return parseConfigText(text, file);
}

export async function parseConfigText(text: string, file: string): Promise<LoadedConfig> {
  const lc = new LineCounter();
  const doc = await parseDocumentInSteps(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const problems: Problem[] = [];
  for (const e of doc.errors) problems.push({ file, line: lc.linePos(e.pos[0]).line, message: `YAML: ${e.message.split('\n')[0]}` });
  if (problems.length) throw new ProblemsError('CONFIG_INVALID', problems);

  let plain: unknown;
  try {
    plain = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (err) {
    // toJS() throws for an alias that expands too far (a "billion laughs") or refers to no anchor.
    const bomb = /excessive alias count/i.test(errorText(err));
    const message = bomb ? `YAML: aliases expand to too many nodes (over ${MAX_ALIAS_COUNT} per alias): refused as a resource exhaustion attack` : `YAML: ${errorText(err)}`;
    throw new ProblemsError('CONFIG_INVALID', [{ file, line: lineOfAlias(doc, lc, bomb ? undefined : /: (\S+)$/.exec(errorText(err))?.[1]), message }]);
  }
  await nextTurn(); // the schema check in a turn of its own (a config of a thousand record sets: ~10 ms each)
  const parsed = configSchema.safeParse(plain);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          problems.push({ file, line: lineOfKey(doc, lc, issue.path, key), path: formatPath([...issue.path, key]), message: unknownKeyMessage(key, issue.path) });
        }
      } else {
        problems.push({ file, line: lineOfPath(doc, lc, issue.path), path: formatPath(issue.path), message: friendlyMessage(issue.message, issue.path, plain) });
      }
    }
    throw new ProblemsError('CONFIG_INVALID', problems);
  }
  const raw = parsed.data;
  const at = (path: PropertyKey[]): Omit<Problem, 'message'> => ({ file, line: lineOfPath(doc, lc, path), path: formatPath(path) });

  const zoneFiles = await resolveZoneFiles(raw.zones, dirname(resolve(file)), problems, at(['zones']));
  const zones: ZoneFile[] = [];
  for (const zf of zoneFiles) {
    try {
      zones.push(await loadZoneFile(zf));
    } catch (err) {
      if (err instanceof ProblemsError) problems.push(...err.problems);
      else problems.push({ ...at(['zones']), message: `cannot load zone file ${zf}: ${errorText(err)}` });
    }
  }
  const origins = new Map<string, string>();
  for (const z of zones) {
    const other = origins.get(z.origin);
    if (other) problems.push({ file: z.file, message: `zone ${z.origin || '.'} is also served from ${other}` });
    origins.set(z.origin, z.file);
  }

  // A zone file that failed to load is reported once, with its line: record
  // sets and secondaries are not also reported as outside every served zone.
  const zonesComplete = zones.length === zoneFiles.length;
  const geo = await loadGeoDatabases(raw, dirname(resolve(file)), problems, at);
  const records = resolveRecordSets(raw, zones, zonesComplete, problems, at, geo);
  if (raw.route53 && problems.length === 0) {
    for (const p of validateRoute53(raw.route53, records, zones.map((z) => z.origin))) problems.push({ ...at(parsePath(p.path)), message: p.message });
  }
  const ids = new Set(records.flatMap((r) => r.targets.map((t) => t.id)));
  raw.maintenance.forEach((m, i) => {
    m.targets.forEach((id, j) => {
      if (!ids.has(id)) problems.push({ ...at(['maintenance', i, 'targets', j]), message: `unknown target id ${quote(id)} (target ids look like www.example.test/A/192.0.2.1, or an explicit id:)` });
    });
    if (m.timezone && !validTimezone(m.timezone)) problems.push({ ...at(['maintenance', i, 'timezone']), message: `unknown time zone ${quote(m.timezone)}` });
  });
  const names = new Set<string>();
  const maintenance = raw.maintenance.map((m, i) => {
    const name = m.name ?? `maintenance[${i}]`;
    if (names.has(name)) problems.push({ ...at(['maintenance', i, 'name']), message: `duplicate maintenance name ${quote(name)}` });
    names.add(name);
    return { ...m, name };
  });
  listenClashes(raw.dns.listen, at, problems);
  for (const key of Object.keys(raw.dns.ecs.listeners)) {
    if (!raw.dns.listen.some((l) => (l.host.includes(':') ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`) === key)) {
      problems.push({ ...at(['dns', 'ecs', 'listeners', key]), message: `${quote(key)} is not a dns.listen address (listening: ${raw.dns.listen.map((l) => (l.host.includes(':') ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`)).join(', ')})` });
    }
  }
  const admin = resolveAdmin(raw.admin, dirname(resolve(file)));
  for (const p of admin.problems) problems.push({ ...at(parsePath(p.path)), message: p.message });
  const xfer = resolveTransferConfig(raw, dirname(resolve(file)), zonesComplete ? zones.map((z) => z.origin) : undefined);
  for (const p of xfer.problems) problems.push({ ...at(parsePath(p.path)), message: p.message });
  const rfc2136 = raw.rfc2136 ? resolveRfc2136(raw.rfc2136, records, dirname(resolve(file))) : undefined;
  for (const p of rfc2136?.problems ?? []) problems.push({ ...at(parsePath(p.path)), message: p.message });
  const cluster = raw.cluster ? resolveCluster(raw.cluster, dirname(resolve(file))) : undefined;
  for (const p of cluster?.problems ?? []) problems.push({ ...at(parsePath(p.path)), message: p.message });
  if (problems.length) throw new ProblemsError('CONFIG_INVALID', problems);
  return {
    config: {
      file,
      dns: raw.dns,
      zoneFiles,
      log: raw.log,
      startupTimeout: raw.startupTimeout,
      checks: raw.checks,
      records,
      route53: raw.route53,
      ...(rfc2136 ? { rfc2136: rfc2136.config } : {}),
      admin: admin.config,
      state: { file: resolve(dirname(resolve(file)), raw.state.file) },
      notify: raw.notify,
      maintenance,
      ...xfer.settings,
      ...(cluster ? { cluster: cluster.config } : {}),
    },
    zones,
  };
}

async function resolveZoneFiles(spec: string | string[], baseDir: string, problems: Problem[], where: Omit<Problem, 'message'>): Promise<string[]> {
  const entries = typeof spec === 'string' ? [spec] : spec;
  const out: string[] = [];
  for (const entry of entries) {
    const p = resolve(baseDir, entry);
    try {
      const s = await stat(p);
      if (s.isDirectory()) {
        const names = (await readdir(p)).filter((n) => n.endsWith('.zone')).sort();
        if (names.length === 0) problems.push({ ...where, message: `no *.zone files in ${entry}` });
        out.push(...names.map((n) => join(p, n)));
      } else out.push(p);
    } catch {
      problems.push({ ...where, message: `zone path not found: ${entry}` });
    }
  }
  return out;
}

/**
 * The MaxMind databases the record sets name (`mmdb`), each file read once:
 * by record set index, the database, or null when it failed to load (the
 * problem names the file).
 */
async function loadGeoDatabases(raw: RawConfig, baseDir: string, problems: Problem[], at: (path: PropertyKey[]) => Omit<Problem, 'message'>): Promise<Map<number, GeoDatabase | null>> {
  const out = new Map<number, GeoDatabase | null>();
  const byFile = new Map<string, Promise<GeoDatabase | string>>();
  for (const [i, r] of raw.records.entries()) {
    if (r.mmdb === undefined || r.policy !== 'topology') continue;
    const path = resolve(baseDir, r.mmdb);
    let loading = byFile.get(path);
    if (!loading) byFile.set(path, (loading = loadGeoDatabase(path).catch((err: unknown) => errorText(err))));
    const db = await loading;
    if (typeof db === 'string') {
      // One problem per file, at the first record set that names it.
      if (![...out.entries()].some(([k, v]) => v === null && resolve(baseDir, raw.records[k]!.mmdb!) === path)) problems.push({ ...at(['records', i, 'mmdb']), message: db });
      out.set(i, null);
    } else out.set(i, db);
  }
  return out;
}

function resolveRecordSets(
  raw: RawConfig,
  zones: ZoneFile[],
  zonesComplete: boolean,
  problems: Problem[],
  at: (path: PropertyKey[]) => Omit<Problem, 'message'>,
  geo: ReadonlyMap<number, GeoDatabase | null>,
): RecordSetConfig[] {
  const out: RecordSetConfig[] = [];
  const seen = new Map<string, number>();
  const targetIds = new Map<string, Omit<Problem, 'message'>>();
  raw.records.forEach((r, i) => {
    const name = canonicalName(r.name);
    const zone = zones.filter((z) => isInZone(name, z.origin)).sort((a, b) => b.origin.length - a.origin.length)[0];
    if (!zone) {
      if (zonesComplete) problems.push({ ...at(['records', i, 'name']), message: `${name} is outside every served zone (${zones.map((z) => z.origin).join(', ') || 'none'})` });
    } else {
      for (const rec of zone.records) {
        if (rec.data.type === 'NS' && rec.name !== zone.origin && isInZone(name, rec.name)) {
          problems.push({ ...at(['records', i, 'name']), message: `${name} is below the delegation ${rec.name} (${rec.file}:${rec.line})` });
          break;
        }
        if (rec.name !== name) continue;
        if (rec.data.type === r.type || rec.data.type === 'CNAME' || r.type === 'CNAME') {
          problems.push({ ...at(['records', i, 'name']), message: `${name} ${r.type} is also defined statically at ${rec.file}:${rec.line} (${rec.data.type})` });
          break;
        }
      }
    }
    const key = `${name}/${r.type === 'CNAME' ? '*' : r.type}`;
    const clash = seen.get(key) ?? (r.type === 'CNAME' ? (seen.get(`${name}/A`) ?? seen.get(`${name}/AAAA`)) : seen.get(`${name}/*`));
    if (clash !== undefined) problems.push({ ...at(['records', i, 'name']), message: `${name} ${r.type} clashes with records[${clash}]` });
    seen.set(key, i);

    const resolveTargets = (list: NonNullable<RawRecordSet['targets']>, base: PropertyKey[], site?: string): Target[] => {
      const targets: Target[] = [];
      const addresses = new Map<string, number>();
      list.forEach((t, j) => {
        const check = raw.checks[t.check];
        if (!check) problems.push({ ...at([...base, j, 'check']), message: `unknown check ${quote(t.check)} (defined: ${Object.keys(raw.checks).join(', ') || 'none'})` });
        const bad = addressProblem(r.type, t.address);
        if (bad) problems.push({ ...at([...base, j, 'address']), message: bad });
        const address = r.type === 'CNAME' ? canonicalName(t.address) : bad ? t.address : canonicalIp(t.address);
        const twin = addresses.get(address);
        if (twin !== undefined && !bad) {
          const first = at([...base, twin, 'address']);
          const written = list[twin]!.address;
          const spelling = t.address === written ? '' : `, written ${quote(written)}; both are ${address}`;
          problems.push({ ...at([...base, j, 'address']), message: `${quote(t.address)} is also ${first.path} (line ${first.line}${spelling}): an answer holds each address once` });
        }
        if (!addresses.has(address)) addresses.set(address, j);
        const id = t.id ?? (site === undefined ? `${name}/${r.type}/${address}` : `${name}/${r.type}/${site}/${address}`);
        const idTwin = targetIds.get(id);
        if (idTwin !== undefined && (twin === undefined || t.id !== undefined)) problems.push({ ...at([...base, j]), message: `duplicate target id ${quote(id)} (also ${idTwin.path}, line ${idTwin.line})` });
        if (idTwin === undefined) targetIds.set(id, at([...base, j]));
        if (check) targets.push({ id, address, checkName: t.check, check, weight: t.weight, probeKey: `${t.check}@${address}`, ...(site !== undefined ? { site } : {}) });
      });
      return targets;
    };
    const topology = r.policy === 'topology' ? resolveTopology(r, i, resolveTargets, problems, at, geo.get(i)) : undefined;
    const targets = topology ? topology.sites.flatMap((s) => s.targets) : resolveTargets(r.targets ?? [], ['records', i, 'targets']);
    if (r.policy === 'weighted' && (r.targets ?? []).every((t) => t.weight === 0)) problems.push({ ...at(['records', i, 'targets']), message: 'weighted policy needs at least one target with weight > 0' });
    if (r.type === 'CNAME' && r.policy !== 'failover' && r.policy !== 'weighted') problems.push({ ...at(['records', i, 'policy']), message: 'a CNAME record set answers one target: use policy failover or weighted' });
    if (r.type === 'CNAME' && r.whenAllDown === 'all') problems.push({ ...at(['records', i, 'whenAllDown']), message: 'a CNAME record set cannot answer all targets' });
    out.push({
      name,
      type: r.type,
      zone: zone?.origin ?? '',
      ttl: r.ttl,
      degradedTtl: r.degradedTtl,
      policy: r.policy,
      failback: r.failback,
      whenAllDown: r.whenAllDown ?? (r.policy === 'failover' || r.policy === 'topology' || r.type === 'CNAME' ? 'primary' : 'all'),
      maxAnswers: r.maxAnswers,
      targets,
      ...(topology ? { topology } : {}),
    });
  });
  return out;
}

/** Policy topology: each site's targets (ids NAME/TYPE/SITE/ADDRESS by default), the map checked and compiled. */
function resolveTopology(
  r: RawRecordSet,
  i: number,
  resolveTargets: (list: NonNullable<RawRecordSet['targets']>, base: PropertyKey[], site?: string) => Target[],
  problems: Problem[],
  at: (path: PropertyKey[]) => Omit<Problem, 'message'>,
  db: GeoDatabase | null | undefined,
): TopologyConfig {
  const sites: SiteConfig[] = Object.entries(r.sites ?? {}).map(([site, s]) => {
    const base = ['records', i, 'sites', site];
    if (s.policy === 'weighted' && s.targets.every((t) => t.weight === 0)) problems.push({ ...at([...base, 'targets']), message: 'weighted policy needs at least one target with weight > 0' });
    if (r.type === 'CNAME' && s.policy === 'multivalue') problems.push({ ...at([...base, 'policy']), message: 'a CNAME record set answers one target: use policy failover or weighted' });
    return { name: site, policy: s.policy, failback: s.failback ?? r.failback, maxAnswers: s.maxAnswers ?? r.maxAnswers, targets: resolveTargets(s.targets, [...base, 'targets'], site) };
  });
  const compiled = compileTopologyMap(
    sites.map((s) => s.name),
    r.map ?? [],
    r.default ?? [],
    ['records', i],
    db,
  );
  for (const p of compiled.problems) problems.push({ ...at(p.path), message: p.message });
  return { sites, map: compiled.map };
}

function validTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Why `address` cannot be a target of a `type` record set, or undefined. */
function addressProblem(type: RawRecordSet['type'], address: string): string | undefined {
  if (type === 'A') return isIPv4(address) ? undefined : `${quote(address)} is not an IPv4 address for an A record`;
  if (type === 'AAAA') {
    if (!isIPv6(address)) return `${quote(address)} is not an IPv6 address for an AAAA record`;
    if (address.includes('%')) return `${quote(address)} has a zone id (%...): an AAAA record holds the address alone, and the probe would go out another interface than the clients`;
    return undefined;
  }
  if (readsAsIpAddress(address)) return `${quote(address)} is an IP address, not a host name: a CNAME points to a name (use type A or AAAA for addresses)`;
  return isHostName(address) ? undefined : `${quote(address)} is not a host name for a CNAME record`;
}

/** dns.listen: each address:port once, however it is spelled ([::1]:53 and [0:0:0:0:0:0:0:1]:53 are one socket). */
function listenClashes(listen: HostPort[], at: (path: PropertyKey[]) => Omit<Problem, 'message'>, problems: Problem[]): void {
  const seen = new Map<string, number>();
  listen.forEach((l, k) => {
    const key = `[${l.host}]:${l.port}`;
    const first = seen.get(key);
    if (first === undefined || l.port === 0) seen.set(key, k);
    else problems.push({ ...at(['dns', 'listen', k]), message: `${key} is also dns.listen[${first}] (line ${at(['dns', 'listen', first]).line}): one address:port listens once` });
  });
}
