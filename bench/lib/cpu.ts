/** Core pinning with taskset: the server on one core, the load generator on another (when there are 2+). */
import { availableParallelism } from 'node:os';
import { hasTool } from '../../test/helpers/tools.ts';

export const CORES = availableParallelism();
const canPin = CORES >= 2 && hasTool('taskset');

/** The command prefixed with taskset for its role; unchanged when pinning is not possible. */
export function pinned(role: 'server' | 'client', cmd: string[]): string[] {
  if (!canPin) return cmd;
  return ['taskset', '-c', role === 'server' ? '0' : '1', ...cmd];
}

export function pinningNote(): string {
  return canPin ? 'server on core 0, load generator on core 1 (taskset)' : `not pinned (${CORES} core(s)${hasTool('taskset') ? '' : ', no taskset'})`;
}
