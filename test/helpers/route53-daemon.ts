/**
 * A daemon that publishes www.example.test (127.0.0.1 failing over to
 * 127.0.0.2, HTTP backends on one port that the test kills and revives) to
 * Route 53 at `endpoint`: moto_server, or a fake that speaks the API. The
 * folder, backends and daemon are removed when the test ends.
 */
import type { TestContext } from 'node:test';
import { AdminDaemon, TestDir } from './admin-daemon.ts';
import { httpBackendsOnOnePort, type Backend } from './backends.ts';
import { AWS_ENV } from './moto.ts';

export interface Route53DaemonOptions {
  endpoint: string;
  zoneId: string;
  mode: 'records' | 'failover';
  /** The record set's failback (the daemon's default when not given). */
  failback?: 'auto' | 'manual';
}

export interface Route53Setup {
  backends: Backend[];
  dir: TestDir;
  /** Starts the daemon on the config (waits until it serves DNS); stopped when the test ends. */
  start(): Promise<AdminDaemon>;
}

/** The backends and the config, the daemon not started yet (e.g. to run `failoverd plan` first). */
export async function route53Setup(t: TestContext, o: Route53DaemonOptions): Promise<Route53Setup> {
  const backends = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2']);
  t.after(async () => {
    for (const b of backends) await b.kill();
  });
  const dir = new TestDir();
  t.after(() => dir.remove());
  dir.write(`dns: { listen: ["127.0.0.1:0"] }
admin: { listen: "127.0.0.1:0" }
zones: zones
checks:
  web: { type: http, port: ${backends[0]!.port}, interval: 1s, fastInterval: 100ms, timeout: 500ms, rise: 1, fall: 2 }
records:
  - name: www.example.test
    type: A
    ttl: 30
${o.failback ? `    failback: ${o.failback}\n` : ''}    targets: [{ address: 127.0.0.1, check: web }, { address: 127.0.0.2, check: web }]
route53:
  hostedZoneId: ${o.zoneId}
  zone: example.test
  mode: ${o.mode}
  ownerId: failoverd-test
  endpoint: ${o.endpoint}
  maxRequestsPerSecond: 20
`);
  return {
    backends,
    dir,
    async start() {
      const daemon = await AdminDaemon.start(dir, AWS_ENV, 15_000);
      t.after(() => daemon.stop());
      return daemon;
    },
  };
}

/** route53Setup, then the daemon started. */
export async function route53Daemon(t: TestContext, o: Route53DaemonOptions): Promise<{ backends: Backend[]; dir: TestDir; daemon: AdminDaemon }> {
  const s = await route53Setup(t, o);
  return { backends: s.backends, dir: s.dir, daemon: await s.start() };
}
