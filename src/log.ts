/** pino, structured; one child logger per component (design.md, "Logging"). */
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
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
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
