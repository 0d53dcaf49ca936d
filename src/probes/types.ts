import type { CheckConfig } from '../config/types.ts';

/** The outcome of one probe. A probe never throws because a target is unhealthy. */
export interface ProbeResult {
  ok: boolean;
  /** Specific: "200 OK", "refused", "timeout after 500ms", "reset", "status 503", "body mismatch", "TLS error CERT_HAS_EXPIRED", ... */
  reason: string;
  /** Time from start to verdict. */
  latencyMs: number;
  /** Epoch ms when the probe finished. */
  at: number;
  /**
   * Set when the probe failed on an error of this machine, not of the
   * target (out of descriptors, local addresses or buffers): no verdict on
   * the target. Rise/fall does not count it; the last health stays.
   */
  local?: LocalProbeError;
}

/** A local error that failed a probe: its errno code, and the error (for the log). */
export interface LocalProbeError {
  code: string;
  err: Error;
}

/** What to probe: an address and how. */
export interface ProbeSpec {
  address: string;
  check: CheckConfig;
}

/** One probe kind. Resolves (never rejects) within check.timeout, or when `signal` aborts. */
export type ProbeFn = (spec: ProbeSpec, signal?: AbortSignal) => Promise<ProbeResult>;
