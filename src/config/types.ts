/**
 * The resolved configuration that the rest of failoverd reads: defaults
 * filled in, names canonical, targets with ids and their check attached.
 */
import type { AdminConfig } from './admin.ts';
import type { ClusterConfig } from './cluster.ts';
import type { Rfc2136Config } from './rfc2136.ts';
import type { Route53Config } from './route53.ts';
import type { SecondaryConfig, TransferConfig, TsigKey } from './transfer.ts';
import type { CheckConfig, Failback, HostPort } from './schema.ts';
import type { TopologyMap } from './topology.ts';

export type { CheckConfig, ClusterConfig, Failback, HostPort };

export type Health = 'UP' | 'DOWN' | 'UNKNOWN';
export type Policy = 'failover' | 'multivalue' | 'weighted' | 'topology';
/** The policy inside one site of a topology record set. */
export type SitePolicy = Exclude<Policy, 'topology'>;
export type WhenAllDown = 'primary' | 'all' | 'none' | 'servfail';
export type DynamicType = 'A' | 'AAAA' | 'CNAME';

export interface Target {
  /** Stable, readable id: explicit `id:` or "<name>/<type>/<address>". */
  id: string;
  /** IP address (A/AAAA) or host name (CNAME) answered for this target. */
  address: string;
  checkName: string;
  check: CheckConfig;
  weight: number;
  /** Targets with the same probe key share one probe: "<check>@<address>". */
  probeKey: string;
  /** Policy topology: the site the target belongs to. */
  site?: string;
}

/** One site of a topology record set. */
export interface SiteConfig {
  name: string;
  policy: SitePolicy;
  failback: Failback;
  maxAnswers: number;
  /** In order: the first is the site's primary. */
  targets: Target[];
}

/** Policy topology: the sites and the compiled client map (config/topology.ts). */
export interface TopologyConfig {
  sites: SiteConfig[];
  map: TopologyMap;
}

export interface RecordSetConfig {
  /** Canonical owner name (lower case, no trailing dot). */
  name: string;
  type: DynamicType;
  /** The served zone (apex name) this record set lives in. */
  zone: string;
  ttl: number;
  degradedTtl?: number;
  policy: Policy;
  failback: Failback;
  whenAllDown: WhenAllDown;
  maxAnswers: number;
  /** In order: the first is the primary. Policy topology: every site's targets, site after site. */
  targets: Target[];
  /** Policy topology only. */
  topology?: TopologyConfig;
}

export interface Config {
  /** The config file as given, for messages. */
  file: string;
  dns: {
    listen: HostPort[];
    workers: number | 'auto';
    /** Bounds on DNS over TCP; durations in milliseconds. */
    tcp: { maxConnections: number; maxPerClient: number; messageTimeout: number; idleTimeout: number };
    /** EDNS Client Subnet: resolvers whose option is honoured, and per listener whether (dns/client-subnet.ts). */
    ecs?: { allow: string[]; listeners: Record<string, 'allow' | 'any' | 'off'> };
  };
  /** Resolved zone file paths. */
  zoneFiles: string[];
  log: { level: string };
  startupTimeout: number;
  checks: Record<string, CheckConfig>;
  records: RecordSetConfig[];
  route53?: Route53Config;
  /** RFC 2136 UPDATE to existing authoritative servers (src/rfc2136/). */
  rfc2136?: Rfc2136Config;
  /** Admin HTTP API: tokens (admin.token and FAILOVERD_ADMIN_TOKEN among them) and TLS files read (config/admin.ts). */
  admin: AdminConfig;
  /** `file` resolved against the config file's folder. */
  state: { file: string };
  notify: NotifyConfig[];
  maintenance: MaintenanceConfig[];
  /** Secondaries support (transfer/): where NOTIFY goes, who may transfer, TSIG keys. */
  secondaries?: SecondaryConfig[];
  transfer?: TransferConfig;
  tsig?: TsigKey[];
  /** Cluster mode (src/cluster/); absent: one process as always. */
  cluster?: ClusterConfig;
}

export interface NotifyConfig {
  url: string;
  format: 'json' | 'slack';
  headers: Record<string, string>;
  timeout: number;
  retries: number;
  backoff: number;
  queue: number;
}

export interface MaintenanceConfig {
  /** Given, or "maintenance[<index>]". */
  name: string;
  targets: string[];
  cron: string;
  timezone?: string;
  duration: number;
  reason: string;
}
