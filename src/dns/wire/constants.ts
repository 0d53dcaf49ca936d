/**
 * DNS wire constants (RFC 1035 §4 and later RFCs), in one place for the
 * server, the fast path and zone transfers. Record type codes of zone data
 * (A, NS, SOA, ...) live with the record types: RR_TYPE_CODE in
 * dns-model/records.ts; here are the codes of the protocol itself.
 */

/** Octets in a message header (RFC 1035 §4.1.1). */
export const HEADER_SIZE = 12;
/** Longest label, in octets (RFC 1035 §2.3.4). */
export const MAX_LABEL = 63;
/** Longest name on the wire, length octets and root included (RFC 1035 §2.3.4). */
export const MAX_NAME = 255;
/** Longest message: what a TCP length prefix can say (RFC 1035 §4.2.2). */
export const MAX_MESSAGE = 65535;
/** A UDP reply without EDNS fits in this (RFC 1035 §2.3.4). */
export const UDP_PLAIN_LIMIT = 512;
/** The UDP payload size failoverd offers with EDNS (the DNS Flag Day 2020 value). */
export const EDNS_UDP_SIZE = 1232;

/** Header flag bits (the second 16-bit word). */
export const FLAG_QR = 0x8000;
export const FLAG_AA = 0x0400;
export const FLAG_TC = 0x0200;
export const FLAG_RD = 0x0100;

export const OPCODE_QUERY = 0;
/** RFC 1996. */
export const OPCODE_NOTIFY = 4;
/** RFC 2136. */
export const OPCODE_UPDATE = 5;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, NOTAUTH: 9, BADVERS: 16 } as const;
/** The RCODEs of an UPDATE's answer (RFC 2136 §2.2), beside RCODE's. */
export const UPDATE_RCODE = { YXDOMAIN: 6, YXRRSET: 7, NXRRSET: 8, NOTAUTH: 9, NOTZONE: 10 } as const;
/** Names of the header RCODEs, for logs, status and metrics. */
export const RCODE_NAME: Readonly<Record<number, string>> = Object.fromEntries([...Object.entries(RCODE), ...Object.entries(UPDATE_RCODE)].map(([k, v]) => [v, k]));

export const CLASS_IN = 1;
/** QCLASS * (RFC 1035 §3.2.5): answered with the IN data; also the class of a TSIG record. */
export const CLASS_ANY = 255;
/** Class NONE (RFC 2136 §1.3): "delete this RR" and "RRset does not exist". */
export const CLASS_NONE = 254;

/** DS: the one type a delegation's parent side answers (RFC 4035 §3.1.4.1). */
export const TYPE_DS = 43;
/** OPT pseudo-record (EDNS, RFC 6891). */
export const TYPE_OPT = 41;
/** TSIG (RFC 8945). */
export const TYPE_TSIG = 250;
export const QTYPE_IXFR = 251;
export const QTYPE_AXFR = 252;
export const QTYPE_ANY = 255;
