/**
 * MaxMind databases (.mmdb) built by the test itself, with Debian's
 * libmaxmind-db-writer-perl (test/fixtures/geo/write-mmdb.pl).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { needTool } from './tools.ts';

const WRITER = fileURLToPath(new URL('../fixtures/geo/write-mmdb.pl', import.meta.url));

export interface MmdbNetwork {
  network: string;
  country?: string;
  continent?: string;
}

/** True when perl and MaxMind::DB::Writer are there; otherwise skips the test (fails it under CI=true). */
export function needMmdbWriter(t: TestContext): boolean {
  if (!needTool(t, 'perl')) return false;
  try {
    execFileSync('perl', ['-MMaxMind::DB::Writer::Tree', '-e', '1'], { stdio: 'ignore' });
    return true;
  } catch {
    const reason = 'the perl module MaxMind::DB::Writer is not installed (Debian package libmaxmind-db-writer-perl)';
    if (process.env.CI === 'true') throw new Error(`${reason}: required when CI=true`);
    process.stdout.write(`# SKIP: ${reason}\n`);
    t.skip(reason);
    return false;
  }
}

/** Writes IPv6 databases (IPv4 networks in their IPv4 part), each mapping its networks to a country and/or continent; one perl run for all. */
export function writeMmdbs(databases: Array<{ file: string; networks: MmdbNetwork[] }>): void {
  execFileSync('perl', [WRITER], { input: JSON.stringify(databases.map((d) => ({ ...d, ipVersion: 6 }))), stdio: ['pipe', 'ignore', 'pipe'], timeout: 30_000 });
}
