/** Waiting on what a child process prints: its own word that it is ready. */
import type { ChildProcess } from 'node:child_process';

/**
 * Resolves 'printed' once the child's stderr (all of it so far, as `text()`
 * returns it) includes `needle`; 'exited' if the child ends first, 'timeout'
 * after `ms`.
 */
export function printedOnStderr(child: ChildProcess, text: () => string, needle: string, ms: number): Promise<'printed' | 'exited' | 'timeout'> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (text().includes(needle)) finish('printed');
    };
    const exited = (): void => finish('exited');
    const timer = setTimeout(() => finish('timeout'), ms);
    const finish = (outcome: 'printed' | 'exited' | 'timeout'): void => {
      clearTimeout(timer);
      child.stderr?.off('data', check);
      child.off('exit', exited);
      resolve(outcome);
    };
    // Added after the caller's own 'data' listener, so text() already holds each chunk when check() runs.
    child.stderr?.on('data', check);
    child.once('exit', exited);
    if (child.exitCode !== null || child.signalCode !== null) finish('exited');
    else check();
  });
}
