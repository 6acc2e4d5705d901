/**
 * Runs HAProxy with deploy/haproxy.cfg — the very file docker-compose.yml mounts — on
 * free loopback ports, the app addresses given through the environment (the config
 * expands "${APP1_ADDR}" etc.). Stopped with SIGTERM (hard stop) by its PID.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { eventually } from './eventually.js';
import { freePort } from './ports.js';

/** The config under test: the one docker-compose.yml mounts. */
export const HAPROXY_CFG = fileURLToPath(new URL('../../deploy/haproxy.cfg', import.meta.url));

const run = promisify(execFile);

export type ServerStatus = 'UP' | 'DOWN' | 'MAINT' | 'NOLB' | string;

export interface HaproxyProcess {
  readonly port: number;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly statsUrl: string;
  /** Backend server states by name (app1, app2), from the stats CSV. */
  status(): Promise<Record<string, ServerStatus>>;
  /** Waits until a backend server reaches a state (e.g. after a restart: 'UP'). */
  waitFor(server: string, state: ServerStatus, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface HaproxyOptions {
  /** Addresses of the two app nodes, `host:port`. */
  app1: string;
  app2: string;
  /** Extra environment for the config (overrides). */
  env?: Record<string, string>;
}

export async function startHaproxy(opts: HaproxyOptions): Promise<HaproxyProcess> {
  const port = await freePort();
  const statsPort = await freePort();
  const env = {
    ...process.env,
    HAPROXY_BIND: `127.0.0.1:${port}`,
    HAPROXY_STATS_BIND: `127.0.0.1:${statsPort}`,
    APP1_ADDR: opts.app1,
    APP2_ADDR: opts.app2,
    ...opts.env,
  };
  // Fail with HAProxy's own message when the config does not parse.
  await run('haproxy', ['-c', '-q', '-f', HAPROXY_CFG], { env });
  const proc: ChildProcess = spawn('haproxy', ['-db', '-f', HAPROXY_CFG], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  const statsUrl = `http://127.0.0.1:${statsPort}/stats`;

  const status = async () => {
    const res = await fetch(`${statsUrl};csv`);
    const csv = await res.text();
    const out: Record<string, ServerStatus> = {};
    const [header, ...rows] = csv.trim().split('\n');
    const cols = (header ?? '').replace(/^# /, '').split(',');
    const [px, sv, st] = ['pxname', 'svname', 'status'].map((c) => cols.indexOf(c));
    for (const row of rows) {
      const f = row.split(',');
      if (f[px!] === 'app' && f[sv!] !== 'BACKEND') out[f[sv!]!] = f[st!]!;
    }
    return out;
  };

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`haproxy exited: ${stderr}`);
    try {
      await status();
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`haproxy did not start: ${stderr}`);
      await sleep(25);
    }
  }

  return {
    port,
    url,
    statsUrl,
    status,
    async waitFor(server, state, timeoutMs = 15_000) {
      let s: Record<string, ServerStatus> = {};
      await eventually(
        async () => {
          s = await status().catch(() => ({}) as Record<string, ServerStatus>);
          // HAProxy reports transitions as e.g. "UP 1/2" / "DOWN 1/2": only the settled state counts.
          return s[server] === state;
        },
        { timeoutMs, what: () => `haproxy: ${server} is ${s[server]}, wanted ${state}` },
      );
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}
