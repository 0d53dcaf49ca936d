import { inspect } from 'node:util';

/** A holder of a secret: it prints, serialises and inspects as "[redacted]", so a config object can be logged without leaking it. */
export class Redacted {
  toJSON(): string {
    return '[redacted]';
  }
  toString(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return '[redacted]';
  }
}
