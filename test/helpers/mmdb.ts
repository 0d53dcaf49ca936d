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

/** Writes an IPv6 database (IPv4 networks in its IPv4 part) mapping each network to a country and/or continent. */
export function writeMmdb(file: string, networks: MmdbNetwork[]): void {
  execFileSync('perl', [WRITER, file], { input: JSON.stringify({ ipVersion: 6, networks }), stdio: ['pipe', 'ignore', 'pipe'], timeout: 30_000 });
}
