/**
 * A daemon started from the CLI in a temp folder (config, zones, state file),
 * with its admin API and DNS on ephemeral loopback ports: call the API,
 * resolve through node:dns, restart it, and clean it all up.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { DaemonProcess } from './cli.ts';
import { eventually, scaled } from './eventually.ts';
import { EXAMPLE_ZONE_FILE } from './dns-fixture.ts';

export const TOKEN = 'test-token-0123456789abcdef';

export interface ApiReply {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

export class TestDir {
  readonly dir = mkdtempSync(join(tmpdir(), 'failoverd-admin-'));
  constructor() {
    mkdirSync(join(this.dir, 'zones'));
    copyFileSync(EXAMPLE_ZONE_FILE, join(this.dir, 'zones', 'example.test.zone'));
  }
  get config(): string {
    return join(this.dir, 'failoverd.yaml');
  }
  get stateFile(): string {
    return join(this.dir, 'state', 'failoverd.json');
  }
  write(yaml: string): void {
    writeFileSync(this.config, yaml);
  }
  remove(): void {
    // Retried: a daemon still stopping may write its state file while the folder goes.
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  }
}

/**
 * Check settings that make tests quick: probes every 400 ms with a 300 ms
 * timeout, 2 to rise and 3 to fall, on an idle machine. Both stretch with the
 * load when the test file starts (eventually.ts): a probe answered in 320 ms
 * on a saturated machine is a slow machine, not a dead backend. Fall 3 (a
 * killed backend, refused, still falls ~100 ms after its first failure): a
 * clean-clone CI run at load 17 saw two 1200 ms timeouts in a row from
 * backends served by a stalled test process.
 */
export const FAST = `interval: ${scaled(400)}ms, fastInterval: 50ms, timeout: ${scaled(300)}ms, rise: 2, fall: 3, watch: false`;

/**
 * A check for tests whose subject is not probe timing (topology maps, ECS,
 * Route 53 records), on the backends' `port`: a TCP connect, which the
 * kernel completes even while the test process that serves the backends is
 * stalled, so on a busy machine a site does not fall because the test was
 * slow (with FAST's HTTP probe, two 300 ms timeouts in a row were enough,
 * and CI saw a site's answer move to its next site mid-test). A killed
 * backend (connection refused) still falls within four fast probes (~200 ms).
 */
export function steadyCheck(port: number): string {
  return `{ type: tcp, port: ${port}, interval: ${scaled(1000)}ms, fastInterval: 50ms, timeout: ${scaled(900)}ms, rise: 1, fall: 4, watch: false }`;
}

export interface DaemonPlace {
  /** A command that runs node, e.g. ['ip', 'netns', 'exec', ns]. */
  wrap?: string[];
  /** Where its admin API and DNS are reached (default 127.0.0.1). */
  host?: string;
  /** Run in the test's folder with `--config failoverd.yaml` (what shows is a plain file name, as for a user in their own folder). */
  inDir?: boolean;
}

export class AdminDaemon {
  readonly proc: DaemonProcess;
  adminUrl = '';
  dnsPort = 0;
  /** Asks once more after a lost or late reply: on a busy machine a 1 s wait is not an answer changed. */
  resolver = new Resolver({ timeout: scaled(1000), tries: 2 });

  /** The address the admin API and DNS are reached on. */
  readonly host: string;

  /** `where`: a daemon elsewhere than on loopback, e.g. in a network namespace (wrap: ['ip', 'netns', 'exec', ns]) reached on its address there. */
  constructor(readonly dir: TestDir, env: NodeJS.ProcessEnv = {}, where: DaemonPlace = {}) {
    this.host = where.host ?? '127.0.0.1';
    this.proc = new DaemonProcess(['run', '--config', where.inDir ? basename(dir.config) : dir.config], { env, ...(where.wrap ? { wrap: where.wrap } : {}), ...(where.inDir ? { cwd: dir.dir } : {}) });
  }

  /** Starts a daemon and waits until it serves DNS; one that does not in time is killed before the error is thrown. */
  static async start(dir: TestDir, env: NodeJS.ProcessEnv = {}, timeoutMs = 10_000, where: DaemonPlace = {}): Promise<AdminDaemon> {
    const d = new AdminDaemon(dir, env, where);
    await d.ready(timeoutMs);
    return d;
  }

  /** Waits until this daemon (just constructed: its process started) serves DNS; one that does not in time is killed before the error is thrown. */
  async ready(timeoutMs = 10_000): Promise<void> {
    try {
      await this.waitAdmin(timeoutMs);
      const serving = await this.proc.waitForLog((l) => l.msg === 'serving DNS', timeoutMs);
      this.dnsPort = (serving.listen as Array<{ port: number }>)[0]!.port;
      this.resolver.setServers([`${this.host}:${this.dnsPort}`]);
    } catch (err) {
      await this.stop('SIGKILL');
      throw err;
    }
  }

  async waitAdmin(timeoutMs = 10_000): Promise<void> {
    const l = await this.proc.waitForLog((x) => x.msg === 'admin API listening', timeoutMs);
    this.adminUrl = `http://${this.host}:${(l.listen as { port: number }).port}`;
  }

