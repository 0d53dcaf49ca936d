/**
 * An operator's etcdctl on a test etcd cluster (test/helpers/etcd.ts):
 * member status (revision, db size, alarms), compaction, defragmentation,
 * alarms, and filling the backend until etcd raises NOSPACE (with a small
 * --quota-backend-bytes). Tests call needTool(t, 'etcdctl', 'etcd-client') first.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Etcd3 } from 'etcd3';

const run = promisify(execFile);

/** Keys the NOSPACE filler writes (outside any failoverd cluster's /failoverd/ prefix). */
export const FILL_PREFIX = 'failoverd-test/fill/';

/** Runs `etcdctl <args>` (API v3) against `endpoints`; resolves with its stdout. */
export async function etcdctl(endpoints: string[], ...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('etcdctl', [`--endpoints=${endpoints.join(',')}`, '--command-timeout=5s', '--dial-timeout=2s', ...args], {
      env: { ...process.env, ETCDCTL_API: '3' },
      timeout: 20_000,
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`etcdctl ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

export interface MemberStatus {
  endpoint: string;
  revision: number;
  dbSize: number;
  /** Bytes of the backend in use (etcd 3.4: dbSizeInUse). */
  dbSizeInUse: number;
}

/** Each member's revision and backend size (`etcdctl endpoint status`). */
export async function memberStatus(endpoints: string[]): Promise<MemberStatus[]> {
  const out = JSON.parse(await etcdctl(endpoints, 'endpoint', 'status', '-w', 'json')) as Array<{
    Endpoint: string;
    Status: { header: { revision: number }; dbSize: number; dbSizeInUse?: number };
  }>;
  return out.map((s) => ({ endpoint: s.Endpoint, revision: Number(s.Status.header.revision), dbSize: Number(s.Status.dbSize), dbSizeInUse: Number(s.Status.dbSizeInUse ?? s.Status.dbSize) }));
}

/** Compacts etcd's history up to its current revision (physically: the watches resuming below it are canceled); resolves with that revision. */
export async function compact(endpoints: string[]): Promise<number> {
  const revision = Math.max(...(await memberStatus(endpoints)).map((s) => s.revision));
  await etcdctl(endpoints, 'compaction', '--physical', String(revision));
  return revision;
}

/** Defragments every member (returns the space compaction freed to the file system). */
export async function defrag(endpoints: string[]): Promise<void> {
  await etcdctl(endpoints, 'defrag');
}

/** The alarms raised (`etcdctl alarm list`), e.g. ["memberID:... alarm:NOSPACE"]. */
export async function alarms(endpoints: string[]): Promise<string[]> {
  return (await etcdctl(endpoints, 'alarm', 'list')).split('\n').filter((l) => l.trim() !== '');
}

export async function disarm(endpoints: string[]): Promise<void> {
  await etcdctl(endpoints, 'alarm', 'disarm');
}

/**
 * Writes 256 KiB values under FILL_PREFIX until etcd refuses one with
 * "database space exceeded" (its NOSPACE alarm is then raised: every put and
 * transaction is refused, reads and deletes still work). At most
 * `quotaBytes` / 256 KiB + 64 writes; resolves with how many were written.
 */
export async function fillUntilNoSpace(endpoints: string[], quotaBytes: number): Promise<number> {
  const client = new Etcd3({ hosts: endpoints });
  const value = Buffer.alloc(256 * 1024, 'x');
  try {
    const most = Math.ceil(quotaBytes / value.length) + 64;
    for (let i = 0; i < most; i++) {
      try {
        await client.put(`${FILL_PREFIX}${i}`).value(value).exec();
      } catch (err) {
        if (/database space exceeded/i.test(String((err as Error).message))) return i;
        throw err;
      }
    }
    throw new Error(`etcd took ${most} writes of 256 KiB without NOSPACE (quota ${quotaBytes} bytes)`);
  } finally {
    client.close();
  }
}

/**
 * What an operator does after NOSPACE (etcd's maintenance guide): delete
 * the data that filled it, compact the history, defragment every member,
 * then disarm the alarm. Resolves once etcd lists no alarm.
 */
export async function recoverFromNoSpace(endpoints: string[]): Promise<void> {
  const client = new Etcd3({ hosts: endpoints });
  try {
    await client.delete().prefix(FILL_PREFIX).exec();
  } finally {
    client.close();
  }
  await compact(endpoints);
  await defrag(endpoints);
  await disarm(endpoints);
  const left = await alarms(endpoints);
  if (left.length) throw new Error(`etcd alarms still raised after disarm: ${left.join('; ')}`);
}
