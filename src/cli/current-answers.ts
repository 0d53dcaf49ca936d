/**
 * For one-shot commands (`plan`, `apply`, `rfc2136 plan|apply`): load the config, run one round
 * of probes to first verdicts, and return what failoverd would publish now.
 */
import { pino } from 'pino';
import { loadConfig } from '../config/load.ts';
import { Controller } from '../controller.ts';
import { toDesiredRecordSets, toUpdateRecordSet } from '../published-answers.ts';
import type { LoadRfc2136Config } from './rfc2136-commands.ts';
import type { LoadRoute53Config } from './route53-commands.ts';
import { systemClock } from '../clock.ts';

async function currentDecisions(file: string) {
  const { config } = await loadConfig(file);
  const controller = new Controller(config, { clock: systemClock, logger: pino({ level: 'warn' }, pino.destination(2)) });
  try {
    await controller.start();
    return { config, decisions: controller.decisions() };
  } finally {
    await controller.stop();
  }
}

export const loadDesiredForRoute53: LoadRoute53Config = async (file) => {
  const { config, decisions } = await currentDecisions(file);
  return { route53: config.route53, desired: toDesiredRecordSets(decisions, config.records) };
};

export const loadDesiredForRfc2136: LoadRfc2136Config = async (file) => {
  const { config, decisions } = await currentDecisions(file);
  return { rfc2136: config.rfc2136, desired: decisions.map(toUpdateRecordSet) };
};
