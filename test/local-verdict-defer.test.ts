/**
 * In a cluster, an instance's own verdict is not served while the cluster's
 * decisions are: a health change reaches its Decider a few seconds later
 * (Controller.deferVerdict), so a mass failover's 10,000 local failover
 * machines do not run while the cluster's decision is made and written.
 * Driven with a fake Clock: the health change hook is called as a probe
 * result would call it, and the Decider's entry points are counted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Controller } from '../src/controller.ts';
import { ConfigFolder } from './helpers/config-folder.ts';
import { FakeClock } from './helpers/fake-clock.ts';
import { captureLog } from './helpers/log-capture.ts';

const folder = new ConfigFolder('local-verdict-defer', `zones: zones
checks:
  a: { type: tcp, port: 80 }
  b: { type: tcp, port: 81 }
records:
  - { name: www.example.test, type: A, targets: [{ address: 127.0.0.1, check: a }, { address: 127.0.0.2, check: b }] }
`);

async function harness() {
  const { config } = await folder.load('');
  const clock = new FakeClock();
  const controller = new Controller(config, { clock, logger: captureLog('info').logger });
  const decided: string[][] = [];
  controller.decider.probeKeyChanged = (key) => void decided.push([key]);
  controller.decider.probeKeysChanged = (keys) => void decided.push([...keys]);
  const change = (key: string) => controller.health.after.healthChange!(key);
  return { controller, clock, decided, change };
}

test('local verdict: decided at once unless deferred; deferred, changes wait DELAY after the last one, at most 3 × DELAY after the first, and go as one batch', async () => {
  const { controller, clock, decided, change } = await harness();
  change('a@127.0.0.1');
  assert.deepEqual(decided, [['a@127.0.0.1']], 'no deferral: at once');

  let serving = true;
  controller.deferVerdict(() => serving, 5000);
  decided.length = 0;
  change('a@127.0.0.1');
  clock.advance(4000);
  change('b@127.0.0.2');
  clock.advance(4999);
  assert.deepEqual(decided, [], 'waits 5 s after the last change');
  clock.advance(1);
  assert.deepEqual(decided, [['a@127.0.0.1', 'b@127.0.0.2']], 'both in one batch');

  // Changes every 4 s (each less than 5 s after the one before): decided 15 s after the first all the same.
  decided.length = 0;
  const start = clock.now();
  change('a@127.0.0.1');
  for (let i = 0; i < 3; i++) {
    clock.advance(4000);
    change('b@127.0.0.2');
  }
  clock.advance(2999);
  assert.deepEqual(decided, [], `${clock.now() - start} ms after the first change`);
  clock.advance(1);
  assert.deepEqual(decided, [['a@127.0.0.1', 'b@127.0.0.2']], '15 s after the first change');

  // The own verdict is about to be served: what waits is decided now; later changes go at once.
  decided.length = 0;
  change('b@127.0.0.2');
  serving = false;
  controller.decidePending();
  assert.deepEqual(decided, [['b@127.0.0.2']]);
  change('a@127.0.0.1');
  assert.deepEqual(decided, [['b@127.0.0.2'], ['a@127.0.0.1']]);
  clock.advance(20_000);
  assert.equal(decided.length, 2, 'no timer left behind');

  // A change that goes at once first decides what still waits (none is lost, the order kept).
  serving = true;
  change('a@127.0.0.1');
  serving = false;
  change('b@127.0.0.2');
  assert.deepEqual(decided.slice(2), [['a@127.0.0.1'], ['b@127.0.0.2']]);
  await controller.stop();
});
