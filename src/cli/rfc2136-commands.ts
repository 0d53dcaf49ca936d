/**
 * `failoverd rfc2136 plan --config F [--json] [--force]` and
 * `failoverd rfc2136 apply --config F [--json] [--force]` for the RFC 2136
 * sink: one round of probes decides what failoverd would answer now; each
 * server (each zone on each server it writes to) is read back and planned
 * against; apply sends one UPDATE per server and zone. The guard (30% of
 * 10 or more owned record sets, rfc2136.guard) refuses a plan that changes
 * or deletes too much unless --force. Exit codes: 0 done (or nothing to
 * do), 1 a server could not be read or refused the UPDATE, or the guard
 * refused a plan, 2 bad config.
 */
import type { Command } from 'commander';
import { pino } from 'pino';
import type { Rfc2136Config } from '../config/rfc2136.ts';
import { FailoverdError } from '../errors.ts';
import { createLogger } from '../log.ts';
import type { DesiredRecordSet } from '../rfc2136/model.ts';
import { formatPlan, planIsEmpty } from '../rfc2136/plan.ts';
import { Rfc2136Sink, type TargetOutcome } from '../rfc2136/sink.ts';
import { Rfc2136Error } from '../rfc2136/errors.ts';
import { reportProblems } from './problems.ts';
import { systemClock } from '../clock.ts';

export type LoadRfc2136Config = (file: string) => Promise<{ rfc2136?: Rfc2136Config; desired: DesiredRecordSet[] }>;

interface Options {
  config: string;
  json?: boolean;
  force?: boolean;
}

export function registerRfc2136Commands(program: Command, loadConfig: LoadRfc2136Config): void {
  const group = program.command('rfc2136').description('the RFC 2136 sink: plan or apply UPDATEs to the authoritative servers of rfc2136: (BIND, Knot, PowerDNS)');
  const out = (s: string) => void process.stdout.write(s);

  const run = async (o: Options, apply: boolean) => {
    let sink: Rfc2136Sink | undefined;
    try {
      const cfg = await loadConfig(o.config);
      if (!cfg.rfc2136) throw new FailoverdError('CONFIG_INVALID', `${o.config}: no rfc2136 section: nothing to plan`);
      // stdout carries the plan; warnings and errors go to stderr.
      sink = new Rfc2136Sink({ config: cfg.rfc2136, clock: systemClock, logger: createLogger('warn', pino.destination({ fd: 2, sync: true })) });
      const opts = { desired: cfg.desired, force: !!o.force };
      const outcomes = apply ? await sink.applyOnce(opts) : await sink.plan(opts);
      out(o.json ? JSON.stringify(outcomes.map(toJson), null, 2) + '\n' : outcomes.map((x) => formatOutcome(x, apply)).join('\n') + '\n');
      if (outcomes.some((x) => x.error !== undefined || x.plan?.guard.blocked)) process.exitCode = 1;
    } catch (err) {
      const listed = reportProblems(err);
      if (listed !== undefined) process.exitCode = listed;
      else {
        process.stderr.write(`failoverd: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = err instanceof FailoverdError && err.code === 'CONFIG_INVALID' ? 2 : 1;
      }
    } finally {
      await sink?.stop();
    }
  };

  group
    .command('plan')
    .description('read each server back and show the UPDATE failoverd would send (changes nothing)')
    .requiredOption('-c, --config <file>', 'config file')
    .option('--json', 'print the plans as JSON')
    .option('--force', 'show the plan as if the safety guard were overridden')
    .action((o: Options) => run(o, false));

  group
    .command('apply')
    .description('send each server its plan as one UPDATE (signed with TSIG)')
    .requiredOption('-c, --config <file>', 'config file')
    .option('--force', 'apply even when a plan changes or deletes more than the guard allows')
    .option('--json', 'print plans and results as JSON')
    .action((o: Options) => run(o, true));
}

function errorJson(err: unknown): { code: string; rcode?: string; message: string } {
  return {
    code: err instanceof FailoverdError ? err.code : 'INTERNAL',
    ...(err instanceof Rfc2136Error ? { rcode: err.rcode } : {}),
    message: err instanceof Error ? err.message : String(err),
  };
}

function toJson(x: TargetOutcome): object {
  return { zone: x.zone, server: x.target, plan: x.plan ?? null, sent: x.sent, error: x.error === undefined ? null : errorJson(x.error) };
}

function formatOutcome(x: TargetOutcome, apply: boolean): string {
  const lines = [x.plan ? formatPlan(x.plan) : `RFC 2136 plan for ${x.zone} on ${x.target}: not read`];
  if (x.error !== undefined) {
    const e = errorJson(x.error);
    lines.push(`  FAILED ${e.code}${e.rcode ? ` (${e.rcode})` : ''}: ${e.message}`);
  } else if (apply && x.plan) lines.push(planIsEmpty(x.plan) ? '  nothing sent' : '  applied: the server answered NOERROR');
  return lines.join('\n');
}
