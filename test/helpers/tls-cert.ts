/**
 * A throwaway self-signed TLS certificate for 127.0.0.1 / localhost, made by the openssl
 * CLI (node:crypto cannot issue X.509 certificates). `spki` is the base64 SHA-256 of the
 * certificate's DER SubjectPublicKeyInfo: the value Chromium's
 * `--ignore-certificate-errors-spki-list` pins (the browser tests need real HTTPS for
 * DBSC, and `--ignore-certificate-errors` alone is not enough).
 *
 *   const tls = makeTestCert();
 *   const srv = await startServer({ tls, ... });
 *   const browser = await launchChromium...(['--ignore-certificate-errors-spki-list=' + tls.spki]);
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCert {
  /** PEM private key (P-256). */
  key: string;
  /** PEM certificate, self-signed, SAN IP:127.0.0.1 and DNS:localhost. */
  cert: string;
  /** base64 SHA-256 of the certificate's DER SubjectPublicKeyInfo. */
  spki: string;
}

export function makeTestCert(): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'test-cert-'));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-addext', 'extendedKeyUsage=serverAuth',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const key = readFileSync(keyFile, 'utf8');
    const cert = readFileSync(certFile, 'utf8');
    return { key, cert, spki: spkiHash(cert) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** base64 SHA-256 of a PEM certificate's DER SubjectPublicKeyInfo. */
function spkiHash(certPem: string): string {
  const der = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}
