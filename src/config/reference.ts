/**
 * What each key of failoverd.yaml means, keyed by its path in the schema
 * ("records[].targets[].address", "checks.<name>.port"). Kept apart from
 * schema.ts so the schema stays clean; docs/configuration.md is generated
 * from both by `npm run docs`, and test/config-reference.test.ts fails when
 * a key has no entry here.
 */
import { RFC2136_SERVERS_GUIDE } from './rfc2136-servers-guide.ts';
import { TOPOLOGY_GUIDE } from './topology-guide.ts';

export interface KeyDoc {
  description: string;
  /** A value as written in YAML. */
  example?: string;
  /** Overrides the type derived from the schema (e.g. "address:port"). */
  type?: string;
  /** A section's guide: markdown printed after its table in docs/configuration.md (top-level keys only). */
  guide?: string;
}

export const CONFIG_REFERENCE: Record<string, KeyDoc> = {
  // dns
  dns: { description: 'The embedded authoritative DNS server (UDP and TCP on the same port).' },
  'dns.listen': {
    description: 'Addresses to serve DNS on, UDP and TCP each. Port 53 needs root or CAP_NET_BIND_SERVICE; port 0 picks a free port (tests).',
    type: 'list of address:port',
    example: '["127.0.0.1:5353", "[::1]:5353"]',
  },
  'dns.workers': {
    description: 'Processes that serve UDP, sharing the port; "auto" is one per CPU core. TCP stays in the main process.',
    example: 'auto',
  },
  'dns.tcp': {
    description: 'Bounds on DNS over TCP, so that clients cannot use up the file descriptors the probes, the admin API and the state file need. A connection refused or closed by a bound is logged (rate-limited) and counted.',
  },
  'dns.tcp.maxConnections': {
    description: 'TCP connections open at once, over every listen address. One more is closed as soon as it is accepted. Keep it well below the descriptor limit (ulimit -n).',
    example: '512',
  },
  'dns.tcp.maxPerClient': {
    description: 'TCP connections open at once from one client address (an IPv4 client on an IPv6 socket counts as its IPv4 address). One more from that address is closed as soon as it is accepted; other clients are still served.',
    example: '16',
  },
  'dns.tcp.messageTimeout': {
    description: 'The longest a client may take to send one whole message, from its first byte; the connection is closed after that. Unlike the idle timeout, a byte now and then does not extend it. From 100ms to 1m.',
    example: '2s',
  },
  'dns.tcp.idleTimeout': {
    description: 'A connection with no message under way and no reply still being read is closed after this (RFC 7766 §6.2.3 recommends at least 10s). From 100ms to 1h.',
    example: '30s',
  },
  'dns.ecs': {
    description: 'EDNS Client Subnet (RFC 7871): whose client subnet option decides the answer of a `policy: topology` record set. An option that is not honoured is still echoed, with SCOPE 0 (the source address decided); a query without the option never gets one; a malformed option gets FORMERR.',
  },
  'dns.ecs.allow': {
    description: 'Networks of the resolvers whose client subnet option is honoured (on listeners set to `allow`, the default). Queries from other sources are answered by their source address. Empty: nobody\'s.',
    example: '[10.0.0.0/8, "2001:db8:53::/48"]',
  },
  'dns.ecs.listeners': {
    description: 'Per `dns.listen` address, as written there: `allow` (honour the option from `allow` sources only; the default), `any` (from every source: a listener only resolvers one trusts can reach) or `off` (never).',
    example: '{ "127.0.0.1:5353": any }',
  },
  zones: {
    description: 'Zone files (RFC 1035 master files) or folders of them (every *.zone inside), relative to the config file. They hold the static records; record sets add the failover answers.',
    example: '[zones/example.test.zone]',
  },

  // log
  log: { description: 'Logging: pino JSON lines on standard output, one line per transition.' },
  'log.level': { description: 'The least severe level written.', example: 'debug' },
  startupTimeout: {
    description: 'How long the daemon waits for every target\'s first verdict before it opens the DNS listeners anyway; targets still without one rank as UP.',
    example: '10s',
  },

  // checks
  checks: { description: 'Named health checks; targets refer to one by name. Targets with the same check and address share one probe.' },
  'checks.<name>.type': { description: 'The probe: an HTTP(S) request, or a TCP connect.', example: 'https' },
  'checks.<name>.port': { description: 'The port probed on each target\'s address.', example: '8080' },
  'checks.<name>.path': { description: 'HTTP(S): the request path.', example: '/healthz' },
  'checks.<name>.host': { description: 'HTTP(S): the Host header and TLS server name (SNI); the target address when not set (no SNI for an IP address).', example: 'www.example.test' },
  'checks.<name>.headers': { description: 'HTTP(S): extra request headers, with the rules of `notify[].headers`.', example: '{ X-Probe: failoverd }' },
  'checks.<name>.expect': { description: 'HTTP(S): what counts as healthy.' },
  'checks.<name>.expect.status': { description: 'Healthy status codes: single codes or ranges.', example: '["200", "204-299"]' },
  'checks.<name>.expect.body': { description: 'HTTP(S): a substring the response body must contain. Only the first 5 KiB (5,120 bytes) of the body are read and searched; a match after that counts as missing.', example: 'ok' },
  'checks.<name>.tlsVerify': { description: 'HTTPS: verify the certificate chain and name. false accepts self-signed certificates.', example: 'false' },
  'checks.<name>.interval': { description: 'Time between probe starts for a settled target (±10% jitter).', example: '5s' },
  'checks.<name>.fastInterval': {
    description: 'Time between probes while a target\'s health is unsettled (a result disagrees with its health and `rise`/`fall` is not reached yet); also, a probe unanswered this long makes the target suspect and starts the next probe. At most `interval`.',
    example: '200ms',
  },
  'checks.<name>.timeout': { description: 'How long one probe may take. Below `interval`. Time failoverd itself was not running (a blocked event loop: CPU throttling, a long GC) does not count: a deadline reached at least 20 ms late waits that much more once, and reads what arrived meanwhile, before it calls the probe a timeout.', example: '2s' },
  'checks.<name>.rise': { description: 'Consecutive successes before a DOWN target is UP again.', example: '3' },
  'checks.<name>.fall': { description: 'Consecutive failures before an UP target is DOWN.', example: '3' },
  'checks.<name>.watch': {
    description: 'Keep an idle TCP connection to each target and probe at once when it closes (FIN or RST), so a killed process is seen without waiting for the next interval.',
    example: 'false',
  },
  'checks.<name>.reuse': {
    description:
      'HTTP/HTTPS only. false (the default): every probe opens a new connection, so each one proves the target still accepts connections. true: one keep-alive connection per target is kept and reused (as Envoy does); a probe then costs a request instead of a connect, accept and close, about half the CPU on both sides, but no longer proves accept() (a target whose listen queue is full still answers on the kept connection). A kept connection the target closed is replaced by a new one within the same probe; one that stops answering fails the probe by timeout and is dropped.',
    example: 'true',
  },

  // records
  records: { description: 'The record sets failoverd decides: each is a name, a type and a TTL whose values a policy picks from its targets.', guide: TOPOLOGY_GUIDE },
  'records[].name': { description: 'The owner name, inside a served zone: labels of 1 to 63 octets, at most 255 octets in all, printable ASCII (punycode for IDN).', example: 'www.example.test' },
  'records[].type': { description: 'The record type answered; targets are addresses (A, AAAA) or host names (CNAME).', example: 'A' },
  'records[].ttl': { description: 'TTL of the answer, in seconds.', example: '60' },
  'records[].degradedTtl': { description: 'TTL while the answer is not the all-healthy one (failed over, or some targets down), so resolvers come back sooner. `ttl` when not set.', example: '5' },
  'records[].policy': {
    description: '`failover`: the first healthy target in order (primary, secondary, ...). `multivalue`: every healthy target, up to `maxAnswers`. `weighted`: one healthy target per query, picked by weight. `topology`: by where the client is: `map` gives each client network an ordered list of `sites`, the first site that is not down answers (the embedded server; Route 53 publishes a map by `continents` and `countries` as geolocation records).',
    example: 'multivalue',
  },
  'records[].failback': {
    description: 'When a recovered earlier target takes over again: `auto` (as soon as it is UP), `manual` (on `failoverd failback NAME` or the admin API), or `{ after: duration }` (once it has stayed UP that long).',
    example: '{ after: 5m }',
  },
  'records[].failback.after': { description: 'How long a recovered target must stay UP before failback.', example: '5m' },
  'records[].whenAllDown': {
    description: 'The answer when no target is healthy: `primary` (the first target), `all` (every target), `none` (NODATA) or `servfail`. Default: `primary` for policy failover and for CNAME, `all` otherwise.',
    example: 'servfail',
  },
  'records[].maxAnswers': { description: 'At most this many values in one answer.', example: '2' },
  'records[].targets': { description: 'The endpoints that can answer for the name, in order: the first is the primary. Every policy but topology (its targets are in `sites`).' },
  'records[].targets[].id': { description: 'A stable id for drains, status and logs. Default: "NAME/TYPE/ADDRESS".', example: 'web-eu-1' },
  'records[].targets[].address': {
    description: 'The value answered (an IP address for A/AAAA, a host name for CNAME, never an IP address there) and the address probed. IPv6 is kept in its RFC 5952 spelling (`0:0:0:0:0:0:0:1` is `::1`, also in target ids); no zone id (`%eth0`); each address once per record set.',
    example: '192.0.2.10',
  },
  'records[].targets[].check': { description: 'The name of a check under `checks:`.', example: 'web' },
  'records[].targets[].weight': { description: 'Policy weighted: relative share of answers. Targets with weight 0 are picked (evenly) only when no healthy target has a weight above 0.', example: '3' },

  'records[].sites': {
    description: 'Policy topology: the sites, by name: each a pool of targets with a policy of its own inside (failover, multivalue or weighted). A site is down when every one of its targets is DOWN (drains included); client lists skip it. Target ids default to "NAME/TYPE/SITE/ADDRESS".',
  },
  'records[].sites.<name>.policy': { description: 'The policy inside the site.', example: 'multivalue' },
  'records[].sites.<name>.failback': { description: 'The site\'s failback (policy failover); the record set\'s when not set.', example: 'manual' },
  'records[].sites.<name>.failback.after': { description: 'How long a recovered target must stay UP before failback.', example: '5m' },
  'records[].sites.<name>.maxAnswers': { description: 'At most this many values in the site\'s answer; the record set\'s when not set.', example: '2' },
  'records[].sites.<name>.targets': { description: 'The site\'s targets, in order: the first is its primary. Keys as under `records[].targets[]`.' },
  'records[].sites.<name>.targets[].id': { description: 'A stable id for drains, status and logs. Default: "NAME/TYPE/SITE/ADDRESS".', example: 'web-eu-1' },
  'records[].sites.<name>.targets[].address': { description: 'The value answered and probed, as `records[].targets[].address`.', example: '192.0.2.10' },
  'records[].sites.<name>.targets[].check': { description: 'The name of a check under `checks:`.', example: 'web' },
  'records[].sites.<name>.targets[].weight': { description: 'Site policy weighted: relative share of answers.', example: '3' },
  'records[].map': {
    description: 'Policy topology: client networks (and, with `mmdb`, countries and continents) and the sites, in order, that answer them. Precedence: the longest matching network, then the client\'s country in the database, then its continent, then `default`. A client whose whole list is down gets the first listed site\'s `whenAllDown` answer (never every site\'s addresses). Each network, country and continent is mapped once; an entry gives at least one of `networks`, `countries`, `continents`.',
  },
  'records[].map[].networks': { description: 'CIDR blocks (a map entry gives networks, countries or continents, or several), IPv4 or IPv6 (a bare address is a /32 or /128); no bits set beyond the prefix. With EDNS Client Subnet the client is the subnet a resolver sends (`dns.ecs`), else the source address.', example: '[10.0.0.0/8, "2001:db8:1::/48"]' },
  'records[].map[].countries': {
    description: 'ISO 3166-1 alpha-2 country codes (`GB`, not `UK`; any case). Published to Route 53 as one geolocation record per country (`route53.zone`). The embedded server places clients by them only with `mmdb` (matched against the database record\'s `country.iso_code`; a mapped network covering the client wins); without it, by `networks` only (a client outside them gets `default` there). The ECS SCOPE of a country answer is the prefix length of the database network the client is in (as mmdb-lib reports it), longer when a mapped network lies inside that network. Each country is mapped once.',
    example: '[FR, DE]',
  },
  'records[].map[].continents': {
    description: 'Continent codes: AF, AN, AS, EU, NA, OC, SA. Published to Route 53 as one geolocation record per continent (a country record wins over its continent\'s, as in Route 53). The embedded server places clients by them only with `mmdb` (the record\'s `continent.code`, for clients whose country is not mapped; scope as for `countries`); without it, by `networks` only. Each continent is mapped once.',
    example: '[EU]',
  },
  'records[].map[].sites': { description: 'Site names, in order of preference: the first that is not down answers.', example: '[eu, us]' },
  'records[].mmdb': {
    description: 'Policy topology: a MaxMind-format database (.mmdb: GeoLite2/GeoIP2 Country or City, or one of one\'s own with `country.iso_code` / `continent.code`) that `map[].countries` and `map[].continents` are looked up in, relative to the config file\'s folder. Read whole at start and at every reload (replace the file, then reload); a missing, unreadable or corrupt file is a config problem naming the file, and a reload with one keeps serving the last good database. Clients in no database network get `default`.',
    example: './geo/GeoLite2-Country.mmdb',
  },
  'records[].default': { description: 'Policy topology: the sites, in order, for clients in no mapped network (and, with `mmdb`, no mapped country or continent). Its answer is also the record set\'s answer in status.', example: '[us, eu]' },

  // route53
  route53: { description: 'Keep Amazon Route 53 in sync with failoverd\'s answers. Credentials come from the AWS SDK\'s default provider chain and are never logged.' },
  'route53.hostedZoneId': { description: 'The hosted zone written to.', example: 'Z0123456789ABC' },
  'route53.zone': { description: 'The served zone that maps to the hosted zone; its record sets are published.', example: 'example.test' },
  'route53.mode': {
    description: '`records`: each record set becomes a simple record holding what failoverd answers now. `failover`: native PRIMARY/SECONDARY failover records, the PRIMARY tied to a Route 53 health check that failoverd drives. Policy topology (both modes): a geolocation record per continent and country of the map and a default; in failover mode each site has a health check failoverd drives, carried by every record but the default.',
    example: 'failover',
  },
  'route53.ownerId': { description: 'Written into the ownership TXT markers and health check tags; failoverd changes only what this owner id owns.', example: 'failoverd-prod-1' },
  'route53.reconcile': { description: 'node-cron schedule on which Route 53 is read back and any drift repaired.', example: '"*/5 * * * *"' },
  'route53.maxRequestsPerSecond': { description: 'The most Route 53 calls of this process in any one second, retries included: they are spaced 1/rate apart (Route 53 allows 5 per second per account, shared with every other client of it).', example: '2' },
  'route53.endpoint': { description: 'Another Route 53 API endpoint, e.g. a moto server for trying it out.', example: 'http://127.0.0.1:5055' },
  'route53.region': { description: 'The SDK region (Route 53 is global; us-east-1 signs its requests).', example: 'us-east-1' },
  'route53.dryRun': { description: 'Plan and log every change but apply none.', example: 'true' },
  'route53.adopt': { description: 'Names whose existing records with no owner failoverd may take over.', example: '[www.example.test]' },
  'route53.guard': { description: 'Refuse a plan that would change too much of what failoverd owns (override with `failoverd apply --force`).' },
  'route53.guard.maxChangeRatio': { description: 'The largest share of owned record sets one plan may change or delete.', example: '0.5' },
  'route53.guard.minOwned': { description: 'The guard applies only when at least this many record sets are owned.', example: '20' },
  'route53.insyncTimeout': { description: 'How long to poll GetChange for INSYNC after a change.', example: '2m' },

  // rfc2136
  rfc2136: {
    description: 'Keep existing authoritative servers (BIND, Knot, PowerDNS, ...) in sync with failoverd\'s answers by RFC 2136 UPDATE signed with TSIG: one UPDATE per change batch per zone and server, with prerequisites that each RRset still holds what failoverd last wrote, and an ownership TXT record at `_failoverd.NAME`. The server-side setup of Knot, BIND and PowerDNS follows the table.',
    guide: RFC2136_SERVERS_GUIDE,
  },
  'rfc2136.ownerId': { description: 'Written into the ownership markers; failoverd changes only record sets whose marker names this owner id.', example: 'failoverd-prod-1' },
  'rfc2136.keys': { description: 'TSIG keys, by key name (the name the servers know them by), for UPDATE and for reading back. Apart from `tsig:`, so a key that may write to a server never also transfers zones from failoverd.' },
  'rfc2136.keys.<name>.algorithm': { description: 'The HMAC algorithm.', example: 'hmac-sha512' },
  'rfc2136.keys.<name>.secret': { description: 'The base64 secret (as `tsig-keygen` or `keymgr -t` prints it). Give this or `secretFile`; never logged.', example: 'c2VjcmV0LXNlY3JldC1zZWNyZXQ=' },
  'rfc2136.keys.<name>.secretFile': { description: 'A file holding the base64 secret, alone or as a BIND key clause or Knot key entry; relative to the config file.', example: '/etc/failoverd/update.key' },
  'rfc2136.zones': { description: 'The zones written to, each with its servers and keys.' },
  'rfc2136.zones[].zone': { description: 'The zone\'s apex as the servers know it (the zone section of each UPDATE).', example: 'example.test' },
  'rfc2136.zones[].mode': { description: '`primary`: UPDATE goes to the first server, which NOTIFYs its secondaries. `all`: to each server, each tracked apart (status, metrics).', example: 'all' },
  'rfc2136.zones[].servers': { description: 'address or address:port (port 53 by default), IPv6 in brackets.', example: '["192.0.2.53", "[2001:db8::53]:53"]' },
  'rfc2136.zones[].updateKey': { description: 'The key under `rfc2136.keys` that signs UPDATE.', example: 'failoverd-update' },
  'rfc2136.zones[].readKey': { description: 'The key that signs SOA queries and IXFR/AXFR (the read-back). Default: updateKey.', example: 'failoverd-read' },
  'rfc2136.zones[].records': { description: 'The names of the record sets (under `records:`) written to this zone. Default: every record set in the zone.', example: '[www.example.test]' },
  'rfc2136.zones[].adopt': { description: 'Names whose existing records with no marker failoverd may take over.', example: '[www.example.test]' },
  'rfc2136.reconcile': { description: 'How often each server is read back (its SOA serial; IXFR, or AXFR, only when the serial moved) and drift in owned records repaired.', example: '5m' },
  'rfc2136.timeout': { description: 'One request\'s deadline (UDP retransmitted once halfway; TCP when the message does not fit 512 bytes or the answer is truncated).', example: '1s' },
  'rfc2136.markerTtl': { description: 'TTL of the ownership TXT records.', example: '3600' },
  'rfc2136.dryRun': { description: 'Plan and log every UPDATE but send none.', example: 'true' },
  'rfc2136.guard': { description: 'Refuse a plan that would change too much of what failoverd owns (override with `failoverd rfc2136 apply --force`).' },
  'rfc2136.guard.maxChangeRatio': { description: 'The largest share of owned record sets one plan may change in ways no failover explains (failovers among a record set\'s own targets are not counted).', example: '0.5' },
  'rfc2136.guard.minOwned': { description: 'The guard applies only when at least this many record sets are owned.', example: '20' },

  // admin
  admin: { description: 'The admin HTTP API: the status page at /, /healthz, /readyz, /v1/status, overrides (drains), reload and /metrics.' },
  'admin.listen': {
    description: 'Where the admin API listens. A non-loopback address needs credentials (tokens or client certificates) and `tls`, or `allowPlaintext: true`.',
    type: 'address:port',
    example: '0.0.0.0:8443',
  },
  'admin.statusPage': {
    description: 'Serve the live status page at `GET /` of the admin API (read-only, no token: record sets, targets, the last hour, transitions, Route 53 and NOTIFY state). `false` answers 404 there; a reload applies it.',
    example: 'false',
  },
  'admin.allowedHosts': {
    description: 'Names the `Host` header of a request may carry besides the listen address, the address connected to and `localhost`: the name of a reverse proxy in front, or the machine\'s name. Any other Host is answered 421, so a name rebound to this address (DNS rebinding) cannot read or change anything. A reload applies it.',
    example: '[failoverd.example.com]',
  },
  'admin.allowedOrigins': {
    description: 'Origins (scheme://host[:port]) whose web pages may call the API. Requests from any other origin (an `Origin` that is not the API\'s own, or `Sec-Fetch-Site: cross-site`) are refused with 403; following a link to the status page still works. A reload applies it.',
    example: '[https://grafana.example.com]',
  },
  'admin.token': {
    description: 'A token with the admin scope, named "admin.token" in the audit log (the environment variable FAILOVERD_ADMIN_TOKEN, when this is not set, is named "FAILOVERD_ADMIN_TOKEN"). Prefer `tokens`, read from files, with the least scope that does the job.',
    example: 'a-long-random-string',
  },
  'admin.tokens': { description: 'Named bearer tokens (`Authorization: Bearer <token>`), each read from its own file and given a scope: `read` (status, explain, transitions, metrics, the status page), `operate` (also drain, undrain, pin, failback), `admin` (also reload). Token values are never logged; the audit log names the token. A reload reads the files again.' },
  'admin.tokens[].name': { description: 'The name the audit log shows for requests with this token.', example: 'grafana' },
  'admin.tokens[].scope': { description: 'What requests with this token may do (each scope includes the ones before it).', example: 'operate' },
  'admin.tokens[].file': { description: 'A file holding the token alone (at least 16 characters, e.g. from `openssl rand -hex 24`), relative to the config file. Keep it readable by failoverd only.', example: '/etc/failoverd/tokens/oncall' },
  'admin.clients': { description: 'Client certificates (signed by `tls.clientCA`) allowed a scope, by name: the subject CN or a DNS subjectAltName. A valid certificate not listed here gets no scope (403 but on /healthz and /readyz). The audit log names the certificate.' },
  'admin.clients[].name': { description: 'The certificate\'s subject CN or one of its DNS subjectAltNames.', example: 'ops-laptop.example.com' },
  'admin.clients[].scope': { description: 'What requests with this certificate may do.', example: 'admin' },
  'admin.tls': { description: 'Serve the admin API over HTTPS only (TLS 1.2 or newer). A reload (SIGHUP) reads the files again and uses them for new connections without closing the listener (certificate rotation); turning TLS or client certificates on or off needs a restart.' },
  'admin.tls.cert': { description: 'The server certificate (PEM, with its chain), relative to the config file.', example: '/etc/failoverd/admin.crt' },
  'admin.tls.key': { description: 'The certificate\'s private key (PEM).', example: '/etc/failoverd/admin.key' },
  'admin.tls.clientCA': { description: 'Mutual TLS: clients must present a certificate signed by this CA (PEM); a connection without one, or with another, is refused during the handshake. Give the certificates a scope in `clients`.', example: '/etc/failoverd/clients-ca.crt' },
  'admin.openReads': { description: 'Reads (status, explain, transitions, metrics, the status page) without credentials. `false`: they need a token or certificate with the read scope. /healthz and /readyz are always open. Without any token or client configured (loopback only) everything is open.', example: 'false' },
  'admin.allowPlaintext': { description: 'Allow a non-loopback `listen` without `tls` (behind a TLS-terminating proxy, on a private network): tokens then cross the network in clear; a warning is logged at start.', example: 'true' },

  // state
  state: { description: 'The persisted state: overrides, last known health, failback holds and zone serials, so a restart neither flaps nor forgets a drain.' },
  'state.file': { description: 'The state file, written atomically on every change; relative to the config file\'s folder.', example: '/var/lib/failoverd/state.json' },

  // notify
  notify: { description: 'Webhooks told about every transition and override (a JSON body each), retried with backoff from a bounded queue.' },
  'notify[].url': {
    description: 'Where to POST. `user:password@` in the URL is sent as an `Authorization: Basic` header (not with `headers.Authorization` too); logs name the webhook without it, and the password is never logged.',
    example: 'https://hooks.example.test/failoverd',
  },
  'notify[].format': { description: '`json`: failoverd\'s event object. `slack`: a Slack incoming-webhook message.', example: 'slack' },
  'notify[].headers': {
    description: 'Extra request headers (e.g. authorization). Names are HTTP tokens, each given once (names ignore case); values are Latin-1 without control characters; Content-Length, Transfer-Encoding, Connection, Keep-Alive, Upgrade, Expect, TE and Trailer are set by failoverd.',
    example: '{ Authorization: "Bearer abc" }',
  },
  'notify[].timeout': { description: 'How long one delivery may take.', example: '2s' },
  'notify[].retries': { description: 'Retries of a failed delivery before it is given up.', example: '10' },
  'notify[].backoff': { description: 'The base delay of the retry backoff.', example: '500ms' },
  'notify[].queue': { description: 'The most deliveries waiting at once (a bounded queue: notifications never block probes or DNS).', example: '100' },

  // maintenance
  maintenance: { description: 'Scheduled drains: the targets are drained for `duration` at each `cron` time, visibly in status, metrics and logs, then released.' },
  'maintenance[].name': { description: 'A name for status and logs.', example: 'weekly-patching' },
  'maintenance[].targets': { description: 'Target ids to drain.', example: '[www.example.test/A/192.0.2.10]' },
  'maintenance[].cron': { description: 'When each window starts (node-cron syntax; 6 fields for seconds).', example: '"0 3 * * 0"' },
  'maintenance[].timezone': { description: 'Time zone of the cron expression (IANA name); the system\'s when not set.', example: 'Europe/Berlin' },
  'maintenance[].duration': { description: 'How long each window lasts (at least 1s).', example: '30m' },
  'maintenance[].reason': { description: 'Shown with the drain in status, logs and notifications.', example: 'kernel patching' },

  // cluster
  cluster: { description: 'Cluster mode: several failoverd instances on one etcd cluster. Each instance probes as a vantage point; the leader (an etcd lease) combines the vantage points by quorum, decides, and writes the decisions and serials to etcd in fenced transactions; every instance serves them. Without this section: one process, no etcd. See docs/cluster.md.' },
  'cluster.name': { description: 'The cluster\'s name: its etcd keys live under /failoverd/<name>/. Every instance of one cluster uses the same name (and the same records).', example: 'prod-edge' },
  'cluster.instance': { description: 'This instance\'s name among the vantage points (in status, logs and the leader key); the hostname when not set. Unique per instance.', example: 'fo-1' },
  'cluster.etcd': { description: 'How to reach etcd (v3 API).' },
  'cluster.etcd.endpoints': { description: 'Client URLs of the etcd members; the client moves to another member when one fails.', example: '["http://10.0.0.1:2379", "http://10.0.0.2:2379", "http://10.0.0.3:2379"]' },
  'cluster.etcd.tls': { description: 'TLS to etcd (https:// endpoints): the CA that signed the members\' certificates, and a client certificate when etcd asks for one. Paths relative to the config file.' },
  'cluster.etcd.tls.ca': { description: 'PEM file of the CA that signed the etcd members\' certificates.', example: '/etc/failoverd/etcd-ca.pem' },
  'cluster.etcd.tls.cert': { description: 'PEM file of the client certificate (with `key`).', example: '/etc/failoverd/etcd-client.pem' },
  'cluster.etcd.tls.key': { description: 'PEM file of the client certificate\'s private key (with `cert`).', example: '/etc/failoverd/etcd-client-key.pem' },
  'cluster.etcd.auth': { description: 'etcd user authentication (etcd\'s `auth enable`); the password is read from a file, never from failoverd.yaml, and never logged.' },
  'cluster.etcd.auth.username': { description: 'The etcd user; it needs read and write on the prefix /failoverd/<name>/.', example: 'failoverd' },
  'cluster.etcd.auth.passwordFile': { description: 'A file holding the password (one line); relative to the config file.', example: '/etc/failoverd/etcd-password' },
  'cluster.etcd.maxTxnOps': { description: 'The most operations the leader puts in one decision transaction (one per changed record set, plus the meta key); a larger change is split into several, served by readers only once all are in. Keep it below etcd\'s `--max-txn-ops` (128 by default).', example: '64' },
  'cluster.etcd.maxTxnBytes': { description: 'The most bytes (keys and values) the leader puts in one decision transaction. Keep it below etcd\'s `--max-request-bytes` (1.5 MiB by default).', example: '524288' },
  'cluster.quorum': { description: 'How many live vantage points must see a target DOWN for it to be DOWN: `majority` (more than half), `all`, `any` (one), or a number. Fewer live points than a number: the target is UNKNOWN.', example: '2' },
  'cluster.leaseTtl': { description: 'The TTL of each instance\'s etcd lease (whole seconds, 1s to 5m): a dead instance stops being a vantage point, and a dead leader is replaced, within about this time.', example: '5s' },
  'cluster.onLoss': { description: 'What an instance cut off from etcd serves: `freeze` keeps the last decisions it saw; `local` switches to its own local verdict until etcd is back. Either way it says so in /v1/status, logs and failoverd_cluster_* metrics, and rejoins without a restart.', example: 'local' },

  // secondaries, transfer, tsig
  secondaries: { description: 'Secondary name servers told of every zone change by NOTIFY; they then transfer the zone (AXFR/IXFR).' },
  'secondaries[].address': { description: 'Where NOTIFY is sent; port 53 when not given.', type: 'address[:port]', example: '192.0.2.53:53' },
  'secondaries[].zones': { description: 'The served zones this secondary carries.', example: '[example.test]' },
  'secondaries[].tsig': { description: 'The name of a key under `tsig:` that signs NOTIFY to this secondary.', example: 'transfer-key' },
  transfer: { description: 'Zone transfers (AXFR, IXFR) out of the embedded server.' },
  'transfer.allow': { description: 'Addresses or CIDR blocks that may transfer without a key; nobody by default. A request signed with a configured TSIG key is always allowed.', example: '[192.0.2.53/32]' },
  'transfer.journal': { description: 'How many serial changes per zone the IXFR journal keeps.', example: '500' },
  tsig: { description: 'TSIG keys, by key name, for transfers and NOTIFY.' },
  'tsig.<name>.algorithm': { description: 'The HMAC algorithm.', example: 'hmac-sha512' },
  'tsig.<name>.secret': { description: 'The base64 secret (as `tsig-keygen` prints it). Give this or `secretFile`; never logged.', example: 'c2VjcmV0LXNlY3JldC1zZWNyZXQ=' },
  'tsig.<name>.secretFile': { description: 'A file holding the base64 secret, alone or as a BIND key clause or Knot key entry; relative to the config file.', example: '/etc/failoverd/transfer.key' },
};
