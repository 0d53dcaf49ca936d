/** A throwaway self-signed certificate for HTTPS backends, made with openssl at test time. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { needTool } from './tools.ts';

/** Undefined (test skipped) when openssl is missing; under CI=true that is a failure. */
export function selfSignedCert(t: TestContext): { key: Buffer; cert: Buffer } | undefined {
  if (!needTool(t, 'openssl')) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], {
      stdio: 'ignore',
      timeout: 20_000,
    });
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
