/**
 * Runs the failoverd daemon (the same Daemon class `failoverd run` runs) from
 * a config file, for benchmarks: prints "ready <port>" once it serves DNS,
 * prints its memory use on SIGUSR2, stops on SIGTERM. Independent of the CLI
 * so a bench measures the daemon only. Plain JS so it can run the compiled
 * daemon (dist/, as deployed) without the TypeScript loader.
 *
 * Usage: node bench/lib/daemon-entry.mjs <dist dir> <config>
 *        node --import tsx bench/lib/daemon-entry.mjs src <config>
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { setFlagsFromString } from 'node:v8';

// As bin/failoverd.js does.
for (const flag of (process.env.FAILOVERD_V8_FLAGS ?? '').split(/\s+/).filter(Boolean)) setFlagsFromString(flag);
const [root, configFile] = process.argv.slice(2);
const ext = root === 'src' ? '.ts' : '.js';
const base = pathToFileURL(resolve(root === 'src' ? new URL('../../src', import.meta.url).pathname : root)).href;
const { loadConfig } = await import(`${base}/config/load${ext}`);
const { Daemon } = await import(`${base}/daemon${ext}`);
const { createLogger } = await import(`${base}/log${ext}`);
const { systemClock } = await import(`${base}/clock${ext}`);

const loaded = await loadConfig(configFile);
const logger = createLogger(loaded.config.log.level);
const daemon = new Daemon(loaded, { logger, clock: systemClock });
const bound = await daemon.start();
process.stderr.write(`ready ${bound[0].port}\n`);
process.on('SIGUSR2', () => {
  // Live heap: after a full collection when the bench exposed gc (--expose-gc).
  globalThis.gc?.();
  const m = process.memoryUsage();
  process.stderr.write(`memory ${JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers })}\n`);
});
process.on('SIGTERM', () => {
  void daemon.stop().then(() => process.exit(0));
});
