/**
 * Transition log levels: an operator who keeps warn and above sees every
 * failover. A transition whose answer leaves the all-healthy one (failover,
 * a multivalue answer losing a target, all down) is a warn line; the return
 * to the all-healthy answer is info. Driven through the Decider with a fake
 * clock, read back from a captured pino log.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from './helpers/fake-clock.ts';
import type { CheckConfig, Config, Health, RecordSetConfig } from '../src/config/types.ts';
import { Decider } from '../src/failover/decider.ts';
import type { TargetHealthView } from '../src/health/target-health.ts';
import { captureLog, type LogLine } from './helpers/log-capture.ts';

const check: CheckConfig = {
  type: 'http', port: 80, path: '/', headers: {}, expect: { status: ['200-399'] }, tlsVerify: true,
  interval: 1000, fastInterval: 100, timeout: 500, rise: 2, fall: 2, watch: true,
};

function recordSet(policy: RecordSetConfig['policy'], n: number): RecordSetConfig {
  const targets = Array.from({ length: n }, (_, i) => {
    const address = `127.0.0.${i + 1}`;
    return { id: `www.example.test/A/${address}`, address, checkName: 'web', check, weight: 1, probeKey: `web@${address}` };
  });
  return { name: 'www.example.test', type: 'A', zone: 'example.test', ttl: 30, policy, failback: 'auto', whenAllDown: policy === 'failover' ? 'primary' : 'all', maxAnswers: 8, targets };
}

/** A Decider over one record set whose targets' health the test sets; `set(...)` changes it and lets the decider see it. */
function harness(rs: RecordSetConfig) {
  const clock = new FakeClock();
  const log = captureLog('info');
  const health = new Map<string, Health>(rs.targets.map((t) => [t.id, 'UP']));
  const decider = new Decider({ records: [rs] } as unknown as Config, {
    clock,
    logger: log.logger,
    health: { view: (t): TargetHealthView => ({ health: health.get(t.id)!, realHealth: health.get(t.id)!, since: clock.now(), overridden: false }) },
  });
  decider.activate();
  const transitions = (): LogLine[] => log.lines.filter((l) => l.msg === 'transition');
  const set = (address: string, h: Health): LogLine => {
    const before = transitions().length;
    clock.advance(1000);
    health.set(`www.example.test/A/${address}`, h);
    decider.probeKeyChanged(`web@${address}`);
    const after = transitions();
    assert.equal(after.length, before + 1, `one transition after ${address} went ${h}`);
    return after.at(-1)!;
  };
  return { set };
}

const WARN = 40;
const INFO = 30;

test('failover policy: the failover is a warn line, the failback info', () => {
  const { set } = harness(recordSet('failover', 3));
  const failover = set('127.0.0.1', 'DOWN');
  assert.equal(failover.level, WARN);
  assert.equal(failover.to, '127.0.0.2');
  const further = set('127.0.0.2', 'DOWN');
  assert.equal(further.level, WARN, 'moving on to the tertiary is a failover too');
  const partWay = set('127.0.0.2', 'UP');
  assert.equal(partWay.level, WARN, 'back to the secondary only: still not the all-healthy answer');
  const back = set('127.0.0.1', 'UP');
  assert.equal(back.level, INFO);
  assert.equal(back.to, '127.0.0.1');
});

test('multivalue policy: losing a target is a warn line, every target answered again is info; all down is warn', () => {
  const { set } = harness(recordSet('multivalue', 2));
  assert.equal(set('127.0.0.2', 'DOWN').level, WARN);
  assert.equal(set('127.0.0.1', 'DOWN').level, WARN, 'all down');
  assert.equal(set('127.0.0.1', 'UP').level, WARN, 'one of two back');
  assert.equal(set('127.0.0.2', 'UP').level, INFO);
});

test('a record set that starts with every target DOWN says so at warn (no transition to log)', () => {
  const rs = recordSet('failover', 2);
  const clock = new FakeClock();
  const log = captureLog('info');
  const decider = new Decider({ records: [rs] } as unknown as Config, {
    clock,
    logger: log.logger,
    health: { view: (): TargetHealthView => ({ health: 'DOWN', realHealth: 'DOWN', since: clock.now(), overridden: false }) },
  });
  decider.activate();
  const lines = log.lines.filter((l) => l.msg === 'every target is DOWN: whenAllDown decides the answer');
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.level, WARN);
  assert.equal(lines[0]!.recordSet, 'www.example.test/A');
  assert.equal(lines[0]!.whenAllDown, 'primary');
});
