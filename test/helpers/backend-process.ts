/**
 * One HTTP backend as its own process (for a backend inside a network
 * namespace, started with `ip netns exec`): listens on argv host and port,
 * answers "ok", prints one JSON line {"listening": {host, port}} when ready.
 * Killing the process is the backend dying.
 */
import { httpBackend } from './backends.ts';

const [host, port] = process.argv.slice(2);
if (!host || !port) {
  process.stderr.write('usage: backend-process.ts <host> <port>\n');
  process.exit(2);
}
const b = await httpBackend(host, Number(port));
process.stdout.write(`${JSON.stringify({ listening: { host: b.host, port: b.port } })}\n`);
