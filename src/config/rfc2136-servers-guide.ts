/**
 * The server side of the rfc2136: sink, printed after its table in
 * docs/configuration.md (and linked from README.md): for Knot, BIND and
 * PowerDNS, the exact configuration the tests run them with
 * (test/helpers/update-servers.ts renders it; test/docs-match.test.ts
 * checks that each block here is what the tests use).
 */
export const RFC2136_SERVERS_GUIDE = `
### How the RFC 2136 sink writes

- **One UPDATE per change batch**, per zone and server: every record set
  that changed since the last UPDATE goes in one message (a mass failover of
  100 record sets is one UPDATE: \`npm run bench -- rfc2136\`). Changes that
  arrive while an UPDATE is in flight wait for its answer and go in the next.
- **Prerequisites** (RFC 2136 §2.4): each RRset, and its marker, must still
  hold what failoverd last read or wrote. A record edited by hand (or by
  another tool) makes the UPDATE fail (NXRRSET or YXRRSET) instead of being
  overwritten; the next read-back names it \`edited\` and failoverd leaves it
  alone until the edit is undone or its marker entry deleted.
- **Ownership marker**: a TXT RRset at \`_failoverd.NAME\`, one string per
  type, \`heritage=failoverd,owner=OWNERID,type=A,sum=DIGEST\` (the digest of
  the values failoverd wrote). Records with no marker are someone else's
  (\`unmarked\`, see \`adopt\`); another owner id's are \`foreign\`. Neither
  is ever touched.
- **Names that left the config**: a record set this owner's marker names, at
  a name no longer published (removed from \`records:\` or from the zone's
  \`records:\`), is deleted with its marker entry on the next apply, under
  the same prerequisites and counted by the guard. One edited since
  failoverd wrote it is refused instead (\`edited\`).
- **Read-back**: at start, after a failure and every \`reconcile\`, the SOA
  serial (a signed query with \`readKey\`); IXFR (or AXFR) only when it
  moved. Drift in owned record sets is repaired.
- **The guard**: a plan changing or deleting more than \`guard.maxChangeRatio\`
  of 10 or more owned record sets, in ways no failover among a record set's
  own targets explains, is refused (logged, \`PLAN_UNSAFE\` in the status,
  out of sync) until \`failoverd rfc2136 apply --force\`. When what it holds
  back is only deletions of names that left the config, the daemon still
  sends everything else (a failover is not held up by them).
- **By hand**: \`failoverd rfc2136 plan --config failoverd.yaml [--json]\`
  runs one round of probes, reads every server back and prints the UPDATE
  each would get (changes nothing); \`failoverd rfc2136 apply\` sends it.
  Exit 1 when a server cannot be read or refuses, or the guard refuses a plan.
- **Failures** (no answer, REFUSED, NOTAUTH, BADSIG, BADKEY, BADTIME,
  YXRRSET, NXRRSET, NXDOMAIN) are retried with backoff (500 ms doubling to
  30 s, after a fresh read) and shown with their RCODE in \`/v1/status\`
  (\`rfc2136.targets[]\`), \`failoverd status\`, the status page, the
  \`failoverd_rfc2136_*\` metrics and the alert \`FailoverdRfc2136OutOfSync\`
  (runbook in [operations](operations.md)).
- In a cluster only the leader sends UPDATEs, each behind the same fenced
  leadership check as Route 53.

### Server side: Knot DNS (knotd)

A key that may update and one that may transfer (the read-back), each
allowed from the address failoverd sends from (127.0.0.1 in the tests), in
an \`acl\` with \`action: update\` and \`action: transfer\`. This is the
knot.conf the tests run (after their own \`server\`, \`database\`, \`control\`
and \`log\` sections):

\`\`\`yaml
key:
  - id: failoverd-update
    algorithm: hmac-sha256
    secret: BASE64-SECRET-OF-failoverd-update
  - id: failoverd-read
    algorithm: hmac-sha256
    secret: BASE64-SECRET-OF-failoverd-read
acl:
  - id: failoverd-update
    address: 127.0.0.1
    key: failoverd-update
    action: update
  - id: failoverd-read
    address: 127.0.0.1
    key: failoverd-read
    action: transfer
zone:
  - domain: example.test
    storage: "/var/lib/knot"
    file: example.test.zone
    zonefile-sync: 0
    acl: [failoverd-update, failoverd-read]
\`\`\`

With \`mode: primary\` and secondaries (the test's is NSD on port 5300), Knot
NOTIFYs them after each UPDATE and lets them transfer:

\`\`\`yaml
key:
  - id: failoverd-update
    algorithm: hmac-sha256
    secret: BASE64-SECRET-OF-failoverd-update
  - id: failoverd-read
    algorithm: hmac-sha256
    secret: BASE64-SECRET-OF-failoverd-read
remote:
  - id: secondary
    address: 127.0.0.1@5300
acl:
  - id: failoverd-update
    address: 127.0.0.1
    key: failoverd-update
    action: update
  - id: failoverd-read
    address: 127.0.0.1
    key: failoverd-read
    action: transfer
  - id: secondary-transfer
    address: 127.0.0.1
    action: transfer
zone:
  - domain: example.test
    storage: "/var/lib/knot"
    file: example.test.zone
    zonefile-sync: 0
    acl: [failoverd-update, failoverd-read, secondary-transfer]
    notify: secondary
\`\`\`

The failoverd side, for either:

\`\`\`yaml
rfc2136:
  ownerId: failoverd-prod-1
  keys:
    failoverd-update: { algorithm: hmac-sha256, secretFile: /etc/failoverd/update.key }
    failoverd-read: { algorithm: hmac-sha256, secretFile: /etc/failoverd/read.key }
  zones:
    - zone: example.test
      mode: primary
      servers: ["127.0.0.1:53"]
      updateKey: failoverd-update
      readKey: failoverd-read
\`\`\`

### Server side: BIND (named)

\`update-policy\` grants the update key the zone's names (\`zonesub ANY\`);
\`allow-transfer\` lets the read key transfer. The named.conf the tests run:

\`\`\`
options {
  directory "/var/cache/bind";
  listen-on port 53 { 127.0.0.1; };
  listen-on-v6 { none; };
  pid-file "/var/cache/bind/named.pid";
  session-keyfile "/var/cache/bind/session.key";
  recursion no;
  notify no;
  allow-transfer { key "failoverd-read"; };
};
controls { };
key "failoverd-update" { algorithm hmac-sha256; secret "BASE64-SECRET-OF-failoverd-update"; };
key "failoverd-read" { algorithm hmac-sha256; secret "BASE64-SECRET-OF-failoverd-read"; };
zone "example.test" {
  type primary;
  file "example.test.zone";
  update-policy { grant failoverd-update zonesub ANY; };
};
\`\`\`

(\`notify no\` only because the tests run BIND alone: with secondaries, leave
NOTIFY on and use \`mode: primary\`.) A \`secretFile\` may be a BIND key
clause as \`tsig-keygen\` prints it.

### Server side: PowerDNS (pdns_server, gsqlite3 backend)

\`dnsupdate=yes\` and \`allow-dnsupdate-from\` turn UPDATE on; the zone's
metadata says which key may update (\`TSIG-ALLOW-DNSUPDATE\`) and transfer
(\`TSIG-ALLOW-AXFR\`), and \`SOA-EDIT-DNSUPDATE INCREASE\` raises the SOA
serial on each UPDATE (without it the serial does not move, and failoverd's
read-back, which reads the zone again only when the serial moved, would not
see changes made by others). The pdns.conf the tests run:

\`\`\`
launch=gsqlite3
gsqlite3-database=/var/lib/powerdns/pdns.sqlite3
local-address=127.0.0.1
local-port=53
socket-dir=/var/lib/powerdns
daemon=no
guardian=no
disable-syslog=yes
loglevel=3
dnsupdate=yes
allow-dnsupdate-from=127.0.0.0/8
disable-axfr=no
allow-axfr-ips=127.0.0.0/8
cache-ttl=0
negquery-cache-ttl=0
query-cache-ttl=0
zone-cache-refresh-interval=0
\`\`\`

(The \`*cache*=0\` lines make the tests' dig see each change at once; in
production PowerDNS' caches delay what resolvers see by up to \`cache-ttl\`.)
Then, per zone:

\`\`\`sh
pdnsutil import-tsig-key failoverd-update hmac-sha256 BASE64-SECRET-OF-failoverd-update
pdnsutil import-tsig-key failoverd-read hmac-sha256 BASE64-SECRET-OF-failoverd-read
pdnsutil set-meta example.test TSIG-ALLOW-DNSUPDATE failoverd-update
pdnsutil set-meta example.test TSIG-ALLOW-AXFR failoverd-read
pdnsutil set-meta example.test SOA-EDIT-DNSUPDATE INCREASE
\`\`\`

### What each server answers a wrong key

| | wrong secret | key the server does not know |
|---|---|---|
| Knot | NOTAUTH, TSIG error BADSIG | NOTAUTH, TSIG error BADKEY |
| BIND | NOTAUTH, TSIG error BADSIG | NOTAUTH, TSIG error BADKEY |
| PowerDNS 4.7 | REFUSED, unsigned (the reason only in its own log) | REFUSED, unsigned |

failoverd shows the TSIG error by name when there is one (\`lastError.rcode\`:
\`BADSIG\`, \`BADKEY\`), else the RCODE with a hint that the answer was not
signed (the server may not know the key or its secret, or not let it
update). Checked by test/rfc2136-servers.test.ts.
`;
