/**
 * Randomized differential test: random zones (a parent served with its
 * child, delegations, empty non-terminals, wildcards at several depths,
 * CNAME chains and loops, MX/SRV/NS additional data; see
 * helpers/random-zones.ts) served by failoverd (the embedded server, in
 * this process; a third of the A/AAAA/CNAME sets as dynamic record sets,
 * the rest from the zone files), NSD and Knot, and a few thousand random queries (names
 * that exist and not, in 0x20 case; types the zones hold, DS, ANY, DNSSEC
 * and unknown types; RD/AD/CD; no EDNS or EDNS sizes 512 to 4096, DO; UDP
 * and TCP). The same query bytes go to all three; replies are parsed with
 * dns-packet and compared component by component (helpers/dns-diff.ts says
 * what is normalised). Where NSD and Knot agree on a component, failoverd
 * must agree with them; where they disagree, the query is counted and the
 * run moves on.
 *
 * FAILOVERD_DIFF_SEED=<n> repeats a run (the seed is printed);
 * FAILOVERD_DIFF_QUERIES=<n> asks more (default 3,000) for a longer run;
 * FAILOVERD_DIFF_VERBOSE=1 also prints the queries where NSD and Knot
 * disagree and failoverd matches neither.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { test } from 'node:test';
import type { DynamicRRset } from '../src/records/snapshot.ts';
import { parseZoneText } from '../src/zones/parse.ts';
import { startDns, type RunningDns } from './helpers/dns-fixture.ts';
import { askTcp, COMPONENTS, differing, showView, UdpAsker, viewReply, type Component } from './helpers/dns-diff.ts';
import { startKnot, type RunningKnot } from './helpers/knot.ts';
import { startNsdZones, type RunningNsd } from './helpers/nsd.ts';
import { Dice, fixedQueries, generateZones, randomQuery, seededRandom, type DiffQuery } from './helpers/random-zones.ts';
import { needTool } from './helpers/tools.ts';

const seed = process.env.FAILOVERD_DIFF_SEED ? Number(process.env.FAILOVERD_DIFF_SEED) : randomInt(0, 2 ** 32);
const total = Number(process.env.FAILOVERD_DIFF_QUERIES ?? 3000);
/** Queries in flight at once (each to all three servers). */
const CONCURRENCY = 24;
/** Failures printed in full (all are counted). */
const SHOWN = 15;

test('failoverd answers as NSD and Knot do wherever the two agree, over random zones and queries', async (t) => {
  if (!needTool(t, 'nsd') || !needTool(t, 'knotd', 'knot')) return;
  assert.ok(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32, `FAILOVERD_DIFF_SEED must be an integer in [0, 2^32): ${process.env.FAILOVERD_DIFF_SEED}`);
  assert.ok(Number.isInteger(total) && total > 0, `FAILOVERD_DIFF_QUERIES must be a positive integer: ${process.env.FAILOVERD_DIFF_QUERIES}`);
  const dice = new Dice(seededRandom(seed));
  const gen = generateZones(dice);
  const records = gen.zones.reduce((n, z) => n + z.text.split('\n').length - 3, 0);
  const dynamic = gen.zones.reduce((n, z) => n + z.dynamic.length, 0);
  process.stdout.write(`differential: seed ${seed} (FAILOVERD_DIFF_SEED=${seed} repeats this run): ${gen.zones.length} zones, ${records} records (${dynamic} sets dynamic in failoverd), ${total} random queries\n`);
  const queries: DiffQuery[] = [...fixedQueries(gen.zones, 1), ...Array.from({ length: total }, (_, i) => randomQuery(dice, gen.names, (i + 100) & 0xffff))];

  let ours: RunningDns | undefined;
  let nsd: RunningNsd | undefined;
  let knot: RunningKnot | undefined;
  const askers: UdpAsker[] = [];
  try {
    [ours, nsd, knot] = await Promise.all([startDns(
        gen.zones.map((z) => parseZoneText(z.staticText, { file: `${z.origin}.zone` })),
        gen.zones.flatMap((z) => z.dynamic.map((d): DynamicRRset => ({ ...d, kind: 'values' }))),
      ), startNsdZones(gen.zones, { unlimited: true }), startKnot(gen.zones)]);
    const servers = [nsd.port, knot.port, ours.port].map((port) => ({ port, udp: new UdpAsker(port) }));
    askers.push(...servers.map((s) => s.udp));

    let agreed = 0;
    let referencesDisagree = 0;
    let neitherWhereDisagree = 0;
    /** Per component where NSD and Knot disagree: how often, and whom failoverd sides with. */
    const byComponent = new Map<Component, { count: number; nsd: number; knot: number }>();
    const failures: string[] = [];
    let failed = 0;
    let next = 0;
    const worker = async () => {
      while (next < queries.length) {
        const q = queries[next++]!;
        const [n, k, f] = (await Promise.all(servers.map((s) => (q.transport === 'udp' ? s.udp.ask(q.bytes) : askTcp(s.port, q.bytes))))).map(viewReply) as [
          ReturnType<typeof viewReply>,
          ReturnType<typeof viewReply>,
          ReturnType<typeof viewReply>,
        ];
        const refDiff = differing(n, k);
        const ours = COMPONENTS.filter((c) => n[c] === k[c] && f[c] !== n[c]);
        if (refDiff.length > 0) {
          referencesDisagree++;
          for (const c of refDiff) {
            const tally = byComponent.get(c) ?? { count: 0, nsd: 0, knot: 0 };
            tally.count++;
            if (f[c] === n[c]) tally.nsd++;
            else if (f[c] === k[c]) tally.knot++;
            byComponent.set(c, tally);
          }
          const neither = refDiff.filter((c) => f[c] !== n[c] && f[c] !== k[c]);
          if (neither.length > 0) {
            neitherWhereDisagree++;
            if (process.env.FAILOVERD_DIFF_VERBOSE === '1') process.stdout.write(`neither (${neither.join(', ')}): ${q.text}\n  nsd:\n${showView(n)}\n  knot:\n${showView(k)}\n  failoverd:\n${showView(f)}\n`);
          }
        } else if (ours.length === 0) agreed++;
        if (ours.length > 0) {
          failed++;
          if (failures.length < SHOWN) {
            failures.push(`${q.text} (differs in ${ours.join(', ')})\n  query ${q.bytes.toString('hex')}\n  nsd:\n${showView(n)}\n  knot:\n${showView(k)}\n  failoverd:\n${showView(f)}`);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    const split =
      COMPONENTS.filter((c) => byComponent.has(c))
        .map((c) => {
          const { count, nsd, knot } = byComponent.get(c)!;
          return `${c} ${count} (failoverd as NSD ${nsd}, as Knot ${knot})`;
        })
        .join(', ') || 'none';
    const summary = `seed ${seed}: ${queries.length} queries; all three agree on ${agreed}; NSD and Knot disagree on ${referencesDisagree} (by component: ${split}; failoverd matches neither on ${neitherWhereDisagree}); failoverd differs from both on ${failed}`;
    process.stdout.write(`differential: ${summary}\n`);
    t.diagnostic(summary);
    assert.equal(failed, 0, `${summary}\nFAILOVERD_DIFF_SEED=${seed} repeats this run. The first ${failures.length}:\n${failures.join('\n')}\nzones:\n${gen.zones.map((z) => z.text).join('\n')}`);
  } finally {
    for (const a of askers) a.close();
    await Promise.all([ours?.stop(), nsd?.stop(), knot?.stop()]);
  }
});
