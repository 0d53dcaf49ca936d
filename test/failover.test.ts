import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckConfig, Health, RecordSetConfig } from '../src/config/types.ts';
import { step } from '../src/failover/machine.ts';
import { FailoverMachine } from '../src/failover/failover-machine.ts';
import { answersEqual } from '../src/failover/answers.ts';
import { describeAnswer } from '../src/failover/describe.ts';
import { pickWeighted } from '../src/records/weighted-pick.ts';
import type { RecordSetState, StepResult, TargetView } from '../src/failover/types.ts';
import { seededRandom } from './helpers/random-zones.ts';

const check: CheckConfig = {
  type: 'http', port: 80, path: '/', headers: {}, expect: { status: ['200-399'] }, tlsVerify: true,
  interval: 1000, fastInterval: 100, timeout: 500, rise: 2, fall: 2, watch: true,
};

const T0 = 1_700_000_000_000;

function rs(n: number, over: Partial<RecordSetConfig> = {}, weights?: number[]): RecordSetConfig {
  const targets = Array.from({ length: n }, (_, i) => {
    const address = `127.0.0.${i + 1}`;
    return { id: `www.example.test/A/${address}`, address, checkName: 'web', check, weight: weights?.[i] ?? 1, probeKey: `web@${address}` };
  });
  return { name: 'www.example.test', type: 'A', zone: 'example.test', ttl: 30, policy: 'failover', failback: 'auto', whenAllDown: 'primary', maxAnswers: 8, targets, ...over };
}

const id = (i: number) => `www.example.test/A/127.0.0.${i + 1}`;

/** Views from a health string: "UD?" = UP, DOWN, UNKNOWN for targets 0, 1, 2; `since` per target. */
function views(spec: string, since: number[] = []): Map<string, TargetView> {
  const m = new Map<string, TargetView>();
  [...spec].forEach((c, i) => {
    const health: Health = c === 'U' ? 'UP' : c === 'D' ? 'DOWN' : 'UNKNOWN';
    m.set(id(i), { id: id(i), health, since: since[i] ?? T0 - 3_600_000 });
  });
  return m;
}

function ids(r: StepResult): string[] | string {
  const a = r.state.answer;
  return a.kind === 'targets' ? a.targetIds.map((x) => x.slice(x.lastIndexOf('/') + 1)) : a.kind.toUpperCase();
}

/** Runs a timeline through a FailoverMachine: [t offset, health spec, since per target?, command?]. */
function timeline(cfg: RecordSetConfig, steps: [number, string, number[]?, 'failback'?][]): StepResult[] {
  const m = new FailoverMachine(cfg);
  return steps.map(([t, spec, since, cmd]) => m.evaluate(views(spec, since?.map((s) => T0 + s)), T0 + t, cmd ? { kind: 'failback' } : undefined));
}

describe('failover policy: cold start', () => {
  it('all UNKNOWN answers the primary, with no transition', () => {
    const r = step(rs(2), undefined, views('??'), T0);
    assert.deepEqual(ids(r), ['127.0.0.1']);
    assert.equal(r.state.activeId, id(0));
    assert.equal(r.transition, undefined);
    assert.equal(r.changed, true);
    assert.equal(r.state.degraded, false);
    assert.match(r.state.reason, /^initial answer: primary www\.example\.test\/A\/127\.0\.0\.1 is UNKNOWN/);
  });

  it('no views at all counts as UNKNOWN: primary', () => {
    assert.deepEqual(ids(step(rs(3), undefined, new Map(), T0)), ['127.0.0.1']);
  });

  it('primary UNKNOWN while secondary UP: still the primary, and it stays when the primary turns UP', () => {
    const [a, b, c] = timeline(rs(2), [[0, '?U'], [1000, 'UU'], [2000, 'UU']]);
    assert.deepEqual(ids(a), ['127.0.0.1']);
    assert.deepEqual(ids(b), ['127.0.0.1']);
    assert.equal(b.transition, undefined);
    assert.equal(c.changed, false);
  });

  it('an initial answer chosen on UNKNOWN health says why it is kept once the health is known (until the first transition)', () => {
    const [a, b, c, d] = timeline(rs(2), [[0, '??'], [1000, 'UU'], [2000, 'DU'], [3000, 'DU']]);
    assert.match(a.state.reason, /^initial answer: primary www\.example\.test\/A\/127\.0\.0\.1 is UNKNOWN/);
    assert.equal(b.state.reason, 'initial answer: primary www.example.test/A/127.0.0.1 is UP');
    assert.equal(b.state.since, T0, 'the answer is the same one, since the start');
    assert.equal(b.changed, false);
    assert.ok(c.transition);
    assert.equal(d.state.reason, c.state.reason, 'after a transition the reason is kept as it was');
  });

  it('primary DOWN at start: the first UP-or-UNKNOWN target, saying why', () => {
    const r = step(rs(3), undefined, views('D?U'), T0);
    assert.deepEqual(ids(r), ['127.0.0.2']);
    assert.equal(r.state.degraded, true);
    assert.match(r.state.reason, /primary www\.example\.test\/A\/127\.0\.0\.1 is DOWN; secondary www\.example\.test\/A\/127\.0\.0\.2 is UNKNOWN/);
  });
});

