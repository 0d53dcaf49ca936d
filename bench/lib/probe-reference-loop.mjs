/**
 * The probe reference loop: the floor a prober can reach with Node. For each
 * target, once per interval (phases spread evenly), a bare `net.connect`, a
 * fixed HTTP/1.1 GET with `Connection: close` written on connect, every byte
 * read until the server closes (or, for tcp, close at once on connect). No
 * parsing, no timers beyond one per target, no bookkeeping. The probe-cpu
 * bench runs it on the same core, against the same farm, at the same rate,
 * and compares failoverd's CPU with its CPU. Plain JS: plain node runs it,
 * as the compiled daemon runs.
 *
 * Usage: node bench/lib/probe-reference-loop.mjs <http|tcp> <targets> <addresses> <port,port,...> <intervalMs>
 * Prints "ready 0", then "done <probes completed so far>" every second.
 */
import net from 'node:net';

const [kind, targetsArg, addrArg, portArg, intervalArg] = process.argv.slice(2);
const targets = Number(targetsArg);
const addresses = Number(addrArg);
const ports = portArg.split(',').map(Number);
const intervalMs = Number(intervalArg);
let done = 0;

function probe(host, port) {
  const s = net.connect({ host, port });
  s.on('connect', () => {
    if (kind === 'tcp') {
      done++;
      s.destroy();
      return;
    }
    s.write(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: reference\r\nConnection: close\r\n\r\n`);
  });
  s.on('data', () => undefined);
  s.on('end', () => {
    done++;
    s.destroy();
  });
  s.on('error', () => s.destroy());
}

for (let t = 0; t < targets; t++) {
  const host = `127.0.0.${(t % addresses) + 1}`;
  const port = ports[Math.floor(t / addresses)];
  setTimeout(() => {
    probe(host, port);
    setInterval(() => probe(host, port), intervalMs);
  }, (t * intervalMs) / targets);
}
process.stdout.write('ready 0\n');
setInterval(() => process.stdout.write(`done ${done}\n`), 1000);
process.on('SIGTERM', () => process.exit(0));
