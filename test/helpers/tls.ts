/** Throwaway certificates made with openssl at test time: a self-signed one for HTTPS backends, and a CA with server and client certificates (the admin API's TLS). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

export interface Pki {
  dir: string;
  /** PEM file paths. */
  ca: string;
  /** Issues a certificate signed by this CA (EC P-256): files `<name>.crt` and `<name>.key`. */
  issue(name: string, opts?: { cn?: string; san?: string; clientAuth?: boolean }): { cert: string; key: string };
}

/** A throwaway CA in `dir` (openssl), which issues server and client certificates. Undefined (test skipped) when openssl is missing. */
export function makePki(t: TestContext, dir: string, caName = 'ca'): Pki | undefined {
  if (!needTool(t, 'openssl')) return undefined;
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
  const ca = join(dir, `${caName}.crt`);
  const caKey = join(dir, `${caName}.key`);
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=failoverd test ${caName}`, '-days', '2', '-keyout', caKey, '-out', ca, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return {
    dir,
    ca,
    issue(name, opts = {}) {
      const key = join(dir, `${name}.key`);
      const csr = join(dir, `${name}.csr`);
      const cert = join(dir, `${name}.crt`);
      const ext = join(dir, `${name}.ext`);
      run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${opts.cn ?? name}`, '-keyout', key, '-out', csr]);
      writeFileSync(ext, `basicConstraints=CA:FALSE\nextendedKeyUsage=${opts.clientAuth ? 'clientAuth' : 'serverAuth'}\n${opts.san ? `subjectAltName=${opts.san}\n` : ''}`);
      run(['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-days', '2', '-out', cert, '-extfile', ext]);
      return { cert, key };
    },
  };
}
