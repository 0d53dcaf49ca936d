/** Zone-level rules checked after the parse: SOA, CNAME exclusivity, out-of-zone data. */
import { isInZone } from '../dns-model/names.ts';
import type { ZoneFileRecord } from '../dns-model/records.ts';
import { showName } from './name.ts';
import { drain, STEP } from './tokenize.ts';
import type { LineProblem } from './types.ts';

export function checkZone(records: ZoneFileRecord[], origin: string): LineProblem[] {
  return drain(checkZoneSteps(records, origin));
}

/** checkZone() in steps: yields after every STEP records of each pass. */
export function* checkZoneSteps(records: ZoneFileRecord[], origin: string): Generator<void, LineProblem[]> {
  const problems: LineProblem[] = [];
  const zone = showName(origin);

  let n = 0;
  for (const r of records) {
    if (++n % STEP === 0) yield;
    if (!isInZone(r.name, origin)) {
      problems.push({ line: r.line, message: `"${showName(r.name)}" is outside the zone "${zone}" (out-of-zone data)` });
    }
  }

  const soas = records.filter((r) => r.data.type === 'SOA');
  if (soas.length === 0) {
    problems.push({ line: records[0]?.line ?? 1, message: `no SOA record: the zone "${zone}" needs exactly one, at its origin` });
  }
  soas.forEach((soa, i) => {
    if (i > 0) problems.push({ line: soa.line, message: `more than one SOA record (the first is at line ${soas[0]!.line})` });
    else if (soa.name !== origin) {
      problems.push({ line: soa.line, message: `SOA record at "${showName(soa.name)}" is not at the zone origin "${zone}"` });
    }
  });

  const byName = new Map<string, ZoneFileRecord[]>();
  for (const r of records) {
    if (++n % STEP === 0) yield;
    const list = byName.get(r.name);
    if (list) list.push(r);
    else byName.set(r.name, [r]);
  }
  for (const [name, list] of byName) {
    if (++n % STEP === 0) yield;
    const cnames = list.filter((r) => r.data.type === 'CNAME');
    if (cnames.length === 0) continue;
    const first = cnames[0]!;
    for (const extra of cnames.slice(1)) {
      problems.push({ line: extra.line, message: `more than one CNAME at "${showName(name)}" (the first is at line ${first.line})` });
    }
    const other = list.find((r) => r.data.type !== 'CNAME');
    if (other) {
      problems.push({
        line: first.line,
        message: `CNAME at "${showName(name)}" cannot coexist with other data (${other.data.type} at line ${other.line})`,
      });
    }
  }
  return problems;
}
