/** How the CLI reports config and zone problems: every one, then exit 2. */
import { ProblemsError, formatProblem } from '../errors.ts';

export const EXIT_CONFIG = 2;

export function reportProblems(err: unknown): number | undefined {
  if (!(err instanceof ProblemsError)) return undefined;
  process.stderr.write(`failoverd: ${err.problems.length} problem${err.problems.length === 1 ? '' : 's'} (${err.code}):\n`);
  for (const p of err.problems) process.stderr.write(`  ${formatProblem(p)}\n`);
  return EXIT_CONFIG;
}
