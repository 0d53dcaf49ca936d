/**
 * The layering of design.md, checked by `npm test` (npm run lint:deps):
 * - config/, zones/ (the zone file parser), dns-model/ (the record model and
 *   DNS names every stage shares), clock, cron, backoff, errors and log are
 *   the ground floor: they import no stage, sink, admin or CLI module;
 * - sinks (dns/, route53/, rfc2136/, transfer/, notify/) never import each
 *   other; dns/wire/ is the shared wire layer (transfer/ and rfc2136/ use it);
 * - stages and sinks never import admin/, cli/ or the daemon wiring;
 * - failover/ (the pure state machine) imports no probe and no sink;
 * - dns/ answers from snapshots: it imports no failover/, health/ or probes/;
 * - nothing imports cli/ except cli/ itself;
 * - no circular imports; and none between folders either
 *   (scripts/folder-cycles.mjs, also part of lint:deps).
 * test/layering.test.ts shows each rule failing on a deliberate violation.
 */
const GROUND = '^src/(config/|zones/|clock\\.ts$|cron\\.ts$|backoff\\.ts$|errors\\.ts$|log\\.ts$|dns-model/)';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'Circular imports hide the direction of the flow.', from: {}, to: { circular: true } },
    {
      name: 'ground-floor-imports-no-stage',
      severity: 'error',
      comment: 'config/, zones/, clock, errors and log are the bottom layer: they import nothing above them.',
      from: { path: GROUND },
      to: { path: '^src/', pathNot: GROUND },
    },
    { name: 'route53-sink-alone', severity: 'error', comment: 'Sinks never import each other.', from: { path: '^src/route53/' }, to: { path: '^src/(dns|transfer|notify|rfc2136)/' } },
    { name: 'dns-sink-alone', severity: 'error', comment: 'Sinks never import each other.', from: { path: '^src/dns/' }, to: { path: '^src/(route53|notify|rfc2136|transfer)/' } },
    { name: 'transfer-sink-alone', severity: 'error', comment: 'Sinks never import each other (transfer may use the DNS wire layer of dns/).', from: { path: '^src/transfer/' }, to: { path: '^src/(route53|notify|rfc2136)/' } },
    { name: 'notify-sink-alone', severity: 'error', comment: 'Sinks never import each other.', from: { path: '^src/notify/' }, to: { path: '^src/(dns|route53|transfer|rfc2136)/' } },
    { name: 'rfc2136-sink-alone', severity: 'error', comment: 'Sinks never import each other: the RFC 2136 sink uses only the shared wire layer of dns/ (dns/wire/).', from: { path: '^src/rfc2136/' }, to: { path: '^src/(route53|notify|transfer)/|^src/dns/(?!wire/)' } },
    {
      name: 'failover-knows-no-probe-or-sink',
      severity: 'error',
      comment: 'The state machine knows nothing of probes, sockets or sinks: it reads health and emits decisions.',
      from: { path: '^src/failover/' },
      to: { path: '^src/(probes|dns|route53|rfc2136|transfer|notify)/' },
    },
    {
      name: 'dns-reads-snapshots',
      severity: 'error',
      comment: 'The embedded server answers from records/ snapshots only; decisions reach it as snapshots.',
      from: { path: '^src/dns/' },
      to: { path: '^src/(failover|health|probes)/' },
    },
    {
      name: 'cli-is-the-top',
      severity: 'error',
      comment: 'Only the CLI imports the CLI.',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'stages-below-wiring',
      severity: 'error',
      comment: 'Stages and sinks never import the admin API or the daemon wiring.',
      from: { path: '^src/(probes|health|failover|records|dns|route53|rfc2136|transfer|notify|maintenance|state|cluster)/' },
      to: { path: '^src/(admin/|daemon\\.ts$)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
