/**
 * Route 53's real error and change formats, served by a small HTTP server on
 * loopback and reached through the SDK's real HTTP path (endpoint set, not a
 * stubbed client): Throttling, PriorRequestNotComplete, 5xx and cut
 * connections are retried; a rejected batch is split so only the bad change
 * is reported; a PENDING change is polled until INSYNC.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { applyPlan } from '../src/route53/apply.ts';
import { guardPort, type RequestStats } from '../src/route53/guarded-port.ts';
import { computePlan } from '../src/route53/plan.ts';
import { TokenBucket } from '../src/route53/rate-limit.ts';
import type { Route53Port } from '../src/route53/port.ts';
import { SdkRoute53Port } from '../src/route53/sdk-port.ts';
import type { DesiredRecordSet } from '../src/route53/desired.ts';
import { Route53Error } from '../src/route53/errors.ts';
import { systemClock } from '../src/clock.ts';
import { FailoverdError } from '../src/errors.ts';

process.env.AWS_EC2_METADATA_DISABLED = 'true';

const NS = 'https://route53.amazonaws.com/doc/2013-04-01/';
const ZONE_ID = 'ZFAKE123';

function errorXml(type: 'Sender' | 'Receiver', code: string, message: string): string {
  return `<?xml version="1.0"?>\n<ErrorResponse xmlns="${NS}"><Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ErrorResponse>`;
}

function changeInfoXml(root: 'ChangeResourceRecordSetsResponse' | 'GetChangeResponse', id: string, status: 'PENDING' | 'INSYNC'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${NS}"><ChangeInfo><Id>/change/${id}</Id><Status>${status}</Status><SubmittedAt>2024-05-01T12:00:00.000Z</SubmittedAt><Comment>failoverd</Comment></ChangeInfo></${root}>`;
}

type Reply = { status: number; body: string } | 'cut';

interface FakeRoute53 {
  endpoint: string;
  requests: { method: string; url: string; body: string }[];
  /** Scripted replies consumed before the default handler answers. */
  script: Reply[];
  pendingPolls: number;
  close(): Promise<void>;
}

