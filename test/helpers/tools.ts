/**
 * Outside tools (dig, nsd, moto_server, dnsperf): a test whose tool is
 * missing skips with the reason printed, except under CI=true, where the
 * missing tool is a failure.
 */
import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';

export function hasTool(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Returns true when the tool is there; otherwise skips the test (or fails it under CI). */
export function needTool(t: TestContext, name: string, pkg = name): boolean {
  if (hasTool(name)) return true;
  const reason = `${name} not installed (Debian package ${pkg})`;
  if (process.env.CI === 'true') throw new Error(`${reason}: required when CI=true`);
  process.stdout.write(`# SKIP: ${reason}\n`);
  t.skip(reason);
  return false;
}
