/**
 * The state file's text: JSON with one entry a line (an override, a probe
 * key's health, a record set's state), each line kept from the write before
 * while its entry is unchanged. With 10,000 record sets the file is a few
 * MB: serializing all of it (with JSON.stringify's indentation) on every
 * change cost each instance about 100 ms of CPU a write; now a write
 * serializes and encodes the chunks of lines that changed and copies the
 * rest's bytes.
 *
 * A record set's state is an immutable value (the failover machine makes a
 * new one on each change), and the daemon keeps a probe key's saved health
 * object while it is unchanged: a line is kept by the identity of its
 * value. The result parses to the same value as JSON.stringify(state)
 * would (Maps as objects).
 */
/** A probe key's saved health (store.ts's schema). */
interface SavedHealthEntry {
  health: string;
  since: number;
  check: string;
}

/**
 * The persisted state (store.ts's schema) as it is written. The two big
 * sections may be Maps (the daemon's): iterating an object of 10,000 keys
 * costs more than the rest of a write.
 */
export interface StateValue {
  version: number;
  savedAt: string;
  serials: Record<string, number>;
  overrides: Record<string, object>;
  health: Record<string, SavedHealthEntry> | ReadonlyMap<string, SavedHealthEntry>;
  recordSets: Record<string, object> | ReadonlyMap<string, object>;
}

function entriesOf<T>(x: Record<string, T> | ReadonlyMap<string, T>): Iterable<[string, T]> {
  return x instanceof Map ? (x as ReadonlyMap<string, T>).entries() : Object.entries(x as Record<string, T>);
}

/** Lines joined per chunk: a change rejoins its chunk, not the whole section. */
const CHUNK = 256;

/** One section's lines as last written, and their chunks (encoded). */
class Section {
  private lines: string[] = [];
  private chunks: Buffer[] = [];

  /** The section's text, `{ ... }`, as pieces: every chunk whose lines are the same strings as before is the same Buffer. */
  pieces(lines: string[]): Buffer[] {
    if (lines.length === 0) {
      this.lines = [];
      this.chunks = [];
      return [Buffer.from('{}')];
    }
    const chunks: Buffer[] = [];
    for (let c = 0; c * CHUNK < lines.length; c++) {
      const from = c * CHUNK;
      const to = Math.min(lines.length, from + CHUNK);
      let same = c < this.chunks.length && to - from === Math.min(this.lines.length, from + CHUNK) - from;
      for (let i = from; same && i < to; i++) same = lines[i] === this.lines[i];
      chunks.push(same ? this.chunks[c]! : Buffer.from((c > 0 ? ',\n' : '') + lines.slice(from, to).join(',\n')));
    }
    this.lines = lines;
    this.chunks = chunks;
    return [OPEN, ...chunks, CLOSE];
  }
}

const OPEN = Buffer.from('{\n');
const CLOSE = Buffer.from('\n}');

export class StateText {
  /**
   * A value (a record set's state, a probe key's saved health) → its key
   * and line: the daemon passes the same object while an entry is
   * unchanged (a value must not be changed once written).
   */
  private readonly lineOf = new WeakMap<object, { key: string; line: string }>();
  private readonly sections = { health: new Section(), recordSets: new Section() };

  /** The file's bytes. */
  bytes(state: StateValue): Buffer {
    const healthLines = this.lines(state.health);
    const recordSetLines = this.lines(state.recordSets);
    const overrideLines = Object.entries(state.overrides).map(([id, o]) => `${JSON.stringify(id)}: ${JSON.stringify(o)}`);
    const head = [
      '{',
      `"version": ${JSON.stringify(state.version)},`,
      `"savedAt": ${JSON.stringify(state.savedAt)},`,
      `"serials": ${JSON.stringify(state.serials)},`,
      `"overrides": ${overrideLines.length === 0 ? '{}' : `{\n${overrideLines.join(',\n')}\n}`},`,
      '"health": ',
    ].join('\n');
    return Buffer.concat([Buffer.from(head), ...this.sections.health.pieces(healthLines), Buffer.from(',\n"recordSets": '), ...this.sections.recordSets.pieces(recordSetLines), Buffer.from('\n}\n')]);
  }

  private lines(section: Record<string, object> | ReadonlyMap<string, object>): string[] {
    const out: string[] = [];
    for (const [key, value] of entriesOf(section)) {
      let kept = this.lineOf.get(value);
      if (kept?.key !== key) this.lineOf.set(value, (kept = { key, line: `${JSON.stringify(key)}: ${JSON.stringify(value)}` }));
      out.push(kept.line);
    }
    return out;
  }
}
