/**
 * No secrets in logs: the daemon's logger (createLogger) writes every URL
 * without its userinfo, in messages and in fields (arrays and nested
 * objects included), as the cluster's etcd endpoints and webhook URLs are
 * logged; read back from the log stream as objects.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger, withoutUserinfo } from '../src/log.ts';

/** A stream that keeps what the logger writes (the daemon's logger with its hooks, which test/helpers/log-capture.ts's plain pino has not). */
function capture(): { text: () => string; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return {
    stream,
    text: () => chunks.join(''),
  };
}

test('withoutUserinfo: user:password@ and user@ removed from every URL in a text; URLs without userinfo and e-mail addresses kept', () => {
  const table: Array<[string, string]> = [
    ['http://root:s3cret@127.0.0.1:2379', 'http://127.0.0.1:2379'],
    ['https://u:p%40ss@etcd-1.example.test:2379/v3', 'https://etcd-1.example.test:2379/v3'],
    ['etcd at http://root@10.0.0.1:2379 and https://a:b@10.0.0.2:2379 failed', 'etcd at http://10.0.0.1:2379 and https://10.0.0.2:2379 failed'],
    ['http://127.0.0.1:2379', 'http://127.0.0.1:2379'],
    ['mail ops@example.test', 'mail ops@example.test'],
    ['http://10.0.0.1/path?who=a@b', 'http://10.0.0.1/path?who=a@b'],
  ];
  for (const [input, want] of table) assert.equal(withoutUserinfo(input), want, input);
  // Linear: a long word with an @ (a token, a base64 blob) costs one pass, not one per position (that took minutes at 200,000 characters).
  const long = 'a'.repeat(200_000) + '@' + ' http://u:p@10.0.0.1/';
  const t0 = performance.now();
  assert.equal(withoutUserinfo(long), 'a'.repeat(200_000) + '@ http://10.0.0.1/');
  assert.ok(performance.now() - t0 < 2000, `200,000 characters in ${Math.round(performance.now() - t0)} ms`);
});

test('createLogger: a logged URL with user:password@ (message, field, array, nested) is written without it', async () => {
  const out = capture();
  const log = createLogger('info', out.stream).child({ component: 'cluster' });
  log.warn({ endpoints: ['http://root:s3cret-1@127.0.0.1:2379', 'http://127.0.0.2:2379'], cluster: { etcd: { endpoints: ['https://u:s3cret-2@10.0.0.3:2379'] } }, attempt: 0 }, 'etcd does not answer: trying again');
  log.info('connecting to http://admin:s3cret-3@127.0.0.1:2379');
  log.error({ err: new Error('boom'), url: 'https://hook:s3cret-4@hooks.example.test/x' }, 'webhook failed');
  await new Promise((r) => setImmediate(r));
  const text = out.text();
  const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
  assert.equal(lines.length, 3);
  for (const secret of ['s3cret-1', 's3cret-2', 's3cret-3', 's3cret-4', 'root', 'admin:']) assert.ok(!text.includes(secret), `${secret} not in: ${text}`);
  assert.deepEqual(lines[0]!.endpoints, ['http://127.0.0.1:2379', 'http://127.0.0.2:2379']);
  assert.deepEqual(lines[0]!.cluster.etcd.endpoints, ['https://10.0.0.3:2379']);
  assert.equal(lines[0]!.attempt, 0);
  assert.equal(lines[0]!.component, 'cluster');
  assert.equal(lines[1]!.msg, 'connecting to http://127.0.0.1:2379');
  assert.equal(lines[2]!.url, 'https://hooks.example.test/x');
  assert.equal(lines[2]!.err.message, 'boom', 'errors are still serialized as errors');
  assert.match(String(lines[2]!.err.stack), /Error: boom/);
});
