/**
 * A probe that fails on an error of failoverd's own machine (here EMFILE:
 * out of file descriptors, provoked for real by lowering the process's
 * RLIMIT_NOFILE with prlimit) is no verdict on its target: the health stays,
 * the error is logged (rate-limited, with `err`) and counted in
 * failoverd_probe_local_errors_total{code}.
 *
 * The soft limit goes down to 3 (stdin, stdout, stderr): every descriptor
 * already open keeps working, every new socket fails with EMFILE. Lowering
 * and raising the soft limit of a process of one's own user needs no
 * privilege. Linux only (prlimit, /proc).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, test, type TestContext } from 'node:test';
import { httpProbe, tcpProbe } from '../src/probes/index.ts';
import type { ProbeResult } from '../src/probes/types.ts';
import { AdminDaemon, metric, parsePrometheus, TestDir } from './helpers/admin-daemon.ts';
import { httpBackend, tcpBackend, type Backend } from './helpers/backends.ts';
import { needTool } from './helpers/tools.ts';

/** The soft RLIMIT_NOFILE of a process, from /proc. */
function softNofile(pid: number): string {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'))!;
  return line.split(/\s{2,}/)[1]!;
}

/** Sets the soft RLIMIT_NOFILE of `pid` (the hard limit stays). */
function setSoftNofile(pid: number, soft: string): void {
  execFileSync('prlimit', ['--pid', String(pid), `--nofile=${soft}:`]);
}

/** Linux and prlimit (util-linux), else skipped with the reason (CI=true: failed). */
function canLimit(t: TestContext): boolean {
  if (process.platform !== 'linux') {
    t.skip('needs Linux (/proc, prlimit)');
    return false;
  }
  return needTool(t, 'prlimit', 'util-linux');
}

let web: Backend;
let raw: Backend;
before(async () => {
  web = await httpBackend('127.0.0.1');
  raw = await tcpBackend('127.0.0.1');
});
after(async () => {
  await web.kill();
  await raw.kill();
});

test('http and tcp probes out of descriptors (EMFILE) resolve marked local, with the error', async (t) => {
  if (!canLimit(t)) return;
  const check = { port: web.port, path: '/', headers: {}, expect: { status: ['200-399'] }, timeout: 2000, tlsVerify: true } as const;
  const spec = (type: 'http' | 'tcp', port: number) => ({ address: '127.0.0.1', check: { ...check, type, port } as never });
  assert.equal((await httpProbe(spec('http', web.port))).ok, true, 'the backend answers');
  // This process cannot spawn while it is out of descriptors: a shell started
  // before (its pipe is open already) raises the limit again on a line.
  const soft = softNofile(process.pid);
  const restorer = spawn('sh', ['-c', `read _ && exec prlimit --pid ${process.pid} --nofile=${soft}:`], { stdio: ['pipe', 'ignore', 'inherit'] });
  const restored = new Promise((resolve) => restorer.once('exit', resolve));
  setSoftNofile(process.pid, '3');
  let results: ProbeResult[];
  try {
    results = [await httpProbe(spec('http', web.port)), await tcpProbe(spec('tcp', raw.port))];
  } finally {
    restorer.stdin!.end('\n');
    assert.equal(await restored, 0);
  }
  assert.equal(softNofile(process.pid), soft);
  for (const r of results) {
    assert.equal(r.ok, false);
    assert.equal(r.reason, 'local error EMFILE (not counted)');
    assert.equal(r.local?.code, 'EMFILE');
    assert.ok(r.local?.err instanceof Error && /EMFILE/.test(r.local.err.message), String(r.local?.err));
  }
  assert.equal((await tcpProbe(spec('tcp', raw.port))).ok, true, 'with descriptors again, the probe succeeds');
});

test('a daemon out of descriptors keeps its targets UP: the probes fail locally, logged and counted, no verdict', async (t) => {
  if (!canLimit(t)) return;
  const dir = new TestDir();
  // fall: 1, so a single counted failure would make the target DOWN at once.
  dir.write(`dns: { listen: ["127.0.0.1:0"] }
zones: zones
admin: { listen: "127.0.0.1:0" }
checks:
  web: { type: http, port: ${web.port}, interval: 2s, fastInterval: 50ms, timeout: 1500ms, rise: 1, fall: 1, watch: false }
records:
  - name: www.example.test
    type: A
    whenAllDown: servfail
    targets: [{ address: 127.0.0.1, check: web }]
`);
  const d = await AdminDaemon.start(dir);
  try {
    const pid = d.proc.child.pid!;
    assert.deepEqual(await d.answer('www.example.test'), ['127.0.0.1']);
    const soft = softNofile(pid);
    // Nothing connects to the daemon while it is limited (its listeners cannot accept); its log comes on stdout.
    setSoftNofile(pid, '3');
    let line: Record<string, unknown>;
    try {
      line = await d.proc.waitForLog((l) => l.msg === 'probe failed on a local error: not a verdict on the target, its health stays' || (l.msg === 'target health changed' && l.to === 'DOWN'), 5000);
    } finally {
      setSoftNofile(pid, soft);
    }
    assert.equal(line.msg, 'probe failed on a local error: not a verdict on the target, its health stays', `a local error became a verdict: ${JSON.stringify(line)}`);
    assert.deepEqual([line.level, line.target, line.code, line.component], [40, 'web@127.0.0.1', 'EMFILE', 'probes']);
    const err = line.err as { type: string; code: string; message: string; stack: string };
    assert.equal(err.code, 'EMFILE');
    assert.match(err.message, /EMFILE/);
    assert.ok(err.stack, 'the error is logged as { err }, with its stack');

    const s = (await d.api('GET', '/v1/status')).body;
    const target = s.targets.find((x: any) => x.id === 'www.example.test/A/127.0.0.1');
    assert.equal(target.real.health, 'UP');
    assert.ok(target.history.some((h: any) => h.reason === 'local error EMFILE (not counted)'), JSON.stringify(target.history));
    assert.ok(!d.proc.logs.some((l) => l.msg === 'target health changed' && l.to === 'DOWN'), 'no DOWN verdict');
    assert.ok(!d.proc.logs.some((l) => l.msg === 'transition'), 'no transition');
    assert.deepEqual(await d.answer('www.example.test'), ['127.0.0.1']);
    const m = parsePrometheus((await d.api('GET', '/metrics')).text);
    assert.ok((metric(m, 'failoverd_probe_local_errors_total', { code: 'EMFILE' }) ?? 0) >= 1);
    assert.equal(metric(m, 'failoverd_probes_total', { target: 'web@127.0.0.1', outcome: 'fail' }), 0, 'a local error is not a failed probe of the target');
  } finally {
    await d.stop();
    dir.remove();
  }
});
