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
import { Decider, TRANSITION_LINES_PER_BATCH } from '../src/failover/decider.ts';
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

test('a mass failover (one health change, many record sets): the first TRANSITION_LINES_PER_BATCH at warn, the rest at debug, one summary line at warn; the way back the same at info; every transition still goes to the listeners', () => {
  const n = TRANSITION_LINES_PER_BATCH + 15;
  // n record sets whose primaries share one probe key (one backend behind them all).
  const records = Array.from({ length: n }, (_, i) => {
    const rs = recordSet('failover', 2);
    const name = `r${i}.example.test`;
    return { ...rs, name, targets: rs.targets.map((t) => ({ ...t, id: `${name}/A/${t.address}` })) };
  });
  const clock = new FakeClock();
  const log = captureLog('debug');
  let primary: Health = 'UP';
  const decider = new Decider({ records } as unknown as Config, {
    clock,
    logger: log.logger,
    health: { view: (t): TargetHealthView => (t.address === '127.0.0.1' ? { health: primary, realHealth: primary, since: clock.now(), overridden: false } : { health: 'UP', realHealth: 'UP', since: 0, overridden: false }) },
  });
  const told: string[] = [];
  decider.transitionListeners.push((t) => told.push(t.recordSet));
  decider.activate();
  const step = (h: Health) => {
    const mark = log.lines.length;
    clock.advance(1000);
    primary = h;
    decider.probeKeyChanged('web@127.0.0.1');
    return log.lines.slice(mark);
  };
  const over = step('DOWN');
  const each = over.filter((l) => l.msg === 'transition');
  assert.equal(each.length, n, 'every transition has its line');
  assert.deepEqual(each.map((l) => l.level), [...Array(TRANSITION_LINES_PER_BATCH).fill(WARN), ...Array(n - TRANSITION_LINES_PER_BATCH).fill(20)]);
  const summary = over.filter((l) => l.msg !== 'transition');
  assert.equal(summary.length, 1);
  assert.equal(summary[0]!.level, WARN);
  assert.match(String(summary[0]!.msg), new RegExp(`^transitions: ${n} record sets changed their answer at once; the first ${TRANSITION_LINES_PER_BATCH} logged one per line, the other 15 \\(15 of them failovers\\) at debug$`));
  assert.equal(summary[0]!.firstQuiet, `r${TRANSITION_LINES_PER_BATCH}.example.test/A`);
  assert.equal(summary[0]!.lastQuiet, `r${n - 1}.example.test/A`);
  assert.equal(told.length, n, 'the listeners (metrics, webhooks, the cluster) get each one');
  const back = step('UP');
  assert.equal(back.filter((l) => l.msg === 'transition' && l.level === INFO).length, TRANSITION_LINES_PER_BATCH);
  assert.equal(back.filter((l) => l.msg !== 'transition')[0]!.level, INFO, 'the way back: a summary at info');
  // One record set alone: its line at warn, no summary.
  const single = harness(recordSet('failover', 2));
  assert.equal(single.set('127.0.0.1', 'DOWN').level, WARN);
});
