/**
 * The record model shared by zone files, failover answers, the embedded
 * server and the Route 53 sink.
 *
 * Names: owner names are absolute, lower-case, without the trailing dot
 * ("www.example.test"; the root is ""). Names inside RDATA keep the case
 * they were written in, also absolute and without the trailing dot.
 */
export type RRType = 'A' | 'AAAA' | 'CNAME' | 'NS' | 'SOA' | 'MX' | 'TXT' | 'SRV' | 'CAA' | 'PTR';

export const RR_TYPE_CODE: Record<RRType, number> = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  CAA: 257,
};

export const RR_TYPE_BY_CODE: ReadonlyMap<number, RRType> = new Map(
  Object.entries(RR_TYPE_CODE).map(([k, v]) => [v, k as RRType]),
);

export interface SoaData {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

export type RData =
  | { type: 'A'; address: string }
  | { type: 'AAAA'; address: string }
  | { type: 'CNAME'; target: string }
  | { type: 'NS'; host: string }
  | { type: 'PTR'; target: string }
  | { type: 'MX'; preference: number; exchange: string }
  /** Each string is one <character-string>: at most 255 bytes. */
  | { type: 'TXT'; strings: Buffer[] }
  | { type: 'SRV'; priority: number; weight: number; port: number; target: string }
  | { type: 'CAA'; flags: number; tag: string; value: Buffer }
  | ({ type: 'SOA' } & SoaData);

export interface ResourceRecord {
  name: string;
  ttl: number;
  data: RData;
}

/** A record as read from a zone file, with where it came from. */
export interface ZoneFileRecord extends ResourceRecord {
  file: string;
  line: number;
}

/** One zone as parsed from its master file. */
export interface ZoneFile {
  origin: string;
  file: string;
  records: ZoneFileRecord[];
}
