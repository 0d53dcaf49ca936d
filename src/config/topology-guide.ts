/** The worked example of policy topology printed after the `records` table of docs/configuration.md. */
export const TOPOLOGY_GUIDE = `### Answers by client location: a worked two-site example

Two sites, each a pool with its own policy: Europe answers from a primary and
a standby, the US from both of its servers at once. Clients in 10.0.0.0/8 and
2001:db8:1::/48 prefer Europe, clients in 10.1.0.0/16 (inside it) the US;
everyone else gets the default list.

\`\`\`yaml
dns:
  listen: ["0.0.0.0:53", "[::]:53"]
  ecs: { allow: [192.0.2.53/32] }     # the resolvers whose EDNS Client Subnet is honoured
checks:
  web: { type: https, port: 443, path: /healthz }
records:
  - name: www.example.test
    type: A
    ttl: 30
    degradedTtl: 5
    policy: topology
    whenAllDown: primary               # a whole list down: the first listed site's primary
    sites:
      eu:
        policy: failover
        targets: [{ address: 198.51.100.10, check: web }, { address: 198.51.100.11, check: web }]
      us:
        policy: multivalue
        targets: [{ address: 203.0.113.10, check: web }, { address: 203.0.113.11, check: web }]
    map:
      - { networks: [10.0.0.0/8, "2001:db8:1::/48"], sites: [eu, us] }
      - { networks: [10.1.0.0/16], sites: [us, eu] }
    default: [us, eu]
\`\`\`

- A client in 10.2.0.0/16 gets 198.51.100.10 (eu's primary); when it fails,
  198.51.100.11 (eu fails over inside itself); when both are DOWN or drained,
  eu is down and the client gets 203.0.113.10 and 203.0.113.11 (us).
- A client in 10.1.0.0/16 gets us first, and eu when us is down.
- A query carrying EDNS Client Subnet from 192.0.2.53 is answered for the
  subnet it carries, and the option comes back with SCOPE = the widest block
  the answer holds for: 16 for 10.1.5.0/24; 15 for 10.2.3.0/24 (10.0.0.0/8
  holds 10.1.0.0/16, so the answer for 10.2.3.0 holds for 10.2.0.0/15 only).
  Queries from elsewhere are answered by their source address, with SCOPE 0.
- \`failoverd explain www.example.test --client 10.2.3.4\` names the map entry
  that matched, the sites skipped and why, and the answer; \`/v1/status\` lists
  each site's health.
- The embedded server answers topology names. Route 53 publishes a map by
  \`continents\` and \`countries\` as geolocation records (a map by networks,
  like this one, is refused in the Route 53 zone); RFC 2136 writes the
  default list's answer.

#### Countries and continents from a MaxMind database

Map entries may name \`countries\` (ISO 3166-1 alpha-2) and \`continents\`
(AF AN AS EU NA OC SA) beside \`networks\`. The embedded server places
clients by them when the record set names a MaxMind-format database with
\`mmdb\` (GeoLite2/GeoIP2 Country or City, read with mmdb-lib); without one,
by networks only (Route 53 publishes them as geolocation records either way):

\`\`\`yaml
    mmdb: ./geo/GeoLite2-Country.mmdb   # relative to the config file's folder
    map:
      - { networks: [10.1.0.0/16], sites: [us, eu] }   # a network wins over the database
      - { countries: [DE, FR, NL], sites: [eu, us] }
      - { continents: [NA, SA], sites: [us, eu] }
      - { continents: [EU], sites: [eu, us] }          # Europe, less the countries above
    default: [us, eu]
\`\`\`

- Precedence: the longest matching network, then the client's country
  (\`country.iso_code\` of the database record), then its continent
  (\`continent.code\`), then \`default\` (also for clients in no database network).
- The ECS SCOPE of a country or continent answer is the prefix length of the
  database network the client is in, as mmdb-lib reports it (a /24 of
  GeoLite2 answers with SCOPE 24), or longer when a mapped network lies
  inside that database network (the answer then holds for the smaller block
  only).
- The file is read whole at start and at every reload: replace it (e.g.
  after geoipupdate), then \`failoverd reload\` or SIGHUP. A missing,
  unreadable or corrupt file is a config problem that names the file; a
  reload with one is refused and the last good database keeps answering.
`;
