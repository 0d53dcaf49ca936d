/**
 * `failoverd demo`: a failover to watch on your own machine, nothing to set
 * up. It starts two HTTP backends (127.0.0.1 and 127.0.0.2, one port), the
 * daemon in this process with a generated config (DNS on a free loopback
 * port, the admin API on another when this build has one), and a small
 * control endpoint to kill and restore the backends. It prints what to type
 * and one readable line per health change and transition. Ctrl-C (or q)
 * stops everything it started and removes its temporary directory.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { InvalidArgumentError, type Command } from 'commander';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { systemClock } from '../clock.ts';
import { loadConfig } from '../config/load.ts';
import { configSchema } from '../config/schema.ts';
import { Daemon } from '../daemon.ts';
import type { Transition } from '../failover/types.ts';

const NAME = 'www.example.test';
const TTL = 5;

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('watch a failover: two local backends, failoverd serving DNS for them, and commands to break things')
    .option('--no-keys', 'do not read single keys from the terminal (1/2 kill or restore a backend, q quits)')
    .option('--dns-port <port>', 'the DNS port on 127.0.0.1 (default: a free one)', demoPort('--dns-port'))
    .option('--admin-port <port>', 'the admin API port on 127.0.0.1 (default: a free one)', demoPort('--admin-port'))
    .option('--backend-port <port>', 'the two backends\' port, on 127.0.0.1 and 127.0.0.2 (default: one free on both)', demoPort('--backend-port'))
    .action(async (opts: { keys: boolean } & DemoPorts) => {
      const code = await runDemo({ keys: opts.keys, dnsPort: opts.dnsPort, adminPort: opts.adminPort, backendPort: opts.backendPort });
      // Everything the demo started is closed; exit once stdout is flushed.
      process.stdout.write('', () => process.exit(code));
    });
}

interface DemoPorts {
  dnsPort?: number;
  adminPort?: number;
  backendPort?: number;
}

/** A commander parser for a port option: an integer from 1 to 65535, or a clear error naming the option. */
function demoPort(option: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > 65535) throw new InvalidArgumentError(`${option} must be a port number from 1 to 65535, not ${JSON.stringify(value)}`);
    return n;
  };
}

/** A backend the demo can kill and restore: an HTTP server on host:port. */
class DemoBackend {
  private server: http.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  constructor(
    readonly role: 'primary' | 'secondary',
    readonly host: string,
    public port: number,
  ) {}

