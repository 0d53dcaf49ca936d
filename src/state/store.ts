/**
 * The persisted state file (state.file): overrides, last health per probe,
 * record set states (manual-failback holds) and zone serials.
 *
 * Writes are atomic (temp file, fsync, rename, fsync of the folder) and
 * serialized; changes are debounced (DEBOUNCE_MS) but never held longer than
 * MAX_DELAY_MS, and flush() writes at once (operator actions, shutdown).
 * A file that cannot be parsed is moved aside with a warning and failoverd
 * starts clean.
 */
import { readdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import type { Clock, TimerHandle } from '../clock.ts';
import { errorText } from '../errors.ts';
import { RateLimitedLog, type Logger } from '../log.ts';
import { StateText, type StateValue } from './state-text.ts';

export const STATE_VERSION = 1;
export const DEBOUNCE_MS = 100;
export const MAX_DELAY_MS = 1000;
/** After a failed write, the next try (even without further changes). */
export const RETRY_MS = 5000;

const health = z.enum(['UP', 'DOWN', 'UNKNOWN']);
const answer = z.union([
  z.object({ kind: z.literal('targets'), targetIds: z.array(z.string()), ttl: z.number(), weighted: z.boolean(), weights: z.array(z.number()).optional() }),
  z.object({ kind: z.literal('nodata'), ttl: z.number() }),
  z.object({ kind: z.literal('servfail') }),
]);

export const persistedStateSchema = z.object({
  version: z.literal(STATE_VERSION),
  savedAt: z.string(),
  overrides: z.record(
    z.string(),
    z.object({ state: z.enum(['UP', 'DOWN']), reason: z.string(), expiresAt: z.number().optional(), createdAt: z.number(), source: z.string() }),
  ),
  health: z.record(z.string(), z.object({ health, since: z.number(), check: z.string() })),
  recordSets: z.record(
    z.string(),
    z.object({
      answer,
      activeId: z.string().optional(),
      since: z.number(),
      reason: z.string(),
      degraded: z.boolean(),
      allDown: z.boolean(),
      pending: z.string().optional(),
    }),
  ),
  serials: z.record(z.string(), z.number().int().min(0).max(0xffffffff)),
});
export type PersistedState = z.output<typeof persistedStateSchema>;

export function emptyState(): PersistedState {
  return { version: STATE_VERSION, savedAt: new Date(0).toISOString(), overrides: {}, health: {}, recordSets: {}, serials: {} };
}

/** Writes `text` to `file` atomically: a reader sees the old file or the new one, never a mix. */
export async function writeFileAtomic(file: string, text: string | Uint8Array): Promise<void> {
  const dir = dirname(file);
  const tmp = `${file}.tmp-${process.pid}`;
  let fh: FileHandle;
  try {
    fh = await open(tmp, 'w', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    // The folder is missing (first write): made, then once more. A file in its place fails the open with ENOTDIR.
    await mkdir(dir, { recursive: true });
    fh = await open(tmp, 'w', 0o600);
  }
  try {
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    // A full disk must not keep a partial temp file.
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  try {
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    // Some file systems cannot fsync a folder; the rename is still atomic.
  }
}

/** What a write of the state file came to: on disk, or the error (with its errno `code`). */
export type StateWriteOutcome = { ok: true } | { ok: false; err: NodeJS.ErrnoException };

export interface StateWriterOptions {
  file: string;
  logger: Logger;
  /** Builds the state to write, at write time (its big sections may be Maps: state-text.ts). */
  build: () => StateValue;
  clock: Clock;
  /** After each write attempt (metrics). */
  onWrite?: (ok: boolean, durationMs: number) => void;
}

export class StateWriter {
  private readonly clock: Clock;
  private timer: TimerHandle | undefined;
  private firstDirtyAt: number | undefined;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly errors: RateLimitedLog;
  /** Keeps the lines of unchanged entries from one write to the next. */
  private readonly text = new StateText();
  /** Duration of the last successful write, in ms. */
  lastWriteMs = 0;

  constructor(private readonly opts: StateWriterOptions) {
    this.clock = opts.clock;
    this.errors = new RateLimitedLog(opts.logger, 60_000, this.clock);
  }

  /** Something changed: write soon (debounced, bounded by MAX_DELAY_MS). */
  markDirty(): void {
    if (this.closed) return;
    const now = this.clock.now();
    this.firstDirtyAt ??= now;
    this.timer?.cancel();
    const delay = Math.max(0, Math.min(DEBOUNCE_MS, this.firstDirtyAt + MAX_DELAY_MS - now));
    this.timer = this.clock.setTimer(delay, () => void this.flush());
  }

  /**
   * Writes now (after any write in progress); resolves when it is on disk,
   * or with the error when it could not be written (then a retry follows in
   * RETRY_MS). Never rejects.
   */
  flush(): Promise<StateWriteOutcome> {
    this.timer?.cancel();
    this.timer = undefined;
    this.firstDirtyAt = undefined;
    const next = this.chain.then(() => this.writeOnce());
    this.chain = next.then(() => undefined);
    return next;
  }

  /** Final flush; later changes are not written. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  private async writeOnce(): Promise<StateWriteOutcome> {
    const started = performance.now();
    try {
      const state = { ...this.opts.build(), savedAt: new Date(this.clock.now()).toISOString() };
      await writeFileAtomic(this.opts.file, this.text.bytes(state));
      this.lastWriteMs = performance.now() - started;
      this.opts.onWrite?.(true, this.lastWriteMs);
      return { ok: true };
    } catch (err) {
      this.opts.onWrite?.(false, performance.now() - started);
      this.errors.warn('write', { file: this.opts.file, err, retryInMs: RETRY_MS }, 'cannot write the state file; will retry');
      // Try again later even if nothing else changes (disk full, permissions fixed).
      if (!this.closed && !this.timer) this.timer = this.clock.setTimer(RETRY_MS, () => void this.flush());
      return { ok: false, err: err as NodeJS.ErrnoException };
    }
  }
}

/** Why a state file that exists was not restored: unreadable, or corrupt (then moved aside, when it could be). */
export interface StateRestoreProblem {
  problem: string;
  movedTo?: string;
}

/**
 * readStateFile for start-up, synchronously (the daemon builds its controller in its constructor).
 * A file that exists but is not restored is logged and told to `onProblem` (a missing one is a clean start).
 */
export function readStateFileSync(file: string, log: Logger, onProblem?: (p: StateRestoreProblem) => void): PersistedState | undefined {
  removeStaleTempFiles(file, log);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') {
      log.warn({ file, err }, 'cannot read the state file; starting clean');
      onProblem?.({ problem: `cannot read it: ${errorText(err)}` });
    }
    return undefined;
  }
  let problem: string;
  try {
    const parsed = persistedStateSchema.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
    problem = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  } catch (err) {
    problem = `not JSON: ${(err as Error).message}`;
  }
  const aside = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  try {
    renameSync(file, aside);
    log.warn({ file, movedTo: aside, problem }, 'state file is corrupt: moved it aside and starting clean');
    onProblem?.({ problem: `corrupt: ${problem}`, movedTo: aside });
  } catch (err) {
    log.warn({ file, problem, err }, 'state file is corrupt and could not be moved aside; starting clean');
    onProblem?.({ problem: `corrupt: ${problem}` });
  }
  return undefined;
}

/** Temp files (`FILE.tmp-PID`) of writes killed before their rename: removed at start, they would pile up. */
function removeStaleTempFiles(file: string, log: Logger): void {
  const prefix = `${basename(file)}.tmp-`;
  let names: string[];
  try {
    names = readdirSync(dirname(file));
  } catch {
    return;
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix) || !/^\d+$/.test(name.slice(prefix.length)) || name === `${prefix}${process.pid}`) continue;
    try {
      unlinkSync(join(dirname(file), name));
      removed.push(name);
    } catch (err) {
      log.warn({ file: join(dirname(file), name), err }, 'cannot remove a stale state temp file');
    }
  }
  if (removed.length > 0) log.info({ removed }, 'removed temp files of interrupted state writes');
}
