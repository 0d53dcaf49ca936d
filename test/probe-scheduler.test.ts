import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import http from 'node:http';
import net from 'node:net';
import { FakeClock } from './helpers/fake-clock.ts';
import { checkSchema } from '../src/config/schema.ts';
import { ProbeScheduler, MAX_IN_FLIGHT, MAX_SUSPECT_SHARE, MIN_SUSPECTS } from '../src/probes/scheduler.ts';
import { LivenessWatch } from '../src/probes/watch.ts';
import type { ProbeFn, ProbeResult, ProbeSpec } from '../src/probes/types.ts';
import { systemClock } from '../src/clock.ts';

const LOOPBACK = '127.0.0.1';

function spec(check: Record<string, unknown> = {}, address = LOOPBACK): ProbeSpec {
  return {
    address,
    check: checkSchema.parse({ type: 'http', port: 80, interval: '1s', fastInterval: '100ms', timeout: '500ms', watch: false, ...check }),
  };
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Advance fake time in small steps, letting probe promises settle between steps. */
async function run(clock: FakeClock, ms: number, step = 10): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    clock.advance(Math.min(step, ms - done));
    await flush();
  }
}

interface Call {
  n: number;
  address: string;
  at: number;
  signal: AbortSignal;
  settled: boolean;
  settle(ok: boolean, reason: string): void;
}

/** A scripted ProbeFn: `behaviour` decides when and how each call settles (it honours abort). */
class ScriptedProbe {
  readonly calls: Call[] = [];
  maxInFlight = 0;
  constructor(
    private readonly clock: FakeClock,
    private readonly behaviour: (call: Call) => void = (call) => call.settle(true, 'status 200'),
  ) {}
  inFlight(): number {
    return this.calls.filter((c) => !c.settled).length;
  }
  readonly fn: ProbeFn = (spec, signal) =>
    new Promise<ProbeResult>((resolve) => {
      const started = this.clock.now();
      const call: Call = {
        n: this.calls.length + 1,
        address: spec.address,
        at: started,
        signal: signal!,
        settled: false,
        settle: (ok, reason) => {
          if (call.settled) return;
          call.settled = true;
          resolve({ ok, reason, latencyMs: this.clock.now() - started, at: this.clock.now() });
        },
      };
      this.calls.push(call);
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight());
      signal?.addEventListener('abort', () => call.settle(false, 'aborted'), { once: true });
      this.behaviour(call);
    });
  starts(): number[] {
    return this.calls.map((c) => c.at);
  }
}

function setup(opts: {
  behaviour?: (call: Call, clock: FakeClock) => void;
  unsettled?: (n: number, r: ProbeResult) => boolean;
  random?: () => number;
}) {
  const clock = new FakeClock(0);
  const probe = new ScriptedProbe(clock, opts.behaviour ? (c) => opts.behaviour!(c, clock) : undefined);
  const results: { key: string; result: ProbeResult; t: number }[] = [];
  const stale: ProbeResult[] = [];
  const sched = new ProbeScheduler({
    clock,
    probeFor: () => probe.fn,
    random: opts.random ?? (() => 0.5),
    onResult: (key, result) => {
      results.push({ key, result, t: clock.now() });
      return { unsettled: opts.unsettled?.(results.length, result) ?? false };
    },
    onStale: (_key, r) => stale.push(r),
  });
  return { clock, probe, results, stale, sched };
}

test('scheduler: first probe at once on start, then interval ± 10%', async () => {
  for (const [random, gap] of [[() => 0, 900], [() => 0.5, 1000], [() => 0.99999, 1100]] as const) {
    const { clock, probe, sched } = setup({ random });
    sched.add('a', spec());
    assert.equal(probe.calls.length, 0, 'nothing before start');
    sched.start();
    assert.equal(probe.calls.length, 1, 'first probe immediately');
    await run(clock, gap - 10);
    assert.equal(probe.calls.length, 1);
    await run(clock, 10);
    assert.equal(probe.calls.length, 2);
    assert.equal(probe.calls[1]!.at, gap);
    await sched.stop();
  }
});