  get up(): boolean {
    return this.server !== undefined;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = http.createServer((req, res) => {
      res.setHeader('connection', 'close');
      if (req.url === '/healthz') res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      else res.writeHead(200, { 'content-type': 'text/plain' }).end(`hello from the ${this.role} backend (${this.host})\n`);
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** Closes the listener and every connection: the process died. */
  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    const closed = new Promise<void>((r) => s.close(() => r()));
    for (const sock of this.sockets) sock.destroy();
    await closed;
  }
}

/** Two backends on one port (`port`, or one free on both): 127.0.0.1 and 127.0.0.2. */
async function startBackends(port?: number): Promise<[DemoBackend, DemoBackend]> {
  let lastErr: unknown;
  for (let attempt = 0; attempt < (port ? 1 : 20); attempt++) {
    const primary = new DemoBackend('primary', '127.0.0.1', port ?? 0);
    await primary.start();
    const secondary = new DemoBackend('secondary', '127.0.0.2', primary.port);
    try {
      await secondary.start();
      return [primary, secondary];
    } catch (err) {
      lastErr = err;
      await primary.stop();
      if ((err as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL') break;
    }
  }
  const code = (lastErr as NodeJS.ErrnoException | undefined)?.code;
  throw new Error(
    code === 'EADDRNOTAVAIL'
      ? 'cannot listen on 127.0.0.2: this system has no such loopback address (on macOS: sudo ifconfig lo0 alias 127.0.0.2 up)'
      : port
        ? `--backend-port ${port}: cannot listen on both 127.0.0.1:${port} and 127.0.0.2:${port}: ${String(lastErr)}`
        : `cannot find a port free on both 127.0.0.1 and 127.0.0.2: ${String(lastErr)}`,
  );
}

async function freeTcpPort(host: string): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, host, () => resolve());
  });
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

const ZONE = `; generated by failoverd demo
$ORIGIN example.test.
$TTL 300
@       IN SOA ns1.example.test. hostmaster.example.test. ( 1 3600 600 1209600 60 )
        IN NS  ns1
ns1     IN A   127.0.0.53
`;

function time(at = systemClock.now()): string {
  return new Date(at).toTimeString().slice(0, 8);
}

export async function runDemo(opts: { keys: boolean; out?: NodeJS.WritableStream } & DemoPorts): Promise<number> {
  const out = opts.out ?? process.stdout;
  const say = (line = '') => void out.write(line + '\n');
  // Events before the banner (the first health verdicts) are held and printed after it.
  let held: string[] | undefined = [];
  const event = (kind: string, text: string) => {
    const line = `${time()}  ${kind.padEnd(10)} ${text}`;
    if (held) held.push(line);
    else say(line);
  };
  const flushHeld = () => {
    const lines = held ?? [];
    held = undefined;
    for (const l of lines) say(l);
  };

  const dir = mkdtempSync(join(tmpdir(), 'failoverd-demo-'));
  let backends: [DemoBackend, DemoBackend] | undefined;
  let daemon: Daemon | undefined;
  let control: http.Server | undefined;
  let stopping: Promise<number> | undefined;
  let rawMode = false;

  const stop = (code: number): Promise<number> => {
    stopping ??= (async () => {
      if (rawMode) process.stdin.setRawMode(false);
      process.stdin.pause();
      say();
      event('stopping', 'daemon, backends and control endpoint');
      const closeControl = control ? new Promise<void>((r) => control!.close(() => r())) : undefined;
      control?.closeAllConnections();
      await Promise.allSettled([daemon?.stop(), backends?.[0].stop(), backends?.[1].stop(), closeControl]);
      rmSync(dir, { recursive: true, force: true });
      event('stopped', 'everything the demo started is gone');
      return code;
    })();
    return stopping;
  };

  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  const onSignal = () => void stop(0).then(resolveDone);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    backends = await startBackends(opts.backendPort);
    const [primary, secondary] = backends;
    const byAddress = new Map(backends.map((b) => [b.host, b]));

    // The config, as a user would write it (see failoverd.yaml).
    const admin = 'admin' in configSchema.shape ? { listen: `127.0.0.1:${opts.adminPort ?? (await freeTcpPort('127.0.0.1'))}`, token: randomBytes(12).toString('hex') } : undefined;
    const config: Record<string, unknown> = {
      dns: { listen: [`127.0.0.1:${opts.dnsPort ?? 0}`] },
      zones: 'zones',
      log: { level: 'info' },
      startupTimeout: '3s',
      ...(admin ? { admin } : {}),
      ...('state' in configSchema.shape ? { state: { file: join(dir, 'state.json') } } : {}),
      checks: {
        web: { type: 'http', port: primary.port, path: '/healthz', interval: '1s', fastInterval: '200ms', timeout: '500ms', rise: 2, fall: 2 },
      },
      records: [
        {
          name: NAME,
          type: 'A',
          ttl: TTL,
          policy: 'failover',
          failback: 'auto',
          whenAllDown: 'primary',
          targets: [
            { address: primary.host, check: 'web' },
            { address: secondary.host, check: 'web' },
          ],
        },
      ],
    };
    mkdirSync(join(dir, 'zones'));
    writeFileSync(join(dir, 'zones', 'example.test.zone'), ZONE);
    const configFile = join(dir, 'failoverd.yaml');
    writeFileSync(configFile, `# generated by failoverd demo\n${stringify(config)}`);
    const loaded = await loadConfig(configFile);

    // Health changes and problems come from the daemon's log; transitions from its listener.
    const logSink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const line of chunk.toString().split('\n')) {
          if (!line) continue;
          let l: Record<string, unknown>;
          try {
            l = JSON.parse(line) as Record<string, unknown>;
          } catch {
            continue;
          }
          if (l.msg === 'target health changed' && daemon) {
            const address = String(l.target ?? '').split('@').pop() ?? '';
            const role = byAddress.get(address)?.role ?? address;
            event('health', `${role} ${address} ${String(l.from)} → ${String(l.to)}${l.reason ? ` (${String(l.reason)})` : ''}`);
          } else if (typeof l.level === 'number' && l.level >= 40) {
            event(l.level >= 50 ? 'error' : 'warning', `${String(l.msg)}${l.err ? `: ${String(l.err)}` : ''}`);
          }
        }
        cb();
      },
    });
    const logger = pino({ level: 'info', base: { name: 'failoverd' } }, logSink);
    daemon = new Daemon(loaded, { logger, clock: systemClock });
    daemon.controller.transitionListeners.push((t: Transition) => {
      const failback = t.to === primary.host;
      event(failback ? 'FAILBACK' : 'FAILOVER', `${t.recordSet}: ${t.from} → ${t.to}  (${t.reason})`);
    });
    const bound = await daemon.start();
    const dnsPort = bound[0]!.port;

    control = await startControl(backends, (b, action) => event(action === 'kill' ? 'killed' : 'restored', `${b.role} backend ${b.host}:${b.port}`));
    const ctl = `http://127.0.0.1:${(control.address() as net.AddressInfo).port}`;

    const id = (addr: string) => `${NAME}/A/${addr}`;
    // Started through npx (npm sets npm_command=exec): the commands to type need it too.
    const cli = process.env.npm_command === 'exec' ? 'npx failoverd' : 'failoverd';
    const adminUrl = admin && (await answers(`http://${admin.listen}/healthz`)) ? `http://${admin.listen}` : undefined;
    say('failoverd demo: a DNS failover you can watch');
    say();
    say(`  DNS      127.0.0.1 port ${dnsPort}, zone example.test, ${NAME} A (TTL ${TTL}s): the first healthy of`);
    say(`  primary    http://${primary.host}:${primary.port}/   (checked on /healthz every second; 2 failures = DOWN)`);
    say(`  secondary  http://${secondary.host}:${secondary.port}/`);
    say(`  control  ${ctl}/`);
    if (adminUrl) say(`  admin    ${adminUrl}/v1/status   (status page in a browser: ${adminUrl}/)`);
    say(`  config   ${configFile}`);
    say();
    say('Type in another terminal:');
    say(`  dig @127.0.0.1 -p ${dnsPort} ${NAME} +short                  # which backend answers now`);
    say(`  curl -X POST ${ctl}/primary/kill       # kill the primary backend: watch the failover below`);
    say(`  curl -X POST ${ctl}/primary/restore    # bring it back: failback`);
    if (adminUrl) {
      say(`  export FAILOVERD_ADMIN_TOKEN=${admin!.token}   # the demo's admin token, for the commands below`);
      say(`  ${cli} drain ${id(primary.host)} --reason "demo" --admin ${adminUrl}`);
      say(`  ${cli} undrain ${id(primary.host)} --admin ${adminUrl}`);
      say(`  ${cli} status --admin ${adminUrl}`);
      say(`  curl ${adminUrl}/v1/status`);
      say(`  curl -X POST -H "Authorization: Bearer $FAILOVERD_ADMIN_TOKEN" -H 'content-type: application/json' -d '{"state":"down","reason":"demo"}' ${adminUrl}/v1/targets/${encodeURIComponent(id(primary.host))}/override`);
    } else {
      say('  (drain, undrain and status go through the admin API, which this build does not serve yet)');
    }
    const keys = opts.keys && process.stdin.isTTY === true;
    say(keys ? 'Or press 1 / 2 here to kill or restore the primary / secondary backend, q to quit.' : 'Ctrl-C stops everything.');
    say();

    flushHeld();
    for (const a of daemon.controller.answers()) {
      const ans = a.state.answer;
      const to = ans.kind === 'targets' ? ans.targetIds.map((tid) => a.config.targets.find((t) => t.id === tid)?.address ?? tid).join(',') : ans.kind.toUpperCase();
      event('answer', `${a.config.name}/${a.config.type} → ${to}  (${a.state.reason})`);
    }

    if (keys) {
      process.stdin.setRawMode(true);
      rawMode = true;
      process.stdin.resume();
      process.stdin.on('data', (d: Buffer) => {
        const k = d.toString();
        if (k === 'q' || k === '\u0003' || k === '\u0004') onSignal();
        const b = k === '1' ? primary : k === '2' ? secondary : undefined;
        if (b) void toggle(b, (action) => event(action === 'kill' ? 'killed' : 'restored', `${b.role} backend ${b.host}:${b.port}`));
      });
    }
  } catch (err) {
    flushHeld();
    process.stderr.write(`failoverd demo: ${err instanceof Error ? err.message : String(err)}\n`);
    if ((err as { problems?: unknown[] }).problems) process.stderr.write(`${JSON.stringify((err as { problems: unknown[] }).problems, null, 2)}\n`);
    return stop(1);
  }
  const code = await done;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return code;
}

