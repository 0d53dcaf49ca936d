/**
 * The families written by src/admin/exposition.ts read as prom-client's
 * own text for the same data (escaping, number format, histogram lines), so
 * a dashboard or a rule sees no change from the move; and a scrape at
 * thousands of record sets is written in many slices, not one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Gauge, Histogram, Registry } from 'prom-client';
import { header, KeyedHistogram, labels, value } from '../src/admin/exposition.ts';
import { Metrics } from '../src/admin/metrics.ts';
import type { RecordSetDecision } from '../src/failover/decision.ts';

const HOSTILE = 'a"b\\c\nd';

test('labels, values and headers as prom-client writes them', async () => {
  const r = new Registry();
  const g = new Gauge({ name: 'x_gauge', help: `help with \\ and\nnewline`, labelNames: ['target', 'state'], registers: [r] });
  g.set({ target: HOSTILE, state: 'UP' }, 0.25);
  g.set({ target: 'plain', state: 'DOWN' }, NaN);
  g.set({ target: 'inf', state: 'UP' }, -Infinity);
  const ours = [header({ name: 'x_gauge', help: `help with \\ and\nnewline`, type: 'gauge' }), `x_gauge${labels({ target: HOSTILE, state: 'UP' })} ${value(0.25)}`, `x_gauge${labels({ target: 'plain', state: 'DOWN' })} ${value(NaN)}`, `x_gauge${labels({ target: 'inf', state: 'UP' })} ${value(-Infinity)}`].join('\n');
  assert.equal(ours, await r.getSingleMetricAsString('x_gauge'));
});

test('a keyed histogram writes the lines of prom-client\'s histogram', async () => {
  const bounds = [0.001, 0.01, 0.1, 1];
  const r = new Registry();
  const h = new Histogram({ name: 'x_seconds', help: 'h', labelNames: ['target'], buckets: bounds, registers: [r] });
  const k = new KeyedHistogram(bounds);
  for (const [key, v] of [[HOSTILE, 0.0005], [HOSTILE, 0.05], ['b', 2], ['b', 0.01], [HOSTILE, 1]] as const) {
    h.observe({ target: key }, v);
    k.observe(key, v);
  }
  const ours = [header({ name: 'x_seconds', help: 'h', type: 'histogram' }), ...k.lines('x_seconds', 'target', HOSTILE), ...k.lines('x_seconds', 'target', 'b')].join('\n');
  assert.equal(ours, await r.getSingleMetricAsString('x_seconds'));
  // A key never observed: every line at 0 (a known target before its first probe).
  h.zero({ target: 'new' });
  const zero = [...k.lines('x_seconds', 'target', 'new')].join('\n');
  assert.ok((await r.getSingleMetricAsString('x_seconds')).endsWith(zero), zero);
});

test('a scrape of 2,000 record sets: every line a sample or a comment, written in many slices, a counter of a name at 0', async () => {
  const decisions: RecordSetDecision[] = twoThousand();
  const m = new Metrics({ decisions: () => decisions, ready: () => true, snapshot: () => undefined, maintenance: () => [], notifyQueue: () => 0, now: () => 0, probeKeys: () => ['web@127.0.0.1'] }, { sliceMs: 0 });
  const chunks: string[] = [];
  for await (const c of m.chunks()) chunks.push(c);
  const text = chunks.join('');
  const bad = text.split('\n').filter((l) => l !== '' && !l.startsWith('# ') && !/^[a-z_0-9]+(\{.*\})? \S+$/.test(l));
  assert.deepEqual(bad.slice(0, 3), [], 'lines that are not samples');
  assert.ok(text.endsWith('\n') && !text.endsWith('\n\n\n'));
  assert.match(text, /^failoverd_target_health\{target="r1999\.example\.test\/A\/127\.0\.1\.249",record_set="r1999\.example\.test\/A",view="real",state="DOWN"\} 1$/m);
  assert.match(text, /^failoverd_record_set_state\{record_set="r7\.example\.test\/A",flag="degraded"\} 1$/m);
  assert.match(text, /^failoverd_transitions_total\{record_set="r0\.example\.test\/A"\} 0$/m);
  assert.match(text, /^failoverd_probe_duration_seconds_count\{check="web"\} 0$/m, 'the latency histogram is per check, at 0 before the first probe');
  assert.doesNotMatch(text, /^failoverd_probe_duration_seconds_\w+\{[^}]*target=/m, 'no latency histogram per probed target');
  assert.equal(text.match(/^# TYPE failoverd_target_health gauge$/gm)?.length, 1);
  // 2,000 record sets of 2 targets: 24,000 lines of failoverd_target_health alone, a slice per 256 lines at most.
  assert.ok(chunks.length > 24_000 / 256, `${chunks.length} chunks: the big families are not sliced`);
});

test('a scrape takes the decisions one at a time, the event loop turning between them (10,000 take ~70 ms to make), and writes what they say', async () => {
  const decisions = twoThousand();
  let turns = 0;
  let turning = true;
  const tick = (): void => void (turning && (turns++, setImmediate(tick)));
  const seenAt: number[] = [];
  const m = new Metrics(
    {
      decisions: () => assert.fail('the scrape read every decision at once'),
      eachDecision: function* () {
        for (const x of decisions) {
          seenAt.push(turns);
          yield x;
        }
      },
      ready: () => true,
      snapshot: () => undefined,
      maintenance: () => [],
      notifyQueue: () => 0,
      now: () => 0,
    },
    { sliceMs: 0 },
  );
  setImmediate(tick);
  const text = await m.text();
  turning = false;
  assert.equal(seenAt.length, 2000);
  assert.ok(seenAt[1999]! - seenAt[0]! >= 2000 / 64 - 1, `the event loop turned ${seenAt[1999]! - seenAt[0]!} times while the decisions were made`);
  assert.match(text, /^failoverd_record_set_state\{record_set="r7\.example\.test\/A",flag="degraded"\} 1$/m);
});

function twoThousand(): RecordSetDecision[] {
  return Array.from({ length: 2000 }, (_, i) => ({
    key: `r${i}.example.test/A`,
    name: `r${i}.example.test`,
    type: 'A',
    policy: 'failover',
    answer: { kind: 'values', values: [`127.0.0.${i % 250}`], ttl: 30 },
    targets: [0, 1].map((n) => ({ id: `r${i}.example.test/A/127.0.${n}.${i % 250}`, address: `127.0.${n}.${i % 250}`, role: n ? 'secondary' : 'primary', health: 'UP', realHealth: n ? 'DOWN' : 'UP', since: 0, overridden: false, why: 'probes: UP', answered: n === 0 })),
    state: { answer: { kind: 'targets', targetIds: [`r${i}.example.test/A/127.0.0.${i % 250}`], ttl: 30 }, since: 1_700_000_000_000, reason: 'start', degraded: i % 7 === 0, allDown: false } as unknown as RecordSetDecision['state'],
    version: 1,
  }));
}
