/**
 * A MaxMind-format database (.mmdb: GeoLite2 / GeoIP2 Country or City, or
 * one of one's own) that a topology map looks clients up in by country and
 * continent, read with mmdb-lib.
 *
 * The file is read whole at config load (and at every reload) and checked
 * before anything answers from it: a missing, unreadable or corrupt file
 * is a config problem naming the file, and the daemon keeps serving the
 * last good config. A file whose bytes did not change is the same
 * GeoDatabase (its id is a hash of the bytes).
 *
 * A GeoDatabase travels inside decisions and snapshots. Its reader and
 * bytes are private fields, which neither JSON (cluster decisions in etcd)
 * nor structured clone (UDP workers) copy: they see `{ id, file }` and
 * find the reader by id with geoDatabaseById (the worker pool sends each
 * worker the bytes of every database once: registerGeoDatabase).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Reader, type Response } from 'mmdb-lib';
import { errorText } from '../errors.ts';

/** The record fields failoverd reads (GeoLite2/GeoIP2 Country and City have them; a database of one's own may not). */
interface GeoRecord {
  country?: { iso_code?: unknown };
  continent?: { code?: unknown };
}

/** What the database says of one address. */
export interface GeoAnswer {
  /** ISO 3166-1 alpha-2 (record field country.iso_code), upper case. */
  country?: string;
  /** Two-letter continent code (record field continent.code): AF AN AS EU NA OC SA. */
  continent?: string;
  /** The prefix length of the database network the address is in (the record holds for all of it), as mmdb-lib reports it. */
  prefix: number;
}

/** How a GeoDatabase looks after JSON or structured clone. */
export interface GeoDatabaseRef {
  id: string;
  file: string;
}

/** Decoded records kept per database (GeoLite2-Country has a few hundred; City millions: bounded). */
const RECORD_CACHE_MAX = 10_000;

export class GeoDatabase implements GeoDatabaseRef {
  readonly #reader: Reader<Response>;
  readonly #bytes: Buffer;
  readonly #ipVersion: number;

  constructor(
    /** sha256 of the bytes (hex, 16 characters). */
    readonly id: string,
    /** The file as configured (resolved to an absolute path). */
    readonly file: string,
    bytes: Buffer,
  ) {
    const records = new Map<string | number, unknown>();
    this.#reader = new Reader<Response>(bytes, {
      cache: {
        get: (k) => records.get(k),
        set: (k, v) => {
          if (records.size >= RECORD_CACHE_MAX) records.clear();
          records.set(k, v);
        },
      },
    });
    this.#bytes = bytes;
    this.#ipVersion = this.#reader.metadata.ipVersion;
  }

  /** The file's bytes (sent to UDP workers). */
  bytes(): Buffer {
    return this.#bytes;
  }

  /** "GeoLite2-Country, built 2026-12-01" */
  describe(): string {
    const m = this.#reader.metadata;
    return `${m.databaseType}, built ${m.buildEpoch.toISOString().slice(0, 10)}`;
  }

  /** The country and continent of an address (4 or 16 bytes), and the prefix of the database network it is in. */
  lookup(family: 4 | 6, bytes: Uint8Array): GeoAnswer {
    // An IPv4-only database knows nothing of IPv6: no record, for the whole family (/0).
    if (family === 6 && this.#ipVersion === 4) return { prefix: 0 };
    const [found, prefix] = this.#reader.getWithPrefixLength(addressText(family, bytes));
    if (!found || typeof found !== 'object') return { prefix };
    const record = found as GeoRecord;
    const country = record.country?.iso_code;
    const continent = record.continent?.code;
    return { ...(typeof country === 'string' ? { country: country.toUpperCase() } : {}), ...(typeof continent === 'string' ? { continent: continent.toUpperCase() } : {}), prefix };
  }
}

