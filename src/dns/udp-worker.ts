/**
 * A UDP worker process (dns.workers > 1): binds the listen addresses through
 * the cluster module, which shares the main process's UDP handle between
 * all workers (one port, the kernel hands each datagram to one of them),
 * and answers from the snapshots the main process pushes. Probes, health
 * and failover run once, in the main process; so do TCP and everything the
 * transfer handler takes (forwarded back there).
 */
import cluster from 'node:cluster';
import { systemClock, type TimerHandle } from '../clock.ts';
import { registerGeoDatabase, type GeoDatabase } from '../config/geo-database.ts';
import { createLogger } from '../log.ts';
import { LayeredNodes, type Snapshot } from '../records/snapshot.ts';
import type { EcsSettings } from './client-subnet.ts';
import { DnsServer } from './server.ts';
import { applyDelta } from './snapshot-delta.ts';
import type { FromWorker, ToWorker } from './worker-protocol.ts';

if (cluster.isPrimary) throw new Error('udp-worker.ts runs in a cluster worker only');

const send = (m: FromWorker): void => {
  if (process.connected) process.send!(m);
};

const logger = createLogger(process.env.FAILOVERD_LOG_LEVEL ?? 'info').child({ component: 'dns', worker: cluster.worker?.id });
const byRcode: Record<number, number> = {};
let pending = 0;
const server = new DnsServer({
  clock: systemClock,
  listen: [],
  logger,
  ...(process.env.FAILOVERD_DNS_ECS ? { ecs: JSON.parse(process.env.FAILOVERD_DNS_ECS) as EcsSettings } : {}),
  onReply: (rcode) => {
    byRcode[rcode] = (byRcode[rcode] ?? 0) + 1;
    pending++;
  },
});
server.forwardToMain = (socket, client, raw) => send({ type: 'forward', socket, client, raw });

// Reply counts go to the main process once a second (its onReply, metrics).
let report: TimerHandle | undefined;
const reportReplies = (): void => {
  report = systemClock.setTimer(1000, reportReplies);
  if (pending === 0) return;
  send({ type: 'replies-sent', byRcode: { ...byRcode } });
  for (const k of Object.keys(byRcode)) delete byRcode[Number(k)];
  pending = 0;
};
report = systemClock.setTimer(1000, reportReplies);

let current: Snapshot | undefined;
/** The MaxMind databases the snapshots look clients up in, by id (held here: the registry holds them weakly). */
const geo = new Map<string, GeoDatabase>();
process.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'geo':
      for (const d of m.databases) {
        try {
          geo.set(d.id, registerGeoDatabase(d.id, d.file, Buffer.from(d.bytes.buffer, d.bytes.byteOffset, d.bytes.byteLength)));
        } catch (err) {
          logger.error({ err, file: d.file }, 'cannot open a MaxMind database sent by the main process: its countries and continents answer the default list here');
        }
      }
      for (const id of geo.keys()) if (!m.live.includes(id)) geo.delete(id);
      return;
    case 'snapshot':
      current = { ...m.snapshot, zones: m.snapshot.zones.map((z) => ({ ...z, nodes: LayeredNodes.revive(z.nodes) })) };
      server.setSnapshot(current);
      send({ type: 'applied', seq: m.seq });
      return;
    case 'delta':
      if (!current || current.version !== m.delta.from) {
        send({ type: 'resync' });
        return;
      }
      current = applyDelta(current, m.delta, true);
      server.setSnapshot(current);
      send({ type: 'applied', seq: m.seq });
      return;
    case 'listen':
      server.bindUdp(m.host, m.port).then(
        (socket) => send({ type: 'listening', id: m.id, socket }),
        (err: NodeJS.ErrnoException) => send({ type: 'listening', id: m.id, socket: -1, error: err.message, code: (err.cause as NodeJS.ErrnoException | undefined)?.code ?? err.code }),
      );
      return;
    case 'replies':
      server.sendUdp(m.socket, m.client, m.replies);
      return;
    case 'stop':
      report?.cancel();
      void server.stop().then(() => process.exit(0));
      return;
  }
});
// The main process went away: nothing more to serve from.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
