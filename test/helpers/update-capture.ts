/**
 * What `nsupdate` (BIND) or `knsupdate` (Knot) sends for an update script:
 * the test listens on a loopback UDP port, the tool sends its UPDATE there,
 * and the first datagram is kept; the tool is then ended (no answer is given).
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';

export type UpdateTool = 'nsupdate' | 'knsupdate';

/**
 * Runs `tool -y alg:name:secret` with `lines` (after a `server` line for the
 * port) and resolves with the first message it sends; rejects after `ms`.
 */
export async function captureUpdate(tool: UpdateTool, key: { algorithm: string; name: string; secret: string }, lines: string[], ms = 10_000): Promise<Buffer> {
  const sock = createSocket('udp4');
  const port = await new Promise<number>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => resolve(sock.address().port));
  });
  const child = spawn(tool, ['-y', `${key.algorithm}:${key.name}:${key.secret}`], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdin!.end([`server 127.0.0.1 ${port}`, ...lines, 'send', ''].join('\n'));
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${tool} sent nothing within ${ms} ms; stderr: ${stderr}`)), ms);
      sock.once('message', (msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${tool} exited (${code}) before sending; stderr: ${stderr}`));
      });
    });
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    }
    sock.close();
  }
}
