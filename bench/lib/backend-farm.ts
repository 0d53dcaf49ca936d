/**
 * Many loopback backends in one process, for the probing and memory
 * benchmarks: an HTTP server answering "ok" (or a bare TCP listener) on
 * every 127.0.0.<a> for a = 1..addresses and every given port. Prints
 * "ready" once all listen, then "count <requests so far>" every second.
 *
 * Usage: node --import tsx bench/lib/backend-farm.ts <http|tcp> <addresses> <port,port,...>
 */
import http from 'node:http';
import net from 'node:net';

const [kind, addrArg, portArg] = process.argv.slice(2);
const addresses = Number(addrArg);
const ports = portArg!.split(',').map(Number);
let requests = 0;
const servers: net.Server[] = [];

const handler: http.RequestListener = (_req, res) => {
  requests++;
  res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
};

for (let a = 1; a <= addresses; a++) {
  for (const port of ports) {
    const server =
      kind === 'http'
        ? http.createServer({ keepAliveTimeout: 60_000 }, handler)
        : net.createServer((s) => {
            requests++;
            s.on('error', () => s.destroy());
          });
    // Idle liveness-watch connections stay open as long as the prober wants.
    if (server instanceof http.Server) server.requestTimeout = 0;
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host: `127.0.0.${a}`, backlog: 1024 }, () => resolve());
    });
  }
}
process.stdout.write('ready\n');
setInterval(() => process.stdout.write(`count ${requests}\n`), 1000);
process.on('SIGTERM', () => process.exit(0));
