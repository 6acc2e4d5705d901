/**
 * TLS and ACL material for private test servers: a throw-away CA and one server
 * certificate for 127.0.0.1 / localhost, made with openssl in a temp dir per test file
 * (never committed), plus the redis-server arguments that turn on TLS-only listening
 * and an ACL user with the default user disabled.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TlsFiles {
  readonly dir: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** The CA certificate (PEM), for clients. */
  readonly ca: string;
  remove(): void;
}

/** How a test client reaches a server: TLS trusting the test CA, and an ACL user. */
export interface ClientAccess {
  tls?: { ca: string };
  username?: string;
  password?: string;
}

/** A CA and a server certificate valid for 127.0.0.1 and localhost (EC keys: quick to make). */
export async function makeCerts(): Promise<TlsFiles> {
  const dir = mkdtempSync(join(tmpdir(), 'ss-tls-'));
  const f = (name: string) => join(dir, name);
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...key, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=sliding-sessions test CA']);
  await run('openssl', ['req', ...key, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost']);
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await run('openssl', [
    'x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial',
    '-out', f('server.crt'), '-days', '2', '-extfile', f('ext.cnf'),
  ]);
  return {
    dir,
    caFile: f('ca.crt'),
    certFile: f('server.crt'),
    keyFile: f('server.key'),
    ca: readFileSync(f('ca.crt'), 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * redis-server arguments: listen only on TLS at `port` (plain port 0), clients need no
 * certificate of their own, and replication / the cluster bus also use TLS.
 */
export const tlsServerArgs = (files: TlsFiles, port: number): string[] => [
  '--port', '0', '--tls-port', String(port),
  '--tls-cert-file', files.certFile, '--tls-key-file', files.keyFile, '--tls-ca-cert-file', files.caFile,
  '--tls-auth-clients', 'no', '--tls-replication', 'yes',
];

/** An ACL user with every right, the default user off, and replicas logging in as that user. */
export const aclArgs = (username: string, password: string): string[] => [
  '--user', 'default', 'off',
  '--user', username, 'on', `>${password}`, '~*', '&*', '+@all',
  '--masteruser', username, '--masterauth', password,
];
