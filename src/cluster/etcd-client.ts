/**
 * The etcd client of one instance, from the cluster section: TLS and
 * password read from their files (never logged). Unary calls get a deadline,
 * so a member behind a blackhole fails a call instead of hanging it; watches
 * and lease keep-alives are streams and have none, and a broken watch stream
 * is re-opened within a second once etcd answers again.
 */
import { readFileSync } from 'node:fs';
import { Etcd3, type IOptions } from 'etcd3';
import type { ClusterConfig } from '../config/cluster.ts';

/** How long one unary etcd call may take. */
export const ETCD_CALL_DEADLINE_MS = 2000;

/** The longest pause between attempts to re-open the watch stream. */
export const WATCH_RETRY_MAX_MS = 1000;

type WatchBackoff = NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>;

/**
 * Doubling from 100 ms up to WATCH_RETRY_MAX_MS. etcd3's default grows to
 * 30 s (with jitter) during an outage, so an instance could go on serving
 * stale decisions for many seconds after etcd is back.
 */
function watchBackoff(ms = 100): WatchBackoff {
  return { duration: ms, next: () => watchBackoff(Math.min(ms * 2, WATCH_RETRY_MAX_MS)) };
}

export function createEtcdClient(c: ClusterConfig): Etcd3 {
  const { tls, auth } = c.etcd;
  const options: IOptions = {
    hosts: c.etcd.endpoints,
    dialTimeout: ETCD_CALL_DEADLINE_MS,
    faultHandling: { watchBackoff: watchBackoff() },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: new Date(Date.now() + ETCD_CALL_DEADLINE_MS) }),
    ...(tls
      ? {
          credentials: {
            rootCertificate: readFileSync(tls.ca),
            ...(tls.cert !== undefined && tls.key !== undefined ? { certChain: readFileSync(tls.cert), privateKey: readFileSync(tls.key) } : {}),
          },
        }
      : {}),
    ...(auth ? { auth: { username: auth.username, password: readFileSync(auth.passwordFile, 'utf8').replace(/\r?\n$/, '') } } : {}),
  };
  return new Etcd3(options);
}
