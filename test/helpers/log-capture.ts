/**
 * A pino logger whose lines a test reads back as objects and waits on (as
 * design.md has it: tests read log lines back from a stream and assert on
 * the objects). Plain pino, no redaction: a test sees all that was logged.
 */
import { pino, type Logger } from 'pino';

export type LogLine = Record<string, unknown>;

export interface CapturedLog {
  logger: Logger;
  lines: LogLine[];
  /** Resolves with the first line (already logged or to come) that matches; rejects after `ms`, naming `what`. */
  waitFor(what: string, match: (l: LogLine) => boolean, ms?: number): Promise<LogLine>;
}

export function captureLog(level = 'debug'): CapturedLog {
  const lines: LogLine[] = [];
  let waiters: Array<(l: LogLine) => void> = [];
  const logger = pino(
    { level },
    {
      write(s: string) {
        for (const text of s.split('\n')) {
          if (!text.trim()) continue;
          const line = JSON.parse(text) as LogLine;
          lines.push(line);
          for (const w of waiters) w(line);
        }
      },
    },
  );
  const waitFor = (what: string, match: (l: LogLine) => boolean, ms = 5000): Promise<LogLine> => {
    const seen = lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const check = (l: LogLine): void => {
        if (!match(l)) return;
        done();
        resolve(l);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no log line "${what}" within ${ms} ms; last: ${JSON.stringify(lines.slice(-3))}`));
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        waiters = waiters.filter((w) => w !== check);
      };
      waiters.push(check);
    });
  };
  return { logger, lines, waitFor };
}