  async api(method: string, path: string, opts: { body?: unknown; raw?: string; token?: string | null; headers?: Record<string, string> } = {}): Promise<ApiReply> {
    const token = opts.token === undefined ? TOKEN : opts.token;
    const res = await fetch(this.adminUrl + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(opts.body !== undefined || method !== 'GET' ? { 'content-type': 'application/json' } : {}), ...opts.headers },
      body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
      signal: AbortSignal.timeout(scaled(5000)),
    });
    const text = await res.text();
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, body, text, headers: res.headers };
  }

  async answer(name: string): Promise<string[]> {
    try {
      return (await this.resolver.resolve4(name)).sort();
    } catch (err) {
      return [(err as { code: string }).code];
    }
  }

  /** Polls every 20 ms until `name` answers `want` (within `timeoutMs`, scaled by load); returns how long it took. */
  async waitForAnswer(name: string, want: string[], timeoutMs = 5000): Promise<number> {
    const start = Date.now();
    let last: string[] = [];
    try {
      await eventually(`${name} to answer ${want.join(',')}`, async () => {
        last = await this.answer(name);
        return JSON.stringify(last) === JSON.stringify(want);
      }, timeoutMs);
    } catch {
      throw new Error(`${name} still answers ${last.join(',')} after ${Date.now() - start}ms, wanted ${want.join(',')}`);
    }
    return Date.now() - start;
  }

  /** Policy topology: waits until every site of record set `key` ("name/type") is UP in /v1/status (sites rise one by one). */
  async waitForSitesUp(key: string, timeoutMs = 10_000): Promise<void> {
    let last = '';
    try {
      await eventually(`every site of ${key} UP`, async () => {
        const rs = ((await this.api('GET', '/v1/status')).body?.recordSets ?? []).find((r: { key: string }) => r.key === key);
        const sites: Array<{ name: string; health: string }> = rs?.sites ?? [];
        last = sites.map((x) => `${x.name} ${x.health}`).join(', ');
        return sites.length > 0 && sites.every((x) => x.health === 'UP');
      }, timeoutMs);
    } catch (err) {
      throw new Error(`${(err as Error).message} (sites: ${last || 'none'})`);
    }
  }

  /** The SOA serial served for a zone. */
  async serial(zone = 'example.test'): Promise<number> {
    return (await this.resolver.resolveSoa(zone)).serial;
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    return this.proc.stop(signal);
  }
}

/** Polls `fn` every 20 ms until it returns a truthy value (which it resolves with) or `timeoutMs` (scaled by load) passes. */
export function until<T>(what: string, fn: () => Promise<T | Falsy> | T | Falsy, timeoutMs = 5000): Promise<T> {
  return eventually(what, fn, timeoutMs);
}

type Falsy = undefined | null | false | 0 | '';

/** Parses Prometheus text format strictly: every non-comment line must be `name{labels} value`. */
export function parsePrometheus(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const out: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  const typed = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) continue;
    if (line.startsWith('# TYPE ')) {
      const m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (!m) throw new Error(`bad TYPE line: ${line}`);
      typed.add(m[1]!);
      continue;
    }
    // Values as Prometheus reads them (Go's ParseFloat): NaN and Inf in any case.
    // prom-client prints "Nan" for an event-loop lag not yet sampled.
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|[Nn][Aa][Nn]|[+-]Inf))(?: \d+)?$/.exec(line);
    if (!m) throw new Error(`not Prometheus text: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;
      let lm: RegExpExecArray | null;
      let consumed = 0;
      while ((lm = re.exec(m[2])) !== null) {
        labels[lm[1]!] = lm[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
        consumed = re.lastIndex;
      }
      if (consumed !== m[2].length) throw new Error(`bad labels: ${line}`);
    }
    const base = m[1]!.replace(/_(bucket|sum|count)$/, '');
    if (!typed.has(m[1]!) && !typed.has(base)) throw new Error(`sample without a TYPE line: ${line}`);
    const v = m[3]!;
    out.push({ name: m[1]!, labels, value: /inf$/i.test(v) ? (v.startsWith('-') ? -Infinity : Infinity) : Number(v) });
  }
  return out;
}

/** The value of one series (labels must all match), or undefined. */
export function metric(samples: ReturnType<typeof parsePrometheus>, name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

/**
 * The config most daemon tests start from: www.example.test failing over
 * from 127.0.0.1 to 127.0.0.2 (HTTP check on `port`), with more record sets
 * (YAML list items) and more top-level sections appended.
 */
/**
 * A daemon with nothing to do: www.example.test's one target has a TCP check
 * on `deadPort` (nothing listens: DOWN at the first probe) probed once an
 * hour, so a test reads its status, metrics and the failures it provokes.
 */
export function idleConfig(deadPort: number, opts: { dnsWorkers?: number } = {}): string {
  return `dns: { listen: ["127.0.0.1:0"]${opts.dnsWorkers ? `, workers: ${opts.dnsWorkers}` : ''} }
zones: zones
admin: { listen: "127.0.0.1:0" }
startupTimeout: 2s
checks:
  web: { type: tcp, port: ${deadPort}, interval: 1h, timeout: 500ms, rise: 1, fall: 1 }
records:
  - { name: www.example.test, type: A, targets: [{ address: 127.0.0.1, check: web }] }
`;
}

export function wwwConfig(port: number, opts: { token?: string; moreRecords?: string; extra?: string } = {}): string {
  return `dns: { listen: ["127.0.0.1:0"] }
zones: zones
admin: { listen: "127.0.0.1:0"${opts.token ? `, token: "${opts.token}"` : ''} }
checks:
  web: { type: http, port: ${port}, ${FAST} }
records:
  - name: www.example.test
    type: A
    targets: [{ address: 127.0.0.1, check: web }, { address: 127.0.0.2, check: web }]
${opts.moreRecords ?? ''}${opts.extra ?? ''}`;
}
