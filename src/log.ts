/**
 * pino, structured; one child logger per component (design.md, "Logging").
 * No secrets in logs: keys named like secrets are redacted, and every URL
 * in a logged string (message or field, arrays and nested objects
 * included) loses its userinfo (user:password@).
 */
import { pino, type Logger, type DestinationStream } from 'pino';
import { systemClock, type Clock } from './clock.ts';

export type { Logger };

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { name: 'failoverd' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['*.secret', '*.token', '*.password', '*.secretAccessKey', 'credentials'], censor: '[redacted]' },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => withoutUserinfoIn(a, 0)) as Parameters<typeof method>);
        },
      },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** scheme://user:password@ (or scheme://user@): the userinfo of a URL. */
// The scheme starts where no scheme character precedes it: each position is tried once (linear, even on long strings).
const USERINFO = /(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*@/gi;

/** `text` with the userinfo of every URL in it removed: http://root:pw@10.0.0.1:2379 → http://10.0.0.1:2379. */
export function withoutUserinfo(text: string): string {
  return text.includes('@') ? text.replace(USERINFO, '$1') : text;
}

/** A logged value with withoutUserinfo() applied to its strings: arrays and plain objects copied (a few levels deep); anything else as it is. */
function withoutUserinfoIn(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return withoutUserinfo(value);
  if (depth >= 4 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => withoutUserinfoIn(v, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = withoutUserinfoIn(v, depth + 1);
  return out;
}

/** A logger that writes nothing, for tests and tools. */
export const silentLogger: Logger = pino({ level: 'silent' });

/** Logs at most once per `intervalMs` per key, with how many were suppressed. */
export class RateLimitedLog {
  private last = new Map<string, { at: number; suppressed: number }>();
  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 10_000,
    private readonly clock: Clock = systemClock,
  ) {}
  warn(key: string, obj: Record<string, unknown>, msg: string, now = this.clock.now()): void {
    const e = this.last.get(key);
    if (e && now - e.at < this.intervalMs) {
      e.suppressed++;
      return;
    }
    if (this.last.size > 1000) this.last.clear();
    this.last.set(key, { at: now, suppressed: 0 });
    this.log.warn({ ...obj, suppressedSinceLast: e?.suppressed ?? 0 }, msg);
  }
}
