/**
 * `failoverd plan --config F [--json]` and `failoverd apply --config F [--force]`
 * for the Route 53 sink. Exit codes: 0 done (or nothing to do), 1 Route 53
 * rejected a change or the guard refused the plan, 2 bad config.
 */
import type { Command } from 'commander';
import { pino } from 'pino';
import { reportProblems } from './problems.ts';
import { FailoverdError } from '../errors.ts';
import { createLogger, type Logger } from '../log.ts';
import type { Route53Config } from '../config/route53.ts';
import type { DesiredRecordSet } from '../route53/desired.ts';
import { formatPlan, planIsEmpty } from '../route53/plan.ts';
import type { Route53Port } from '../route53/port.ts';
import { Route53Sink } from '../route53/sink.ts';
import { systemClock } from '../clock.ts';

export interface Route53CliDeps {
  /** Output (default: process.stdout). */
  out?: (s: string) => void;
  logger?: Logger;
  /** For tests: a raw port, or credentials for an emulator. */
  port?: Route53Port;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export type LoadRoute53Config = (file: string) => Promise<{ route53?: Route53Config; desired: DesiredRecordSet[] }>;

export function registerRoute53Commands(program: Command, loadConfig: LoadRoute53Config, deps: Route53CliDeps = {}): void {
  const out = deps.out ?? ((s: string) => void process.stdout.write(s));
  const makeSink = async (file: string) => {
    const cfg = await loadConfig(file);
    if (!cfg.route53) throw new FailoverdError('CONFIG_INVALID', `${file}: no route53 section: nothing to plan`);
    const sink = new Route53Sink({
      config: cfg.route53,
      clock: systemClock,
      logger: deps.logger ?? createLogger('warn', pino.destination({ fd: 2, sync: true })), // stdout carries the plan
      ...(deps.port ? { port: deps.port } : {}),
      ...(deps.credentials ? { credentials: deps.credentials } : {}),
    });
    return { sink, desired: cfg.desired };
  };
  const fail = (err: unknown) => {
    const listed = reportProblems(err);
    if (listed !== undefined) {
      process.exitCode = listed;
      return;
    }
    const code = err instanceof FailoverdError ? err.code : 'INTERNAL';
    process.stderr.write(`failoverd: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = code === 'CONFIG_INVALID' ? 2 : 1;
  };

  program
    .command('plan')
    .description('show what the Route 53 sink would change (changes nothing)')
    .requiredOption('-c, --config <file>', 'config file')
    .option('--json', 'print the plan as JSON')
    .option('--force', 'show the plan as if the safety guard were overridden')
    .action(async (o: { config: string; json?: boolean; force?: boolean }) => {
      let sink: Route53Sink | undefined;
      try {
        const s = await makeSink(o.config);
        sink = s.sink;
        const plan = await sink.plan({ desired: s.desired, force: !!o.force });
        out(o.json ? JSON.stringify(plan, null, 2) + '\n' : formatPlan(plan) + '\n');
        if (plan.guard.blocked) process.exitCode = 1;
      } catch (err) {
        fail(err);
      } finally {
        await sink?.stop();
      }
    });

  program
    .command('apply')
    .description('apply the Route 53 plan and wait until Route 53 reports INSYNC')
    .requiredOption('-c, --config <file>', 'config file')
    .option('--force', 'apply even when the plan changes more than the guard allows')
    .option('--json', 'print plan and result as JSON')
    .action(async (o: { config: string; force?: boolean; json?: boolean }) => {
      let sink: Route53Sink | undefined;
      try {
        const s = await makeSink(o.config);
        sink = s.sink;
        const { plan, result } = await sink.applyOnce({ desired: s.desired, force: !!o.force });
        if (o.json) out(JSON.stringify({ plan, result }, null, 2) + '\n');
        else {
          out(formatPlan(plan) + '\n');
          if (!planIsEmpty(plan)) {
            for (const c of result.submitted) out(`  submitted ${c.changeId}: ${c.changes} changes, ${c.status}${c.insyncMs !== undefined ? ` after ${c.insyncMs} ms` : ''}\n`);
            for (const r of result.rejected) out(`  REJECTED ${r.group}: ${r.awsCode}: ${r.message}\n`);
            for (const h of result.healthChecks.failed) out(`  HEALTHCHECK FAILED ${h.ref}: ${h.message}\n`);
          }
        }
        if (result.rejected.length || result.healthChecks.failed.length) process.exitCode = 1;
      } catch (err) {
        fail(err);
      } finally {
        await sink?.stop();
      }
    });
}