test('scheduler: steady gaps stay within interval ± 10% and are not in lockstep', async () => {
  const { clock, probe, sched } = setup({ random: Math.random });
  sched.add('a', spec({}, '127.0.0.31'));
  sched.add('b', spec({}, '127.0.0.32'));
  sched.start();
  assert.equal(probe.calls.length, 2, 'both targets probe at once');
  await run(clock, 40_000, 10);
  await sched.stop();
  const gaps = new Set<number>();
  for (const address of ['127.0.0.31', '127.0.0.32']) {
    const starts = probe.calls.filter((c) => c.address === address).map((c) => c.at);
    assert.ok(starts.length >= 35, `${starts.length} probes of ${address}`);
    for (let i = 1; i < starts.length; i++) {
      const gap = starts[i]! - starts[i - 1]!;
      assert.ok(gap >= 900 && gap <= 1100, `gap ${gap}`);
      gaps.add(gap);
    }
  }
  assert.ok(gaps.size > 5, 'jitter varies the gaps');
  assert.ok(probe.maxInFlight <= 2);
});

test('scheduler: fastInterval while unsettled, interval once settled', async () => {
  const { clock, probe, results, sched } = setup({ unsettled: (n) => n <= 3 });
  sched.add('a', spec());
  sched.start();
  await run(clock, 2000);
  await sched.stop();
  assert.deepEqual(probe.starts().slice(0, 5), [0, 100, 200, 300, 1300]);
  assert.equal(results.length, 5);
});

test('scheduler: hung target — next probe at fastInterval while the first is in flight, never more than 2', async () => {
  const behaviour = (call: Call, clock: FakeClock): void => {
    clock.setTimer(500, () => call.settle(false, 'timeout after 500ms'));
  };
  const { clock, probe, results, sched } = setup({ behaviour, unsettled: () => true });
  sched.add('a', spec());
  sched.start();
  await run(clock, 90);
  assert.equal(probe.calls.length, 1);
  await run(clock, 10);
  assert.equal(probe.calls.length, 2, 'second probe starts at fastInterval');
  assert.equal(probe.calls[1]!.at, 100);
  assert.equal(probe.inFlight(), 2);
  await run(clock, 300);
  assert.equal(probe.calls.length, 2, 'no third probe while two are in flight');
  await run(clock, 2000);
  await sched.stop();
  assert.ok(probe.maxInFlight <= MAX_IN_FLIGHT, `max in flight ${probe.maxInFlight}`);
  assert.deepEqual(probe.starts().slice(0, 4), [0, 100, 500, 600]);
  // Timed-out probes are failures delivered like any other, in completion order.
  assert.deepEqual(results.slice(0, 2).map((r) => [r.t, r.result.ok, r.result.reason]), [
    [500, false, 'timeout after 500ms'],
    [600, false, 'timeout after 500ms'],
  ]);
  assert.ok(results.every((r) => r.result.reason !== 'aborted'));
});

test('scheduler: overload guard — when most targets look hung at once, follow-ups stop (no doubling of the load)', async () => {
  const behaviour = (call: Call, clock: FakeClock): void => {
    clock.setTimer(500, () => call.settle(false, 'timeout after 500ms'));
  };
  const { clock, probe, sched } = setup({ behaviour, unsettled: () => true });
  for (let i = 0; i < 20; i++) sched.add(`t${i}`, spec({}, `127.0.0.${i + 1}`));
  sched.start();
  assert.equal(probe.calls.length, 20);
  await run(clock, 150);
  // 20 suspect probes; follow-ups only while at most max(MIN_SUSPECTS, 25% of 20) = 5 are suspect.
  assert.equal(probe.calls.length, 20 + Math.max(MIN_SUSPECTS, 20 * MAX_SUSPECT_SHARE));
  await sched.stop();
});

test('scheduler: a stale result (older probe finishing after a newer one) is dropped', async () => {
  const { clock, probe, results, stale, sched } = setup({ behaviour: () => {} });
  sched.add('a', spec());
  sched.start();
  await run(clock, 100);
  assert.equal(probe.calls.length, 2);
  probe.calls[1]!.settle(true, 'status 200'); // newer first: target recovered
  await flush();
  probe.calls[0]!.settle(false, 'timeout after 500ms'); // older, slower
  await flush();
  assert.deepEqual(results.map((r) => r.result.reason), ['status 200']);
  assert.deepEqual(stale.map((r) => r.reason), ['timeout after 500ms']);
  // next steady probe: interval after the newest start (100 + 1000)
  await run(clock, 990);
  assert.equal(probe.calls.length, 2);
  await run(clock, 20);
  assert.equal(probe.calls.length, 3);
  assert.equal(probe.calls[2]!.at, 1100);
  await sched.stop();
});

