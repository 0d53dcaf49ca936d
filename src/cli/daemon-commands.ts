/** `failoverd run` and `failoverd validate`. */
import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { Daemon } from '../daemon.ts';
import { createLogger } from '../log.ts';
import { reportProblems } from './problems.ts';
import { systemClock } from '../clock.ts';

export function registerDaemonCommands(program: Command): void {
  program
    .command('run')
    .description('run the daemon in the foreground: probe targets, serve DNS')
    .requiredOption('-c, --config <file>', 'config file (failoverd.yaml)')
    .action(async (opts: { config: string }) => {
      // SIGHUP before the daemon is up: remembered (as bin/failoverd.js does
      // before this module loads) and applied as one reload once it is.
      let hupBeforeStart = 0;
      let up: { daemon: Daemon; logger: ReturnType<typeof createLogger> } | undefined;
      let stopping = false;
      process.on('SIGHUP', () => {
        if (stopping) return;
        if (!up) {
          hupBeforeStart += 1;
          return;
        }
        up.logger.info({ signal: 'SIGHUP' }, 'reloading config');
        void up.daemon.reload();
      });
      // Only now that ours listens may the early handler go: removing the
      // last SIGHUP listener stops libuv's signal watcher, and a signal that
      // arrived but was not dispatched yet (module loading blocks the event
      // loop while loader hooks run on their own thread, Node 22 and 24) is
      // dropped with it.
      hupBeforeStart += takeEarlySighups();
      let loaded;
      try {
        loaded = await loadConfig(opts.config);
      } catch (err) {
        process.exitCode = reportProblems(err) ?? fail(err);
        return;
      }
      const logger = createLogger(loaded.config.log.level);
      const daemon = new Daemon(loaded, { logger, clock: systemClock });
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'stopping');
        systemClock.setTimer(5000, () => process.exit(1));
        daemon.stop().then(
          () => {
            logger.info('stopped');
            logger.flush();
            process.exitCode = 0;
            systemClock.defer(() => process.exit(0));
          },
          (err) => {
            logger.error({ err }, 'error while stopping');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      try {
        await daemon.start();
        up = { daemon, logger };
        if (hupBeforeStart > 0 && !stopping) {
          hupBeforeStart = 0;
          logger.info({ signal: 'SIGHUP', beforeStart: true }, 'reloading config');
          void daemon.reload();
        }
      } catch (err) {
        logger.fatal({ err, code: (err as { code?: string }).code }, 'cannot start');
        logger.flush();
        await daemon.stop();
        process.exitCode = 1;
      }
    });

  program
    .command('validate')
    .description('check a config and its zone files; exit 0, or 2 with every problem listed')
    .requiredOption('-c, --config <file>', 'config file (failoverd.yaml)')
    .action(async (opts: { config: string }) => {
      try {
        const { config, zones } = await loadConfig(opts.config);
        const records = zones.reduce((n, z) => n + z.records.length, 0);
        process.stdout.write(`${opts.config}: OK (${zones.length} zone${zones.length === 1 ? '' : 's'}, ${records} static records, ${config.records.length} record sets, ${Object.keys(config.checks).length} checks)\n`);
      } catch (err) {
        process.exitCode = reportProblems(err) ?? fail(err);
      }
    });
}

/** SIGHUPs that bin/failoverd.js caught before this module was loaded; its handler goes, ours takes over. */
function takeEarlySighups(): number {
  const early = (globalThis as Record<symbol, { hup: number } | undefined>)[Symbol.for('failoverd.earlySignals')];
  for (const l of process.listeners('SIGHUP')) if (l.name === 'earlySighup') process.off('SIGHUP', l);
  return early?.hup ?? 0;
}

function fail(err: unknown): number {
  process.stderr.write(`failoverd: ${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}
