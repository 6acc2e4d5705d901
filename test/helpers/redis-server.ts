/**
 * A private redis-server per test file: started on a free loopback port in its own
 * temporary directory, stopped (SIGKILL if need be) when the file ends. Tests never
 * use or flush a Redis they did not start.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';
import { type ClientAccess, type TlsFiles, tlsServerArgs } from './redis-tls.js';

export interface RedisProcess {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** A fresh ioredis client to this server (closed by stop()). */
  client(): Redis;
  /** Stops the server (SIGTERM, then SIGKILL) and removes its directory. */
  stop(): Promise<void>;
  /** Sends a signal and waits for the process to exit (fault injection). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port and directory. */
  restart(): Promise<void>;
}

export interface RedisOptions {
  /** Extra redis-server arguments, e.g. ['--appendonly', 'yes']. */
  args?: string[];
  port?: number;
  /** Listen on TLS only (test/helpers/redis-tls.ts); `url` is then rediss://. */
  tls?: TlsFiles;
  /** How this helper's own clients log in (e.g. the ACL user of aclArgs()). */
  access?: ClientAccess;
}

export async function startRedis(opts: RedisOptions = {}): Promise<RedisProcess> {
  let port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'ss-redis-'));
  const clients: Redis[] = [];
  let proc: ChildProcess | undefined;
  const access = { ...(opts.tls ? { tls: { ca: opts.tls.ca } } : {}), ...opts.access };

  const launch = async () => {
    const args = [
      ...(opts.tls ? tlsServerArgs(opts.tls, port) : ['--port', String(port)]), '--bind', '127.0.0.1', '--dir', dir,
      '--save', '', '--appendonly', 'no', '--daemonize', 'no',
      '--enable-debug-command', 'local', '--loglevel', 'warning',
      ...(opts.args ?? []),
    ];
    // Its log goes to stdout: keep both, so a start that fails says why.
    proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const keep = (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis({ ...access, port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => {});
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        return;
      } catch {
        probe.disconnect();
        if (proc.exitCode !== null || Date.now() > deadline) {
          throw new Error(`redis-server on ${port} did not start: ${stderr}`);
        }
        await sleep(25);
      }
    }
  };

  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(signal);
    await exited;
  };

  // A port that was free when we asked can be taken before redis-server binds it (by
  // another test process, or handed out twice: a Cluster node's bus port): draw again.
  for (let attempt = 1; ; attempt++) {
    try {
      await launch();
      break;
    } catch (err) {
      if (opts.port !== undefined || attempt === 3 || !/in use/i.test((err as Error).message)) throw err;
      port = await freePort();
    }
  }
  return {
    port,
    dir,
    url: `${opts.tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
    client() {
      const c = new Redis({ ...access, port, host: '127.0.0.1' });
      c.on('error', () => {});
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.disconnect();
      const p = proc;
      if (p && p.exitCode === null && p.signalCode === null) {
        const exited = new Promise<void>((r) => p.once('exit', () => r()));
        p.kill('SIGTERM');
        const t = setTimeout(() => p.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
    kill,
    restart: launch,
  };
}
