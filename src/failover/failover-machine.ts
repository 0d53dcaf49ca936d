/**
 * FailoverMachine: holds one record set's state between calls of the pure
 * `step` (machine.ts). Still no I/O and no timers: the caller passes `now`
 * and schedules a call at `wakeAt` itself.
 */
import type { RecordSetConfig } from '../config/types.ts';
import { step } from './machine.ts';
import type { FailoverCommand, RecordSetState, StepResult, TargetView } from './types.ts';

export class FailoverMachine {
  private current: RecordSetState | undefined;

  /** @param initial a state to resume from; undefined means a cold start. */
  constructor(
    readonly cfg: RecordSetConfig,
    initial?: RecordSetState,
  ) {
    this.current = initial;
  }

  /** Undefined until the first evaluation (unless resumed). */
  get state(): RecordSetState | undefined {
    return this.current;
  }

  evaluate(targets: ReadonlyMap<string, TargetView>, now: number, command?: FailoverCommand): StepResult {
    const result = step(this.cfg, this.current, targets, now, command);
    this.current = result.state;
    return result;
  }
}
