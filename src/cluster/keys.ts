/** Where a cluster keeps its state in etcd: everything under /failoverd/<name>/. */
export class ClusterKeys {
  readonly prefix: string;
  constructor(clusterName: string) {
    this.prefix = `/failoverd/${clusterName}/`;
  }
  /** The leader key: this instance's name under its lease. */
  get leader(): string {
    return `${this.prefix}leader`;
  }
  /** Everything the leader decides (decision-layout.ts): one key per record set, the recent transitions, the meta key. */
  get decisionsPrefix(): string {
    return `${this.prefix}decisions/`;
  }
  /** The generation marker: leader, term, serials; written last in each batch (readers serve a batch once it is there). */
  get decisionMeta(): string {
    return `${this.decisionsPrefix}meta`;
  }
  get decisionRecordSetPrefix(): string {
    return `${this.decisionsPrefix}rs/`;
  }
  decisionRecordSet(recordSetKey: string): string {
    return `${this.decisionRecordSetPrefix}${encodeURIComponent(recordSetKey)}`;
  }
  recordSetOfDecision(key: string): string {
    return decodeURIComponent(key.slice(this.decisionRecordSetPrefix.length));
  }
  get decisionTransitionPrefix(): string {
    return `${this.decisionsPrefix}transitions/`;
  }
  /** One slot of the ring of recent transitions (slot = sequence number modulo the ring's size). */
  decisionTransition(slot: number): string {
    return `${this.decisionTransitionPrefix}${slot}`;
  }
  /** The leader's heartbeat, renewed (fenced) every few seconds: every instance knows how old what it serves is. */
  get heartbeat(): string {
    return `${this.prefix}heartbeat`;
  }
  /** Written by the leader, fenced, before each Route 53 apply: the Route 53 writer's proof of leadership. */
  get route53Writer(): string {
    return `${this.prefix}route53-writer`;
  }
  get vantagePrefix(): string {
    return `${this.prefix}vantage/`;
  }
  vantage(instance: string): string {
    return `${this.vantagePrefix}${instance}`;
  }
  get overridePrefix(): string {
    return `${this.prefix}overrides/`;
  }
  override(targetId: string): string {
    return `${this.overridePrefix}${encodeURIComponent(targetId)}`;
  }
  targetOfOverride(key: string): string {
    return decodeURIComponent(key.slice(this.overridePrefix.length));
  }
  get failbackPrefix(): string {
    return `${this.prefix}commands/failback/`;
  }
  failback(recordSetKey: string): string {
    return `${this.failbackPrefix}${encodeURIComponent(recordSetKey)}`;
  }
  recordSetOfFailback(key: string): string {
    return decodeURIComponent(key.slice(this.failbackPrefix.length));
  }
}
