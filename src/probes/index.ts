/** The probe kinds, by check.type. */
import { httpProbe } from './http.ts';
import { tcpProbe } from './tcp.ts';
import type { ProbeFn } from './types.ts';
import type { CheckConfig } from '../config/types.ts';

export type ProbeKind = CheckConfig['type'];

const PROBES: Record<ProbeKind, ProbeFn> = {
  http: httpProbe,
  https: httpProbe,
  tcp: tcpProbe,
};

export function probeFor(kind: ProbeKind): ProbeFn {
  return PROBES[kind];
}

export { httpProbe, tcpProbe };
export type { ProbeFn, ProbeResult, ProbeSpec } from './types.ts';