describe('failover policy: failover and failback', () => {
  it('primary DOWN → secondary with a readable transition', () => {
    const cfg = rs(2);
    const m = new FailoverMachine(cfg);
    m.evaluate(views('UU'), T0);
    const v = views('DU');
    v.set(id(0), { ...v.get(id(0))!, reason: 'check web: refused' });
    const r = m.evaluate(v, T0 + 5000);
    assert.deepEqual(r.transition, {
      recordSet: 'www.example.test/A',
      from: '127.0.0.1',
      to: '127.0.0.2',
      reason: 'primary www.example.test/A/127.0.0.1 is DOWN (check web: refused); failed over to: secondary www.example.test/A/127.0.0.2 is UP',
      at: T0 + 5000,
    });
    assert.equal(r.state.since, T0 + 5000);
    assert.equal(r.state.activeId, id(1));
  });

  it('auto: returns to the primary as soon as it is UP', () => {
    const r = timeline(rs(2), [[0, 'UU'], [1000, 'DU'], [2000, 'UU', [2000, -3600_000]]]);
    assert.deepEqual(r.map(ids), [['127.0.0.1'], ['127.0.0.2'], ['127.0.0.1']]);
    assert.equal(r[2].transition?.from, '127.0.0.2');
    assert.equal(r[2].transition?.to, '127.0.0.1');
    assert.match(r[2].transition!.reason, /^failback \(auto\): primary .* is UP$/);
    assert.equal(r[2].wakeAt, undefined);
  });

  it('auto: an UNKNOWN better target is not failed back to until it is UP', () => {
    const r = timeline(rs(2), [[0, 'UU'], [1000, 'DU'], [2000, '?U'], [3000, 'UU']]);
    assert.deepEqual(r.map(ids), [['127.0.0.1'], ['127.0.0.2'], ['127.0.0.2'], ['127.0.0.1']]);
  });

  it('after D: waits until the primary stayed UP for D, a flap restarts the wait, wakeAt is since + D', () => {
    const D = 60_000;
    const cfg = rs(2, { failback: { after: D } });
    const r = timeline(cfg, [
      [0, 'UU'],
      [1_000, 'DU', [1_000]], //                   primary DOWN → secondary
      [10_000, 'UU', [10_000]], //                 primary UP at 10s: wait until 70s
      [40_000, 'DU', [40_000]], //                 flap: DOWN at 40s
      [45_000, 'UU', [45_000]], //                 UP again at 45s: wait until 105s
      [70_000, 'UU', [45_000]], //                 70s: the old due time, must not fail back
      [104_999, 'UU', [45_000]],
      [105_000, 'UU', [45_000]], //                due
    ]);
    assert.deepEqual(r.map(ids), [['127.0.0.1'], ['127.0.0.2'], ['127.0.0.2'], ['127.0.0.2'], ['127.0.0.2'], ['127.0.0.2'], ['127.0.0.2'], ['127.0.0.1']]);
    assert.deepEqual(r.map((x) => (x.wakeAt === undefined ? undefined : x.wakeAt - T0)), [undefined, undefined, 70_000, undefined, 105_000, 105_000, 105_000, undefined]);
    assert.deepEqual(r.map((x) => x.transition !== undefined), [false, true, false, false, false, false, false, true]);
    assert.match(r[4].state.pending!, /^primary .* is UP; failback after 60s at \d+$/);
    assert.equal(r[7].state.pending, undefined);
    assert.equal(r[7].transition!.reason, 'failback (after 60s): primary www.example.test/A/127.0.0.1 has been UP for 60s');
    // the answer's since is the last selection change, not the last evaluation
    assert.equal(r[6].state.since, T0 + 1_000);
  });

  it('after D: a better target that is due is taken while an even better one still waits', () => {
    const cfg = rs(3, { failback: { after: 30_000 } });
    const r = timeline(cfg, [
      [0, 'DDU'],
      [100_000, 'UUU', [90_000, 50_000]], // secondary UP for 50s (due), primary for 10s (due at 120s)
      [120_000, 'UUU', [90_000, 50_000]],
    ]);
    assert.deepEqual(r.map(ids), [['127.0.0.3'], ['127.0.0.2'], ['127.0.0.1']]);
    assert.equal(r[1].wakeAt, T0 + 120_000);
  });

  it('after D: the active target going DOWN moves at once to the first UP target, even before D', () => {
    const cfg = rs(2, { failback: { after: 60_000 } });
    const r = timeline(cfg, [[0, 'DU'], [10_000, 'UU', [10_000]], [20_000, 'UD', [10_000, 20_000]]]);
    assert.deepEqual(r.map(ids), [['127.0.0.2'], ['127.0.0.2'], ['127.0.0.1']]);
    assert.match(r[2].transition!.reason, /secondary .* is DOWN; moved to the first UP target in order: primary .* is UP/);
  });

  it('manual: stays on the secondary while it is UP, fails back on the command', () => {
    const cfg = rs(2, { failback: 'manual' });
    const m = new FailoverMachine(cfg);
    m.evaluate(views('UU'), T0);
    assert.deepEqual(ids(m.evaluate(views('DU'), T0 + 1000)), ['127.0.0.2']);
    const stay = m.evaluate(views('UU'), T0 + 2000);
    assert.deepEqual(ids(stay), ['127.0.0.2']);
    assert.equal(stay.transition, undefined);
    assert.equal(stay.wakeAt, undefined);
    assert.match(stay.state.pending!, /failback is manual: staying on secondary .* until a failback command/);
    assert.deepEqual(ids(m.evaluate(views('UU'), T0 + 3_600_000)), ['127.0.0.2']);
    const back = m.evaluate(views('UU'), T0 + 3_700_000, { kind: 'failback' });
    assert.deepEqual(ids(back), ['127.0.0.1']);
    assert.match(back.transition!.reason, /^failback command: primary .* is UP$/);
    assert.equal(back.state.pending, undefined);
  });

  it('manual: the command while the primary is still DOWN changes nothing', () => {
    const r = timeline(rs(2, { failback: 'manual' }), [[0, 'DU'], [1000, 'DU', undefined, 'failback']]);
    assert.deepEqual(ids(r[1]), ['127.0.0.2']);
    assert.equal(r[1].changed, false);
  });

  it('manual: the current target going DOWN moves to the first UP target in order, which may be the primary', () => {
    const r = timeline(rs(3, { failback: 'manual' }), [[0, 'DUU'], [1000, 'UUU'], [2000, 'UDU']]);
    assert.deepEqual(r.map(ids), [['127.0.0.2'], ['127.0.0.2'], ['127.0.0.1']]);
    assert.match(r[2].transition!.reason, /^secondary .* is DOWN; moved to the first UP target in order: primary .* is UP$/);
  });

  it('manual: the current target going DOWN with the primary still DOWN moves down the list', () => {
    const r = timeline(rs(3, { failback: 'manual' }), [[0, 'DUU'], [1000, 'DDU']]);
    assert.deepEqual(ids(r[1]), ['127.0.0.3']);
    assert.match(r[1].transition!.reason, /failed over to: target #3/);
  });

  it('manual: a restart (no previous state) with the primary UP counts as the command', () => {
    const cfg = rs(2, { failback: 'manual' });
    const before = timeline(cfg, [[0, 'DU'], [1000, 'UU']]);
    assert.deepEqual(ids(before[1]), ['127.0.0.2']);
    const restarted = step(cfg, undefined, views('UU'), T0 + 2000);
    assert.deepEqual(ids(restarted), ['127.0.0.1']);
    // resuming the persisted state instead keeps the secondary
    assert.deepEqual(ids(step(cfg, before[1].state, views('UU'), T0 + 2000)), ['127.0.0.2']);
  });

  it('a previous active target that is no longer configured is replaced by the first UP one', () => {
    const prev: RecordSetState = { answer: { kind: 'targets', targetIds: ['gone'], ttl: 30, weighted: false }, activeId: 'gone', since: T0, reason: 'x', degraded: false, allDown: false };
    const r = step(rs(2), prev, views('UU'), T0 + 1);
    assert.deepEqual(ids(r), ['127.0.0.1']);
    assert.equal(r.transition?.from, 'gone');
    assert.match(r.transition!.reason, /^previous target gone is no longer configured/);
  });
});

describe('whenAllDown', () => {
  const cases: [RecordSetConfig['whenAllDown'], string[] | string, string][] = [
    ['primary', ['127.0.0.1'], '127.0.0.1'],
    ['all', ['127.0.0.1', '127.0.0.2', '127.0.0.3'], '127.0.0.1,127.0.0.2,127.0.0.3'],
    ['none', 'NODATA', 'NODATA'],
    ['servfail', 'SERVFAIL', 'SERVFAIL'],
  ];
  for (const policy of ['failover', 'multivalue', 'weighted'] as const) {
    for (const [mode, expected, described] of cases) {
      it(`${policy}, ${mode}: ${described}`, () => {
        const cfg = rs(3, { policy, whenAllDown: mode, degradedTtl: 5 });
        const m = new FailoverMachine(cfg);
        m.evaluate(views('UUU'), T0);
        const r = m.evaluate(views('DDD'), T0 + 1000);
        assert.deepEqual(ids(r), expected);
        assert.equal(r.state.allDown, true);
        assert.equal(r.state.degraded, true);
        assert.equal(r.state.activeId, undefined);
        assert.equal(r.transition?.to ?? describeAnswer(cfg, r.state.answer), described);
        const a = r.state.answer;
        if (a.kind === 'targets') assert.equal(a.weighted, false);
        if (a.kind !== 'servfail') assert.equal(a.ttl, 5);
        assert.match(r.state.reason, new RegExp(`^all 3 targets are DOWN; whenAllDown: ${mode}`));
      });
    }
  }

  it("'all' is capped at maxAnswers", () => {
    const r = step(rs(5, { policy: 'multivalue', whenAllDown: 'all', maxAnswers: 2 }), undefined, views('DDDDD'), T0);
    assert.deepEqual(ids(r), ['127.0.0.1', '127.0.0.2']);
  });

  it('UNKNOWN is not down: one UNKNOWN target keeps the set out of whenAllDown', () => {
    const r = step(rs(3, { whenAllDown: 'servfail' }), undefined, views('DD?'), T0);
    assert.deepEqual(ids(r), ['127.0.0.3']);
    assert.equal(r.state.allDown, false);
  });

  it('recovery from all down (servfail) answers the first target that is UP', () => {
    const r = timeline(rs(3, { whenAllDown: 'servfail', failback: 'manual' }), [[0, 'DDD'], [1000, 'DUD'], [2000, 'UUD']]);
    assert.deepEqual(r.map(ids), ['SERVFAIL', ['127.0.0.2'], ['127.0.0.2']]);
    assert.equal(r[1].transition?.from, 'SERVFAIL');
    assert.match(r[1].transition!.reason, /recovered from all down: .*secondary .* is UP/);
  });

  it("'primary' then the primary comes back: same targets, no transition, reason and TTL updated", () => {
    const r = timeline(rs(2, { whenAllDown: 'primary', degradedTtl: 5 }), [[0, 'DD'], [1000, 'UD']]);
    assert.deepEqual(r.map(ids), [['127.0.0.1'], ['127.0.0.1']]);
    assert.equal(r[1].transition, undefined);
    assert.equal(r[1].changed, true);
    assert.equal(r[1].state.allDown, false);
    assert.equal((r[1].state.answer as { ttl: number }).ttl, 30);
    assert.equal(r[1].state.since, T0);
    assert.match(r[1].state.reason, /recovered from all down: primary/);
  });
});

describe('multivalue', () => {
  it('answers every UP-or-UNKNOWN target in config order', () => {
    const r = timeline(rs(4, { policy: 'multivalue' }), [[0, 'UUUU'], [1000, 'UDU?'], [2000, 'UDUD']]);
    assert.deepEqual(r.map(ids), [['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'], ['127.0.0.1', '127.0.0.3', '127.0.0.4'], ['127.0.0.1', '127.0.0.3']]);
    assert.equal(r[1].transition?.from, '127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4');
    assert.equal(r[1].transition?.to, '127.0.0.1,127.0.0.3,127.0.0.4');
    assert.match(r[1].transition!.reason, /^3 of 4 targets UP or UNKNOWN; www\.example\.test\/A\/127\.0\.0\.2 DOWN$/);
  });

  it('is capped at maxAnswers (8)', () => {
    const cfg = rs(10, { policy: 'multivalue' });
    const r = step(cfg, undefined, views('UUUUUUUUUU'), T0);
    assert.equal((r.state.answer as { targetIds: string[] }).targetIds.length, 8);
    assert.deepEqual(ids(r), ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8']);
    assert.equal(r.state.degraded, false);
    // one of the first 8 DOWN: the 9th moves up; still 8 answers and degraded
    const r2 = step(cfg, r.state, views('UDUUUUUUUU'), T0 + 1);
    assert.deepEqual(ids(r2), ['127.0.0.1', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8', '127.0.0.9']);
    assert.equal(r2.state.degraded, true);
  });
});

describe('degradedTtl', () => {
  it('failover: degradedTtl while not on the primary, ttl once back; TTL follows without a new transition', () => {
    const r = timeline(rs(2, { degradedTtl: 5 }), [[0, 'UU'], [1000, 'DU'], [2000, 'UU']]);
    assert.deepEqual(r.map((x) => (x.state.answer as { ttl: number }).ttl), [30, 5, 30]);
  });

  it('without degradedTtl the TTL stays cfg.ttl', () => {
    const r = timeline(rs(2, { ttl: 60 }), [[0, 'UU'], [1000, 'DU']]);
    assert.deepEqual(r.map((x) => (x.state.answer as { ttl: number }).ttl), [60, 60]);
  });

  it('multivalue: degraded while some target is DOWN; a target beyond maxAnswers does not count', () => {
    const cfg = rs(3, { policy: 'multivalue', degradedTtl: 10, maxAnswers: 2 });
    assert.equal((step(cfg, undefined, views('UUU'), T0).state.answer as { ttl: number }).ttl, 30);
    assert.equal((step(cfg, undefined, views('UUD'), T0).state.answer as { ttl: number }).ttl, 30);
    assert.equal((step(cfg, undefined, views('DUU'), T0).state.answer as { ttl: number }).ttl, 10);
  });

  it('weighted: degraded while a weighted target is DOWN', () => {
    const cfg = rs(3, { policy: 'weighted', degradedTtl: 10 }, [3, 1, 0]);
    assert.equal((step(cfg, undefined, views('UUD'), T0).state.answer as { ttl: number }).ttl, 30);
    assert.equal((step(cfg, undefined, views('UDU'), T0).state.answer as { ttl: number }).ttl, 10);
  });

  it('a TTL-only change is changed without a transition (answersEqual tells)', () => {
    const cfg = rs(2, { policy: 'multivalue', whenAllDown: 'all', degradedTtl: 5 });
    const a = step(cfg, undefined, views('UU'), T0);
    const b = step(cfg, a.state, views('DD'), T0 + 1);
    assert.deepEqual(ids(b), ids(a));
    assert.equal(b.transition, undefined);
    assert.equal(b.changed, true);
    assert.equal(answersEqual(a.state.answer, b.state.answer), false);
    const c = step(cfg, b.state, views('DD'), T0 + 2);
    assert.equal(c.changed, false);
    assert.equal(answersEqual(b.state.answer, c.state.answer), true);
  });
});

describe('weighted', () => {
  it('pool is the UP targets with weight > 0, with their weights', () => {
    const cfg = rs(3, { policy: 'weighted' }, [3, 1, 0]);
    const r = step(cfg, undefined, views('UUU'), T0);
    assert.deepEqual(r.state.answer, { kind: 'targets', targetIds: [id(0), id(1)], ttl: 30, weighted: true, weights: [3, 1] });
    assert.equal(describeAnswer(cfg, r.state.answer), 'weighted 127.0.0.1=3,127.0.0.2=1');
  });

  it('weight 0 is the pool only when no weighted target is UP, and leaves again', () => {
    const cfg = rs(3, { policy: 'weighted' }, [3, 1, 0]);
    const r = timeline(cfg, [[0, 'UUU'], [1000, 'DDU'], [2000, 'DUU']]);
    assert.deepEqual(r.map(ids), [['127.0.0.1', '127.0.0.2'], ['127.0.0.3'], ['127.0.0.2']]);
    assert.deepEqual((r[1].state.answer as { weights: number[] }).weights, [0]);
    assert.match(r[1].transition!.reason, /only weight-0 targets are left/);
  });

  it('all weights 0 in config: every UP target, not degraded', () => {
    const cfg = rs(2, { policy: 'weighted', degradedTtl: 1 }, [0, 0]);
    const r = step(cfg, undefined, views('UU'), T0);
    assert.deepEqual(ids(r), ['127.0.0.1', '127.0.0.2']);
    assert.equal(r.state.degraded, false);
  });
});

describe('pickWeighted', () => {
  it('picks in proportion to weight (100,000 picks, within ±2%)', () => {
    const random = seededRandom(42);
    const poolIds = ['a', 'b', 'c', 'z'];
    const weights = [5, 3, 2, 0];
    const n = 100_000;
    const counts: Record<string, number> = { a: 0, b: 0, c: 0, z: 0 };
    for (let i = 0; i < n; i++) counts[pickWeighted(poolIds, weights, random)!]++;
    assert.equal(counts.z, 0, 'weight 0 is never chosen while another is UP');
    for (const [k, w] of [['a', 0.5], ['b', 0.3], ['c', 0.2]] as const) {
      assert.ok(Math.abs(counts[k] / n - w) < 0.02, `${k}: ${counts[k] / n} vs ${w}`);
    }
  });

  it('through the machine: weight-0 target is never picked while a weighted one is UP, and picked when it is the only one', () => {
    const cfg = rs(3, { policy: 'weighted' }, [1, 1, 0]);
    const random = seededRandom(7);
    const pick = (spec: string) => {
      const a = step(cfg, undefined, views(spec), T0).state.answer;
      assert.equal(a.kind, 'targets');
      return a.kind === 'targets' ? pickWeighted(a.targetIds, a.weights ?? [], random) : undefined;
    };
    const seen = new Set<string | undefined>();
    for (let i = 0; i < 1000; i++) seen.add(pick('UDU'));
    assert.deepEqual([...seen], [id(0)]);
    for (let i = 0; i < 100; i++) assert.equal(pick('DDU'), id(2));
  });

  it('all weights 0: even choice; empty pool: undefined; top-end random is safe', () => {
    const random = seededRandom(1);
    const counts = { a: 0, b: 0 };
    for (let i = 0; i < 10_000; i++) counts[pickWeighted(['a', 'b'], [0, 0], random) as 'a' | 'b']++;
    assert.ok(Math.abs(counts.a / 10_000 - 0.5) < 0.03, String(counts.a));
    assert.equal(pickWeighted([], [], random), undefined);
    assert.equal(pickWeighted(['a', 'b', 'c'], [1, 2, 0], () => 0.9999999999999999), 'b');
    assert.equal(pickWeighted(['a', 'b'], [1, 1], () => 0), 'a');
  });
});