/** True when something answers HTTP at url (the admin API of this build). */
async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

async function toggle(b: DemoBackend, told: (action: 'kill' | 'restore') => void): Promise<void> {
  if (b.up) {
    await b.stop();
    told('kill');
  } else {
    await b.start();
    told('restore');
  }
}

/** POST /primary/kill, /primary/restore, /secondary/kill, /secondary/restore; GET / lists the backends. */
async function startControl(backends: DemoBackend[], told: (b: DemoBackend, action: 'kill' | 'restore') => void): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const m = /^\/(primary|secondary)\/(kill|restore)\/?$/.exec(req.url ?? '');
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body) + '\n');
    const list = () => backends.map((b) => ({ role: b.role, address: `${b.host}:${b.port}`, up: b.up }));
    if (req.method === 'GET' && (req.url === '/' || req.url === '/backends')) return json(200, { backends: list() });
    if (!m) return json(404, { error: { code: 'NOT_FOUND', message: 'use POST /primary/kill, /primary/restore, /secondary/kill or /secondary/restore' } });
    if (req.method !== 'POST') return json(405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'use POST' } });
    const b = backends.find((x) => x.role === m[1])!;
    const action = m[2] as 'kill' | 'restore';
    const run = action === 'kill' ? (b.up ? b.stop() : undefined) : b.up ? undefined : b.start();
    Promise.resolve(run).then(
      () => {
        if (run) told(b, action);
        json(200, { backends: list() });
      },
      (err: unknown) => json(500, { error: { code: 'BACKEND_FAILED', message: String(err) } }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return server;
}