test('scheduler: an older result finishing first is delivered, then the newer one', async () => {
  const { clock, probe, results, stale, sched } = setup({ behaviour: () => {} });
  sched.add('a', spec());
  sched.start();
  await run(clock, 100);
  probe.calls[0]!.settle(false, 'reset');
  await flush();
  probe.calls[1]!.settle(true, 'status 200');
  await flush();
  assert.deepEqual(results.map((r) => r.result.reason), ['reset', 'status 200']);
  assert.equal(stale.length, 0);
  await sched.stop();
});

test('scheduler: probeNow probes at once and replaces the pending tick', async () => {
  const { clock, probe, sched } = setup({});
  sched.add('a', spec());
  assert.equal(sched.probeNow('a'), false, 'not before start');
  sched.start();
  await flush();
  await run(clock, 300);
  assert.equal(sched.probeNow('a'), true);
  assert.equal(probe.calls.length, 2);
  assert.equal(probe.calls[1]!.at, 300);
  await flush();
  await run(clock, 990); // t = 1290: the old tick at 1000 was cancelled
  assert.equal(probe.calls.length, 2);
  await run(clock, 20); // the new tick: 300 + 1000
  assert.equal(probe.calls.length, 3);
  assert.equal(probe.calls[2]!.at, 1300);
  assert.equal(sched.probeNow('nope'), false);
  await sched.stop();
});

test('scheduler: probeNow is refused while a probe is in flight', async () => {
  const { probe, sched } = setup({ behaviour: () => {} });
  sched.add('a', spec());
  sched.start();
  assert.equal(sched.inFlight('a'), 1);
  assert.equal(sched.probeNow('a'), false);
  assert.equal(probe.calls.length, 1);
  await sched.stop();
});

test('scheduler: stop() aborts in-flight probes, resolves, and nothing runs or is delivered after', async () => {
  const { clock, probe, results, sched } = setup({ behaviour: () => {} });
  sched.add('a', spec());
  sched.add('b', spec());
  sched.start();
  await run(clock, 100);
  assert.equal(probe.inFlight(), 4);
  await sched.stop();
  assert.ok(probe.calls.every((c) => c.signal.aborted && c.settled));
  assert.equal(results.length, 0);
  await run(clock, 5000);
  assert.equal(probe.calls.length, 4);
});

test('scheduler: remove() aborts the target and delivers nothing for it; add() replaces', async () => {
  const { clock, probe, results, sched } = setup({ behaviour: () => {} });
  sched.add('a', spec());
  sched.start();
  sched.remove('a');
  assert.equal(probe.calls[0]!.signal.aborted, true);
  await run(clock, 3000);
  assert.equal(probe.calls.length, 1);
  assert.equal(results.length, 0);
  sched.add('a', spec());
  assert.equal(probe.calls.length, 2, 'added while running: probes at once');
  sched.add('a', spec({ port: 81 }));
  assert.equal(probe.calls[1]!.signal.aborted, true, 'replacing aborts the old probe');
  assert.equal(probe.calls.length, 3);
  await sched.stop();
});

test('scheduler: a ProbeFn that never settles is failed by the watchdog', async () => {
  const clock = new FakeClock(0);
  const results: ProbeResult[] = [];
  const sched = new ProbeScheduler({
    clock,
    probeFor: () => () => new Promise<ProbeResult>(() => {}),
    onResult: (_k, r) => (results.push(r), { unsettled: false }),
    stopTimeoutMs: 50,
  });
  sched.add('a', spec());
  sched.start();
  await run(clock, 1500);
  assert.ok(results.length >= 1);
  assert.equal(results[0]!.ok, false);
  assert.match(results[0]!.reason, /^timeout after 500ms/);
  const stopping = sched.stop();
  clock.advance(100);
  await stopping; // bounded even though the probes never settle
});

test('scheduler: onResult throwing is reported and scheduling goes on', async () => {
  const clock = new FakeClock(0);
  const errors: unknown[] = [];
  let calls = 0;
  const sched = new ProbeScheduler({
    clock,
    probeFor: () => async () => ({ ok: true, reason: 'status 200', latencyMs: 0, at: clock.now() }),
    onResult: () => {
      calls++;
      throw new Error('boom');
    },
    onError: (_k, err) => errors.push(err),
  });
  sched.add('a', spec());
  sched.start();
  await run(clock, 2500);
  await sched.stop();
  assert.ok(calls >= 3);
  assert.equal(errors.length, calls);
});

// ---- LivenessWatch and the scheduler with real sockets ----

interface Backend {
  port: number;
  connections: number;
  sockets: Set<net.Socket>;
  /** Close the listener and destroy every socket (the process "dies"). */
  kill(): Promise<void>;
}

