/**
 * The etcd client of one instance, from the cluster section: TLS and
 * password read from their files (never logged). Unary calls get a deadline,
 * so a member behind a blackhole fails a call instead of hanging it; watches
 * and lease keep-alives are streams and have none.
 */
import { readFileSync } from 'node:fs';
import { Etcd3, type IOptions } from 'etcd3';
import type { ClusterConfig } from '../config/cluster.ts';

/** How long one unary etcd call may take. */
export const ETCD_CALL_DEADLINE_MS = 2000;

export function createEtcdClient(c: ClusterConfig): Etcd3 {
  const { tls, auth } = c.etcd;
  const options: IOptions = {
    hosts: c.etcd.endpoints,
    dialTimeout: ETCD_CALL_DEADLINE_MS,
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