function addressText(family: 4 | 6, b: Uint8Array): string {
  if (family === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  let out = '';
  for (let i = 0; i < 16; i += 2) out += (i ? ':' : '') + ((b[i]! << 8) | b[i + 1]!).toString(16);
  return out;
}

/** Every database this process holds, by id; a database no config, decision or snapshot holds any more goes away. */
const byId = new Map<string, WeakRef<GeoDatabase>>();
const forgotten = new FinalizationRegistry<string>((id) => {
  if (byId.get(id)?.deref() === undefined) byId.delete(id);
});

function remember(db: GeoDatabase): GeoDatabase {
  byId.set(db.id, new WeakRef(db));
  forgotten.register(db, db.id);
  return db;
}

/** The database with this id in this process, if any holds it. */
export function geoDatabaseById(id: string): GeoDatabase | undefined {
  return byId.get(id)?.deref();
}

/** The reader of `ref`: itself in the process that loaded it, else the one registered under its id. */
export function geoDatabaseOf(ref: GeoDatabaseRef): GeoDatabase | undefined {
  return ref instanceof GeoDatabase ? ref : geoDatabaseById(ref.id);
}

/** Every database this process holds now. */
export function liveGeoDatabases(): GeoDatabase[] {
  const out: GeoDatabase[] = [];
  for (const ref of byId.values()) {
    const db = ref.deref();
    if (db) out.push(db);
  }
  return out;
}

/** A database whose bytes came from elsewhere (a UDP worker, from the main process), checked as a file is. */
export function registerGeoDatabase(id: string, file: string, bytes: Buffer): GeoDatabase {
  const known = geoDatabaseById(id);
  if (known) return known;
  const problem = corruption(bytes);
  if (problem) throw new Error(`${file} is not a usable MaxMind database: ${problem}`);
  return remember(new GeoDatabase(id, file, bytes));
}

/**
 * Reads and checks a database file; throws an Error whose message names
 * the file and what is wrong with it.
 */
export async function loadGeoDatabase(file: string): Promise<GeoDatabase> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new Error(`cannot read the MaxMind database ${file}: ${errorText(err)}`, { cause: err });
  }
  const id = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const known = geoDatabaseById(id);
  if (known && known.file === file) return known;
  const problem = corruption(bytes);
  if (problem) throw new Error(`${file} is not a usable MaxMind database: ${problem}`);
  return remember(new GeoDatabase(id, file, bytes));
}

const METADATA_MARKER = Buffer.from('\xab\xcd\xefMaxMind.com', 'latin1');

/** Why `bytes` cannot be read as an .mmdb, or undefined. */
function corruption(bytes: Buffer): string | undefined {
  const marker = bytes.lastIndexOf(METADATA_MARKER);
  if (marker < 0) return 'no MaxMind metadata marker (not an .mmdb file, or truncated)';
  let reader: Reader<Response>;
  try {
    reader = new Reader<Response>(bytes);
  } catch (err) {
    return `unreadable metadata: ${errorText(err)}`;
  }
  const m = reader.metadata;
  if (m.binaryFormatMajorVersion !== 2) return `binary format version ${m.binaryFormatMajorVersion} (mmdb-lib reads version 2)`;
  if (m.ipVersion !== 4 && m.ipVersion !== 6) return `ip_version ${String(m.ipVersion)} (must be 4 or 6)`;
  if (![24, 28, 32].includes(m.recordSize)) return `record_size ${String(m.recordSize)} (must be 24, 28 or 32)`;
  if (!(m.nodeCount > 0) || m.searchTreeSize + 16 > marker) return `the search tree (${m.nodeCount} nodes of ${m.recordSize * 2} bits) does not fit in the file's ${bytes.length} bytes`;
  for (let i = m.searchTreeSize; i < m.searchTreeSize + 16; i++) {
    if (bytes[i] !== 0) return 'no data section separator after the search tree (corrupt or truncated)';
  }
  // A few lookups: a corrupt tree or data section throws here, not on a query.
  try {
    for (const a of m.ipVersion === 6 ? ['0.0.0.0', '255.255.255.255', '::', 'ffff::', '2001:db8::1'] : ['0.0.0.0', '128.0.0.1', '255.255.255.255']) reader.getWithPrefixLength(a);
  } catch (err) {
    return `a lookup failed: ${errorText(err)}`;
  }
  return undefined;
}
