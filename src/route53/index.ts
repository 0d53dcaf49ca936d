/** The Route 53 sink's public surface for the daemon and the CLI. */
export { route53Schema, validateRoute53, type Route53Config, type Route53ConfigInput, type Route53Problem } from './config-schema.ts';
export { type DesiredRecordSet, type DesiredTarget, recordKey } from './desired.ts';
export { Route53Sink, type Route53SinkOptions, type Route53SinkStatus } from './sink.ts';
export { computePlan, formatPlan, planIsEmpty, type Plan, type PlanChange, type PlanHealthCheckChange, type Refusal } from './plan.ts';
export { applyPlan, type ApplyResult, type RejectedGroup } from './apply.ts';
export { registerRoute53Commands, type LoadRoute53Config, type Route53CliDeps } from './cli.ts';
export type { Route53Port } from './port.ts';
export { SdkRoute53Port } from './sdk-port.ts';
export { Route53Error } from './errors.ts';