async function startBackend(t: TestContext, server: net.Server): Promise<Backend> {
  const b: Backend = {
    port: 0,
    connections: 0,
    sockets: new Set(),
    kill: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of b.sockets) s.destroy();
      await closed;
    },
  };
  server.on('connection', (s: net.Socket) => {
    b.connections++;
    b.sockets.add(s);
    s.on('close', () => b.sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, () => resolve()));
  b.port = (server.address() as net.AddressInfo).port;
  t.after(async () => {
    if (server.listening) await b.kill();
  });
  return b;
}

async function waitFor(what: string, pred: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Every client socket this process opens from now on (node:diagnostics_channel
 * 'net.client.socket', published as net.connect creates it): a connection
 * attempt of the watch shows here synchronously, so "no reconnect" is checked
 * right after the call or the FakeClock advance that could have made one.
 */
function clientSockets(t: TestContext): net.Socket[] {
  const sockets: net.Socket[] = [];
  const onSocket = (msg: unknown): void => void sockets.push((msg as { socket: net.Socket }).socket);
  diagnostics.subscribe('net.client.socket', onSocket);
  t.after(() => diagnostics.unsubscribe('net.client.socket', onSocket));
  return sockets;
}

/** Resolves once `s` has closed: every event of that connection has been handled (its 'close' is the last). */
async function closedSocket(s: net.Socket | undefined, ms = 2000): Promise<void> {
  assert.ok(s, 'the socket exists');
  if (s.closed) return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket not closed within ${ms} ms`)), ms);
    s.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

test('watch: killing the target fires onClosed at once', async (t) => {
  const backend = await startBackend(t, net.createServer());
  const attempts = clientSockets(t);
  const closed: { key: string; at: number }[] = [];
  const watch = new LivenessWatch({ clock: systemClock, onClosed: (key) => closed.push({ key, at: Date.now() }) });
  t.after(() => watch.stop());
  watch.watch('a', LOOPBACK, backend.port);
  await waitFor('connected', () => watch.isConnected('a'));
  const killedAt = Date.now();
  await backend.kill();
  await closedSocket(attempts[0], 1000);
  assert.equal(closed.length, 1, 'fires once per lost connection');
  assert.equal(closed[0]!.key, 'a');
  assert.ok(closed[0]!.at - killedAt < 300, `onClosed after ${closed[0]!.at - killedAt}ms`);
  assert.equal(watch.isConnected('a'), false);
  assert.equal(attempts.length, 1, 'no reconnect by itself');
});

test('watch: no reconnect until noteSuccess, then at most one per reconnect gap', async (t) => {
  const backend = await startBackend(t, net.createServer());
  const attempts = clientSockets(t);
  const clock = new FakeClock(0); // the gap is measured on this clock; sockets are real
  let closed = 0;
  const watch = new LivenessWatch({ clock, onClosed: () => closed++, reconnectGapMs: 300, connectTimeoutMs: 500 });
  t.after(() => watch.stop());
  watch.watch('a', LOOPBACK, backend.port); // attempt at t=0
  await waitFor('connected', () => watch.isConnected('a') && backend.sockets.size === 1);
  clock.advance(350);
  // The server drops the idle connection (like an http keep-alive timeout).
  for (const s of backend.sockets) s.destroy();
  await closedSocket(attempts[0]);
  assert.equal(closed, 1);
  clock.advance(10_000); // t=10350: far past the gap
  assert.equal(attempts.length, 1, 'no reconnect without noteSuccess');
  watch.noteSuccess('a'); // past the gap: reconnects at once (t=10350)
  watch.noteSuccess('a'); // at most one attempt in flight
  assert.equal(attempts.length, 2, 'one reconnect at once');
  await waitFor('reconnected', () => watch.isConnected('a') && backend.sockets.size === 1);
  assert.equal(backend.connections, 2);
  // Dropped again at once: a success right after must wait for the gap.
  for (const s of backend.sockets) s.destroy();
  await closedSocket(attempts[1]);
  assert.equal(closed, 2);
  watch.noteSuccess('a');
  watch.noteSuccess('a');
  clock.advance(299);
  assert.equal(attempts.length, 2, 'rate-limited: not before the gap');
  clock.advance(1); // t=10650 = 10350 + 300
  assert.equal(attempts.length, 3, 'one reconnect when the gap is over, not two');
  await waitFor('reconnected after the gap', () => backend.connections === 3 && watch.isConnected('a'));
  clock.advance(10_000);
  assert.equal(attempts.length, 3, 'no more attempts while connected');
  watch.unwatch('a');
  await closedSocket(attempts[2]);
  assert.equal(closed, 2, 'unwatch does not report a close');
});

test('watch: a refused connect reports once and does not retry by itself', async (t) => {
  const backend = await startBackend(t, net.createServer());
  const port = backend.port;
  await backend.kill();
  const attempts = clientSockets(t);
  const clock = new FakeClock(0);
  let closed = 0;
  const watch = new LivenessWatch({ clock, onClosed: () => closed++, reconnectGapMs: 50 });
  t.after(() => watch.stop());
  watch.watch('a', LOOPBACK, port);
  await closedSocket(attempts[0]);
  assert.equal(closed, 1, 'refused: reported once');
  clock.advance(10_000); // many gaps
  assert.equal(attempts.length, 1, 'no retry by itself');
  assert.equal(closed, 1);
});

test('watch: a backend that streams on connect is read only up to the limit, then closed and reported', async (t) => {
  const chunk = Buffer.alloc(256 * 1024, 0x61);
  let flushed = 0;
  const served: net.Socket[] = [];
  const backend = await startBackend(
    t,
    net.createServer((s) => {
      served.push(s);
      const pump = (): void => {
        while (!s.destroyed && s.write(chunk, (err) => (err ? undefined : (flushed += chunk.length)))) {
          // fill until the kernel pushes back
        }
      };
      s.on('drain', pump);
      s.on('error', () => s.destroy());
      pump();
    }),
  );
  const attempts = clientSockets(t);
  const clock = new FakeClock(0);
  const closed: string[] = [];
  const watch = new LivenessWatch({ clock, onClosed: (key) => closed.push(key), reconnectGapMs: 60_000 });
  t.after(() => watch.stop());
  watch.watch('a', LOOPBACK, backend.port);
  await closedSocket(attempts[0], 5000); // the watch closes the streaming connection
  assert.deepEqual(closed, ['a'], 'reported once, so the owner probes it');
  assert.equal(watch.isConnected('a'), false);
  // Gone after a few KiB: what the server flushed is the kernel's socket
  // buffers, not what a read loop would swallow (gigabytes).
  await waitFor('the server accepted', () => served.length === 1);
  await closedSocket(served[0], 5000);
  assert.ok(flushed < 32 * 1024 * 1024, `server flushed ${flushed} bytes before the watch let go`);
  assert.equal(attempts.length, 1, 'no reconnect by itself');
  watch.noteSuccess('a');
  clock.advance(59_000); // the gap (60 s) is not over: no reconnect yet
  assert.equal(attempts.length, 1);
  assert.equal(backend.connections, 1);
});

test('scheduler + watch + real http backend: killing it yields a failure long before the next interval', async (t) => {
  const backend = await startBackend(t, http.createServer((_req, res) => res.end('ok')));
  const results: { result: ProbeResult; at: number }[] = [];
  const sched = new ProbeScheduler({ clock: systemClock,
    watch: true,
    onResult: (_key, result) => {
      results.push({ result, at: Date.now() });
      return { unsettled: !result.ok };
    },
  });
  t.after(() => sched.stop());
  sched.add('web', spec({ port: backend.port, interval: '5s', timeout: '1s', fastInterval: '100ms', watch: true }));
  sched.start();
  await waitFor('first ok', () => results.some((r) => r.result.ok));
  await waitFor('watch connected', () => sched.liveness!.isConnected('web'));
  assert.ok(results.every((r) => r.result.ok), 'healthy before the kill');
  const killedAt = Date.now();
  await backend.kill();
  await waitFor('failure result', () => results.some((r) => !r.result.ok), 1000);
  const failure = results.find((r) => !r.result.ok)!;
  // refused, or reset if the immediate probe raced the dying listener
  assert.ok(['refused', 'reset'].includes(failure.result.reason), failure.result.reason);
  assert.ok(failure.at - killedAt < 1000, `failure after ${failure.at - killedAt}ms`);
  await sched.stop();
});

test('scheduler with watch: targets with check.watch false are not watched', async (t) => {
  const backend = await startBackend(t, http.createServer((_req, res) => res.end('ok')));
  let n = 0;
  const sched = new ProbeScheduler({ clock: systemClock, watch: true, onResult: () => (n++, { unsettled: false }) });
  t.after(() => sched.stop());
  sched.add('web', spec({ port: backend.port, interval: '5s', timeout: '1s', watch: false }));
  sched.start();
  await waitFor('first result', () => n >= 1);
  assert.equal(sched.liveness!.isWatching('web'), false);
  await sched.stop();
});
