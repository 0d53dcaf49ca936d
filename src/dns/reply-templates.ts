/**
 * Ready-encoded replies of one snapshot, for the fast path (fast-path.ts).
 *
 * A template is the full path's own reply (resolveQuestion + encodeReply)
 * to a canonical query: ID 0, RD clear, lower-case name, DO clear, and an
 * OPT or none. Everything the fast path patches afterwards (ID, RD, the
 * question's case, DO) changes only those bytes in the full path's output
 * too: names compress case-insensitively, so the answer's owner is a
 * pointer to the question whatever its case. That is why both paths give
 * the same bytes (test/dns-fast-path.test.ts checks it over the example zone).
 *
 * Not templated (null: the full path answers every time): weighted RRsets
 * (one record chosen per query), SERVFAIL, REFUSED (outside every zone), and
 * replies that would not fit untruncated in 512 bytes (no EDNS) or 1232 (EDNS).
 *
 * Built lazily, once per (name, type, shape) per snapshot, on its first
 * query: a snapshot swap stays O(1) however many record sets there are (a
 * failover among 10,000 record sets must not re-encode 40,000 replies before
 * it is visible), and only names that are asked cost memory. The first query
 * of a key costs what the full path costs (minus dns2's parser). At most
 * `maxEntries` keys are kept; when full, the table starts over, so a flood of
 * random names costs memory bounded by that and the hot names come back at
 * once.
 */
import type { NodeTopology, Snapshot } from '../records/snapshot.ts';
import type { QueryInfo } from './query.ts';
import { resolveQuestion, type ListChooser, type WeightedPicker } from './resolve.ts';
import { encodeReply } from './response.ts';
import { CLASS_IN, EDNS_UDP_SIZE, MAX_MESSAGE, OPCODE_QUERY, RCODE, UDP_PLAIN_LIMIT } from './wire/constants.ts';

export const DEFAULT_MAX_TEMPLATES = 20_000;

/** Policy topology names: one reply per site list of the client map; the client's address picks it. */
export interface TopologyTemplate {
  topology: NodeTopology;
  replies: Array<Buffer | null>;
}

type Template = Buffer | TopologyTemplate;
type Table = Map<number, Map<string, Template | null>>;

export class ReplyTemplates {
  private plain: Table = new Map();
  private edns: Table = new Map();
  private entries = 0;
  /** Counters for tests and benchmarks. */
  built = 0;
  resets = 0;

  constructor(
    readonly snapshot: Snapshot,
    private readonly maxEntries = DEFAULT_MAX_TEMPLATES,
  ) {}

  /** The template for (name, qtype, shape), or undefined when the full path must answer. */
  get(name: string, qtype: number, edns: boolean): Template | undefined {
    const table = edns ? this.edns : this.plain;
    let byName = table.get(qtype);
    if (byName === undefined) {
      byName = new Map();
      table.set(qtype, byName);
    }
    let t = byName.get(name);
    if (t === undefined) {
      if (this.entries >= this.maxEntries) {
        this.plain = new Map();
        this.edns = new Map();
        this.entries = 0;
        this.resets++;
        return this.get(name, qtype, edns);
      }
      t = buildTemplate(this.snapshot, name, qtype, edns);
      byName.set(name, t);
      this.entries++;
      this.built++;
    }
    return t ?? undefined;
  }

  get size(): number {
    return this.entries;
  }
}

/**
 * The full path's reply to the canonical query, or null when it is not
 * templated. A name of policy topology gets one reply per site list (the
 * answers precomputed per map entry and site state); a chain through two
 * such names is not templated.
 */
export function buildTemplate(snap: Snapshot, name: string, qtype: number, edns: boolean): Template | null {
  const seen = new Set<NodeTopology>();
  const first = buildReply(snap, name, qtype, edns, (t) => {
    seen.add(t);
    return 0;
  });
  if (seen.size === 0) return first;
  if (seen.size > 1) return null;
  const [topology] = seen as unknown as [NodeTopology];
  const replies = topology.answers.map((_, i) => (i === 0 ? first : buildReply(snap, name, qtype, edns, () => i)));
  return { topology, replies };
}

function buildReply(snap: Snapshot, name: string, qtype: number, edns: boolean, choose: ListChooser): Buffer | null {
  let picked = false;
  const pick: WeightedPicker = () => {
    picked = true;
    return 0;
  };
  const res = resolveQuestion(snap, name, qtype, pick, CLASS_IN, choose);
  if (picked || res.rcode === RCODE.SERVFAIL || res.rcode === RCODE.REFUSED) return null;
  const info: QueryInfo = {
    id: 0,
    opcode: OPCODE_QUERY,
    rd: false,
    question: { name, type: qtype, class: CLASS_IN },
    edns: edns ? { udpSize: EDNS_UDP_SIZE, version: 0, do: false } : undefined,
  };
  const reply = encodeReply(info, res, MAX_MESSAGE);
  return reply.length > (edns ? EDNS_UDP_SIZE : UDP_PLAIN_LIMIT) ? null : reply;
}
