/**
 * The real server as a separate process (`node --import tsx src/main.ts`), configured
 * only through its environment as in production: the scale-out tests run several of
 * them behind HAProxy, and against Sentinel or Cluster through REDIS_SENTINELS /
 * REDIS_CLUSTER_NODES. Stopped by PID, never by name.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './ports.js';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface AppProcess {
  readonly port: number;
  /** `127.0.0.1:<port>`, for HAProxy. */
  readonly addr: string;
  readonly url: string;
  readonly pid: number;
  /** stdout + stderr so far (JSON logs), for failure messages. */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Sends a signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface AppOptions {
  /** Configuration (docs/configuration.md); PORT and HOST are set here. */
  env: Record<string, string>;
  /** Reuse a port (a restarted node keeps its HAProxy address). */
  port?: number;
  /** Wait until /readyz answers 200 (default true). */
  waitReady?: boolean;
  /**
   * A compiled entry point run with plain node from its own directory, e.g. a previous
   * release's dist/src/main.js (test/helpers/previous-release.ts); default: this
   * checkout's src/main.ts through tsx.
   */
  main?: string;
}

export async function startApp(opts: AppOptions): Promise<AppProcess> {
  const port = opts.port ?? (await freePort());
  const args = opts.main ? [opts.main] : ['--import', 'tsx', MAIN];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: opts.main ? dirname(opts.main) : ROOT,
    // Only what the test says: nothing leaks in from the developer's shell.
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...opts.env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const app: AppProcess = {
    port,
    addr: `127.0.0.1:${port}`,
    url,
    pid: child.pid ?? -1,
    output: () => out,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  if (opts.waitReady === false) return app;
  const deadline = Date.now() + 30_000;
  let done = false;
  void exited.then(() => {
    done = true;
  });
  for (;;) {
    if (done) throw new Error(`app exited during start (code ${child.exitCode}):\n${out}`);
    try {
      const res = await fetch(`${url}/readyz`);
      await res.arrayBuffer();
      if (res.status === 200) return app;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`app not ready after 30 s:\n${out}`);
    }
    await sleep(100);
  }
}
