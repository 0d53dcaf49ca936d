/** Debian's Chromium driven by playwright-core, for the tests of the status page and of the admin API's browser safety. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** True when Chromium is installed; else skips the test with the reason (fails with CI=true). */
export function needChromium(t: TestContext): boolean {
  if (existsSync(CHROMIUM)) return true;
  const reason = `${CHROMIUM} not installed (Debian package chromium)`;
  if (process.env.CI === 'true') throw new Error(`${reason}: required when CI=true`);
  process.stdout.write(`# SKIP: ${reason}\n`);
  t.skip(reason);
  return false;
}

/** A headless Chromium with its profile in `dir`; `args` are added to the command line. */
export async function launchChromium(dir: string, args: string[] = []): Promise<BrowserContext> {
  return chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...args],
    timeout: 30_000,
  });
}
