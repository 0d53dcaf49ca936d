/**
 * For one-shot commands (`plan`, `apply`): load the config, run one round
 * of probes to first verdicts, and return what failoverd would publish now.
 */
import { pino } from 'pino';
import { loadConfig } from '../config/load.ts';
import { Controller } from '../controller.ts';
import { toDesiredRecordSet } from '../published-answers.ts';
import type { LoadRoute53Config } from './route53-commands.ts';

export const loadDesiredForRoute53: LoadRoute53Config = async (file) => {
  const { config } = await loadConfig(file);
  const controller = new Controller(config, { logger: pino({ level: 'warn' }, pino.destination(2)) });
  try {
    await controller.start();
    return { route53: config.route53, desired: controller.decisions().map(toDesiredRecordSet) };
  } finally {
    await controller.stop();
  }
};