async function fakeRoute53(t: import('node:test').TestContext): Promise<FakeRoute53> {
  let changeSeq = 0;
  const polls = new Map<string, number>();
  const state: FakeRoute53 = { endpoint: '', requests: [], script: [], pendingPolls: 0, close: async () => undefined };
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString();
    state.requests.push({ method: req.method ?? '', url: req.url ?? '', body });
    const send = (status: number, xml: string) => {
      res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': 'req-1' });
      res.end(xml);
    };
    const next = state.script.shift();
    if (next === 'cut') {
      req.socket.destroy();
      return;
    }
    if (next) return send(next.status, next.body);
    const url = req.url ?? '';
    if (req.method === 'POST' && url.startsWith(`/2013-04-01/hostedzone/${ZONE_ID}/rrset`)) {
      if (body.includes('<Name>bad.example.test.</Name>')) {
        return send(
          400,
          errorXml('Sender', 'InvalidChangeBatch', "[RRSet with DNS name bad.example.test. is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists in zone example.test.]"),
        );
      }
      const id = `C${++changeSeq}EXAMPLE`;
      polls.set(id, 0);
      return send(200, changeInfoXml('ChangeResourceRecordSetsResponse', id, 'PENDING'));
    }
    const m = /^\/2013-04-01\/change\/([A-Z0-9]+)$/.exec(url);
    if (req.method === 'GET' && m) {
      const n = (polls.get(m[1]!) ?? 0) + 1;
      polls.set(m[1]!, n);
      return send(200, changeInfoXml('GetChangeResponse', m[1]!, n > state.pendingPolls ? 'INSYNC' : 'PENDING'));
    }
    send(404, errorXml('Sender', 'NoSuchResource', `no route for ${req.method} ${url}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  state.close = () => new Promise<void>((r) => server.close(() => r()));
  t.after(async () => {
    server.closeAllConnections();
    await state.close();
  });
  return state;
}

function desired(name: string, address: string): DesiredRecordSet {
  return { name, type: 'A', ttl: 60, values: [address], policy: 'failover', targets: [{ id: 'p', address }, { id: 's', address: '10.9.9.9' }], primaryHealthy: true };
}

function planFor(names: string[]) {
  return computePlan({
    zoneId: ZONE_ID,
    zone: 'example.test',
    ownerId: 'owner-1',
    mode: 'records',
    desired: names.map((n, i) => desired(n, `10.0.0.${i + 1}`)),
    current: [],
    healthChecks: [],
    scope: 'full',
  });
}

function portFor(fake: FakeRoute53, stats?: RequestStats, retry = {}) {
  const sdk = new SdkRoute53Port({ region: 'us-east-1', endpoint: fake.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, requestTimeoutMs: 3000 });
  return { sdk, port: guardPort(sdk, new TokenBucket(100), { clock: systemClock, baseMs: 10, maxDelayMs: 50, maxAttempts: 6, ...retry }, stats) };
}

test('Throttling, PriorRequestNotComplete, 500, 503 and a cut connection are retried until the change is accepted', async (t) => {
  const fake = await fakeRoute53(t);
  fake.script.push(
    { status: 400, body: errorXml('Sender', 'Throttling', 'Rate exceeded') },
    { status: 400, body: errorXml('Sender', 'PriorRequestNotComplete', 'The request was rejected because Route 53 was still processing a prior request.') },
    { status: 500, body: errorXml('Receiver', 'InternalFailure', 'An internal error occurred.') },
    'cut',
    { status: 503, body: '<html><body>Service Unavailable</body></html>' },
  );
  const stats: RequestStats = { requests: 0, retries: 0 };
  const { sdk, port } = portFor(fake, stats);
  t.after(() => sdk.destroy());
  const result = await applyPlan(planFor(['www.example.test']), port, { clock: systemClock, waitInsync: false });
  assert.equal(result.submitted.length, 1);
  assert.equal(result.rejected.length, 0);
  assert.equal(stats.retries, 5);
  assert.equal(fake.requests.filter((r) => r.url.includes('/rrset')).length, 6);
  // Every retry sent the same batch.
  const bodies = new Set(fake.requests.filter((r) => r.url.includes('/rrset')).map((r) => r.body));
  assert.equal(bodies.size, 1);
});

test('retries are bounded: persistent Throttling ends as ROUTE53_THROTTLED after maxAttempts', async (t) => {
  const fake = await fakeRoute53(t);
  for (let i = 0; i < 10; i++) fake.script.push({ status: 400, body: errorXml('Sender', 'Throttling', 'Rate exceeded') });
  const { sdk, port } = portFor(fake, undefined, { maxAttempts: 3 });
  t.after(() => sdk.destroy());
  await assert.rejects(applyPlan(planFor(["www.example.test"]), port, { clock: systemClock }), (err: unknown) => {
    assert.ok(err instanceof Route53Error);
    assert.equal(err.code, 'ROUTE53_THROTTLED');
    assert.equal(err.awsCode, 'Throttling');
    assert.equal(err.attempts, 3);
    return true;
  });
  assert.equal(fake.requests.length, 3);
});

test('a rejected batch is split: the good record sets land, only the bad one is reported with Route 53 message', async (t) => {
  const fake = await fakeRoute53(t);
  const { sdk, port } = portFor(fake);
  t.after(() => sdk.destroy());
  const plan = planFor(['a.example.test', 'bad.example.test', 'c.example.test']);
  const result = await applyPlan(plan, port, { clock: systemClock });
  const rrsetPosts = fake.requests.filter((r) => r.url.includes('/rrset'));
  assert.equal(rrsetPosts.length, 4, 'one batch, then each of the three groups alone');
  assert.ok(rrsetPosts[0]!.body.includes('a.example.test.') && rrsetPosts[0]!.body.includes('c.example.test.'));
  assert.equal(result.submitted.length, 2);
  assert.deepEqual(result.submitted.flatMap((s) => s.groups).sort(), ['a.example.test', 'c.example.test']);
  assert.equal(result.rejected.length, 1);
  const bad = result.rejected[0]!;
  assert.equal(bad.group, 'bad.example.test');
  assert.equal(bad.awsCode, 'InvalidChangeBatch');
  assert.match(bad.message, /conflicting RRSet of type CNAME/);
  assert.deepEqual(bad.changes.map((c) => `${c.action} ${c.name} ${c.type}`), ['CREATE bad.example.test A', 'CREATE _failoverd.bad.example.test TXT']);
});

test('a PENDING change is polled with GetChange until INSYNC and the time is recorded', async (t) => {
  const fake = await fakeRoute53(t);
  fake.pendingPolls = 2;
  const { sdk, port } = portFor(fake);
  t.after(() => sdk.destroy());
  const result = await applyPlan(planFor(['www.example.test']), port, { clock: systemClock, waitInsync: true, pollMs: 20, maxPollMs: 40, insyncTimeoutMs: 5000 });
  const s = result.submitted[0]!;
  assert.equal(s.status, 'INSYNC');
  assert.ok(s.insyncMs !== undefined && s.insyncMs >= 40, `insyncMs ${s.insyncMs}`);
  const gets = fake.requests.filter((r) => r.method === 'GET' && r.url.startsWith('/2013-04-01/change/'));
  assert.equal(gets.length, 3, 'PENDING, PENDING, INSYNC');
});

test('INSYNC polling is bounded: a change that stays PENDING ends as TIMEOUT', async (t) => {
  const fake = await fakeRoute53(t);
  fake.pendingPolls = 1_000_000;
  const { sdk, port } = portFor(fake);
  t.after(() => sdk.destroy());
  const result = await applyPlan(planFor(['www.example.test']), port, { clock: systemClock, waitInsync: true, pollMs: 20, maxPollMs: 40, insyncTimeoutMs: 200 });
  assert.equal(result.submitted[0]!.status, 'TIMEOUT');
});

test('maxRequestsPerSecond holds at a throttling endpoint: retries and concurrent calls share the one bucket, never more than 4 in a second', async (t) => {
  const fake = await fakeRoute53(t);
  const sdk = new SdkRoute53Port({ region: 'us-east-1', endpoint: fake.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, requestTimeoutMs: 3000 });
  t.after(() => sdk.destroy());
  // The SDK's first request takes it 100 ms and more to set up: done before, so the endpoint sees the requests as paced.
  await sdk.getChange('C0WARMUP');
  // Throttling for the next 12 requests (Route 53's account-wide limit hit by another tool), then INSYNC.
  for (let i = 0; i < 12; i++) fake.script.push({ status: 400, body: errorXml('Sender', 'Throttling', 'Rate exceeded') });
  const arrivals: number[] = [];
  const counted = fake.requests.push.bind(fake.requests);
  fake.requests.push = (...r) => {
    arrivals.push(Date.now());
    return counted(...r);
  };
  // As the sink builds it: one bucket at maxRequestsPerSecond 4, short backoffs so that the bucket, not the backoff, paces the retries.
  const sent: number[] = [];
  const timed = { getChange: (id: string) => (sent.push(Date.now()), sdk.getChange(id)) } as unknown as Route53Port;
  const port = guardPort(timed, new TokenBucket(4), { clock: systemClock, baseMs: 10, maxDelayMs: 50, maxAttempts: 10 });
  await Promise.all(Array.from({ length: 6 }, (_, i) => port.getChange(`C${i}EXAMPLE`)));
  assert.equal(arrivals.length, 18, '12 throttled, then one success per call');
  // Every request that reached the endpoint went through the bucket: the SDK retries nothing by itself (maxAttempts 1), so its retries cannot bypass the bucket.
  assert.equal(sent.length, arrivals.length, `requests through the bucket: ${sent.length}; at the endpoint: ${arrivals.length}`);
  // The most requests within `ms` of each other, wherever the window starts.
  const most = (times: number[], ms: number) => Math.max(...times.map((a) => times.filter((b) => b >= a && b < a + ms).length));
  assert.ok(most(sent, 1000) <= 4, `requests sent: at most ${most(sent, 1000)} in one second (${sent.map((x) => x - sent[0]!).join(', ')} ms)`);
  // At the endpoint the same, give or take the time each request spends in the SDK and on loopback (seen up to 160 ms apart on a busy machine: 250 ms allowed).
  const perSecond = new Map<number, number>();
  for (const at of arrivals) perSecond.set(Math.floor(at / 1000), (perSecond.get(Math.floor(at / 1000)) ?? 0) + 1);
  assert.ok(most(arrivals, 750) <= 4, `requests received per second: ${[...perSecond.values()].join(', ')}; at most ${most(arrivals, 750)} within 750 ms (${arrivals.map((x) => x - arrivals[0]!).join(", ")} ms; sent ${sent.map((x) => x - sent[0]!).join(", ")})`);
});

test('beforeSend runs after the SDK signed the request, right before it leaves: a lead lost while signing sends nothing', async (t) => {
  const fake = await fakeRoute53(t);
  // The lead is lost during an await of the SDK's own (credentials, asked for by the signer), as when a leader
  // paused there resumes past its lease: a check before client.send() passed, the one in beforeSend must not.
  let lead = true;
  const refused: string[] = [];
  const sdk = new SdkRoute53Port({
    region: 'us-east-1',
    endpoint: fake.endpoint,
    credentials: async () => {
      lead = false;
      return { accessKeyId: 'test', secretAccessKey: 'test' };
    },
    beforeSend: (op) => {
      if (!lead) {
        refused.push(op);
        throw new FailoverdError('CLUSTER_NOT_LEADER', `${op} not sent`);
      }
    },
  });
  t.after(() => sdk.destroy());
  await assert.rejects(sdk.getChange('C1EXAMPLE'), (err: unknown) => err instanceof FailoverdError && err.code === 'CLUSTER_NOT_LEADER');
  assert.deepEqual(refused, ['GetChangeCommand']);
  assert.equal(fake.requests.length, 0, 'nothing reached Route 53');
  // While the lead is held, the same request goes out and is answered.
  lead = true;
  const sdk2 = new SdkRoute53Port({ region: 'us-east-1', endpoint: fake.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, beforeSend: () => undefined });
  t.after(() => sdk2.destroy());
  assert.equal((await sdk2.getChange('C1EXAMPLE')).status, 'INSYNC');
  assert.equal(fake.requests.length, 1);
});
