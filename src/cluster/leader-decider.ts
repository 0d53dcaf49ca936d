/**
 * The leader's failover machines over the cluster's health: one machine per
 * record set, resumed from the states the cluster last decided, wake timers
 * for delayed failbacks, a version per batch of changes. Transitions are
 * logged and handed to a listener (notifications and metrics, on the leader
 * only).
 */
import type { Clock, TimerHandle } from '../clock.ts';
import type { RecordSetConfig, Target } from '../config/types.ts';
import { decide, type RecordSetDecision, type TargetHealthView } from '../failover/decision.ts';
import { recordSetKey } from '../failover/describe.ts';
import { FailoverMachine } from '../failover/failover-machine.ts';
import type { RecordSetState, TargetView, Transition } from '../failover/types.ts';
import type { Logger } from '../log.ts';
import type { LeaderDecider } from './cluster-node.ts';

export interface LeaderDeciderOptions {
  records: RecordSetConfig[];
  health: { view(t: Target): TargetHealthView };
  restore: Record<string, RecordSetState>;
  onChange: () => void;
  onTransition: (t: Transition) => void;
  clock: Clock;
  logger: Logger;
}

export class MachinesDecider implements LeaderDecider {
  private readonly machines = new Map<string, FailoverMachine>();
  private readonly wake = new Map<string, TimerHandle>();
  private version = 1;
  private stopped = false;

  constructor(private readonly o: LeaderDeciderOptions) {
    for (const rs of o.records) this.machines.set(recordSetKey(rs), new FailoverMachine(rs, o.restore[recordSetKey(rs)]));
    for (const rs of o.records) this.evaluate(rs);
  }

  decisions(): RecordSetDecision[] {
    const out: RecordSetDecision[] = [];
    for (const rs of this.o.records) {
      const state = this.machines.get(recordSetKey(rs))?.state;
      if (state) out.push(decide(rs, state, (t) => this.o.health.view(t), this.version));
    }
    return out;
  }

  healthChanged(targets: Target[]): void {
    if (this.stopped) return;
    const ids = new Set(targets.map((t) => t.id));
    let changed = false;
    for (const rs of this.o.records) if (rs.targets.some((t) => ids.has(t.id))) changed = this.evaluate(rs) !== false || changed;
    if (changed) this.changed();
  }

  failback(key: string): { kind: 'moved' | 'unchanged' | 'refused'; reason?: string } {
    const rs = this.o.records.find((r) => recordSetKey(r) === key);
    const state = this.machines.get(key)?.state;
    if (!rs || !state) return { kind: 'refused', reason: `no record set ${key}` };
    if (rs.policy !== 'failover') return { kind: 'refused', reason: `${key} has policy ${rs.policy}; failback applies to policy failover` };
    if (state.activeId === rs.targets[0]!.id) return { kind: 'unchanged', reason: `${key} already answers its primary` };
    const t = this.evaluate(rs, true);
    if (typeof t === 'object') {
      this.changed();
      return { kind: 'moved', reason: t.reason };
    }
    return { kind: 'refused', reason: 'no target before the active one is UP' };
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.wake.values()) t.cancel();
    this.wake.clear();
  }

  private changed(): void {
    this.version++;
    this.o.onChange();
  }

  private evaluate(rs: RecordSetConfig, failbackCommand = false): Transition | boolean {
    const key = recordSetKey(rs);
    const machine = this.machines.get(key)!;
    const now = this.o.clock.now();
    const views = new Map<string, TargetView>();
    for (const t of rs.targets) {
      const v = this.o.health.view(t);
      views.set(t.id, { id: t.id, health: v.health, since: v.since, reason: v.overridden ? `override: ${v.overrideReason ?? v.health}` : `cluster: ${v.realHealth}` });
    }
    const result = machine.evaluate(views, now, failbackCommand ? { kind: 'failback' } : undefined);
    this.wake.get(key)?.cancel();
    this.wake.delete(key);
    if (result.wakeAt !== undefined) {
      this.wake.set(
        key,
        this.o.clock.setTimer(Math.max(0, result.wakeAt - now), () => {
          this.wake.delete(key);
          if (!this.stopped && this.evaluate(rs) !== false) this.changed();
        }),
      );
    }
    if (result.transition) {
      const t = result.transition;
      this.o.logger.info({ component: 'failover', recordSet: t.recordSet, from: t.from, to: t.to, reason: t.reason }, 'transition');
      this.o.onTransition(t);
      return t;
    }
    return result.changed;
  }
}
