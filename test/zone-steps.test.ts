/**
 * A big zone is parsed and built in steps (issue 15, finding 5): other work
 * (DNS answers) runs between them, and the result is the same as in one go.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildSnapshot, prepareZones } from '../src/records/snapshot.ts';
import { parseZoneText, parseZoneTextAsync } from '../src/zones/parse.ts';

function bigZone(records: number): string {
  const lines = ['$ORIGIN big.test.', '$TTL 300', '@ SOA ns1 host 1 3600 600 86400 300', '@ NS ns1', 'ns1 A 127.0.0.1'];
  for (let i = 0; i < records; i++) lines.push(`h${i} A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  return lines.join('\n') + '\n';
}

/** Counts turns of the event loop while `work` runs. */
async function turnsDuring<T>(work: () => Promise<T>): Promise<{ value: T; turns: number }> {
  let turns = 0;
  let on = true;
  const tick = (): void => {
    turns++;
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  const value = await work();
  on = false;
  return { value, turns };
}

test('a 50,000-record zone is parsed in steps, with other work between them, to the same records', async () => {
  const text = bigZone(50_000);
  const { value, turns } = await turnsDuring(() => parseZoneTextAsync(text, { file: 'big.zone' }));
  assert.ok(turns >= 10, `only ${turns} turns of the event loop during the parse`);
  assert.deepEqual(value, parseZoneText(text, { file: 'big.zone' }));
});

test('a bad zone parsed in steps reports the same problems', async () => {
  const text = bigZone(10_000) + 'bad A 10.0.0.300\nh1 CNAME elsewhere.\n';
  const sync = (() => {
    try {
      parseZoneText(text, { file: 'big.zone' });
    } catch (err) {
      return err;
    }
  })();
  await assert.rejects(parseZoneTextAsync(text, { file: 'big.zone' }), (err) => {
    assert.deepEqual(err, sync);
    return true;
  });
});

test('the static data of a big zone is built in steps ahead of the snapshot, which then reuses it', async () => {
  const zone = parseZoneText(bigZone(50_000), { file: 'big.zone' });
  const { turns } = await turnsDuring(() => prepareZones([zone]));
  assert.ok(turns >= 10, `only ${turns} turns of the event loop during the build`);
  const a = buildSnapshot([zone], []);
  const b = buildSnapshot([zone], [], a);
  assert.equal(a.zones[0]!.nodes.get('h49999.big.test'), b.zones[0]!.nodes.get('h49999.big.test'));
  assert.equal(a.zones[0]!.nodes.size, 50_002);
});
