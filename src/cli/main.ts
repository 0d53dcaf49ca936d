/** The failoverd command line (commander). One file per command group. */
import { Command } from 'commander';
import { keepProcessAlive } from '../clock.ts';
import { FAILOVERD_VERSION } from '../probes/version.ts';
import { registerRoute53Commands } from './route53-commands.ts';
import { registerAdminCommands } from './admin-commands.ts';
import { loadDesiredForRfc2136, loadDesiredForRoute53 } from './current-answers.ts';
import { registerRfc2136Commands } from './rfc2136-commands.ts';
import { registerDaemonCommands } from './daemon-commands.ts';
import { registerDemoCommand } from './demo.ts';

// A reader that stops early (`failoverd status | head -3`) ends the output,
// not the process with an EPIPE stack trace: exit quietly, as `ls | head`
// does. (The daemon's log is pino's own stream on fd 1, not these.)
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? 0);
  });
}

const program = new Command();
program
  .name('failoverd')
  .description('DNS failover controller: health probes drive the answers of an embedded authoritative DNS server, Route 53, and BIND, Knot or PowerDNS by RFC 2136 UPDATE')
  .version(FAILOVERD_VERSION, '-V, --version')
  .showHelpAfterError()
  .addHelpText(
    'after',
    `
Examples:
  failoverd demo                                    (watch a failover on this machine)
  failoverd validate --config failoverd.yaml
  failoverd run --config failoverd.yaml
  failoverd plan --config failoverd.yaml --json     (Route 53: what would change)
  failoverd apply --config failoverd.yaml           (Route 53: apply it)
  failoverd rfc2136 plan --config failoverd.yaml    (RFC 2136: the UPDATE each server would get)
  failoverd rfc2136 apply --config failoverd.yaml   (RFC 2136: send it)
  failoverd status                                  (a running daemon, over its admin API)
  failoverd drain www.example.test/A/127.0.0.1 --reason "kernel update" --for 30m
  dig @127.0.0.1 -p 5353 www.example.test`,
  );
registerDaemonCommands(program);
registerAdminCommands(program);
registerDemoCommand(program);
registerRoute53Commands(program, loadDesiredForRoute53);
registerRfc2136Commands(program, loadDesiredForRfc2136);
// The Clock's timers do not hold the process (a daemon has its servers): a
// command waiting between two requests or probes (the Route 53 token
// bucket's spacing, a backoff, a probe interval before a verdict) would be
// ended by node with exit code 13 and no output. Held until its action is done.
const hold = keepProcessAlive();
try {
  await program.parseAsync(process.argv);
} finally {
  hold.release();
}
