/**
 * One stack under test = one child process (its own event loop and CPU account),
 * optionally pinned to a CPU so that the load generator and Redis do not share its core.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildStats, HookRequest } from './child-hook.js';

export interface ChildOptions {
  name: string;
  /** TypeScript entry, run through tsx. */
  entry: string;
  port: number;
  env: Record<string, string>;
  /** CPU list for taskset, e.g. '1'; undefined = not pinned. */
  cpus?: string | undefined;
  /** Extra node flags, e.g. ['--cpu-prof']. */
  nodeFlags?: string[];
  /** Path answering 2xx once the app is ready. */
  readyPath?: string;
}

export interface BenchChild {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  stats(): Promise<ChildStats>;
  eldStart(): Promise<ChildStats>;
  eldStop(): Promise<ChildStats>;
  stop(): Promise<void>;
}

const hook = fileURLToPath(new URL('./child-hook.ts', import.meta.url));

export async function startChild(o: ChildOptions): Promise<BenchChild> {
  const nodeArgs = ['--import', 'tsx', '--import', hook, ...(o.nodeFlags ?? []), o.entry];
  const [cmd, args] = o.cpus
    ? ['taskset', ['-c', o.cpus, process.execPath, ...nodeArgs]]
    : [process.execPath, nodeArgs];
  const proc: ChildProcess = spawn(cmd, args, {
    env: { ...process.env, ...o.env, BENCH_PORT: String(o.port), PORT: String(o.port) },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);

  let seq = 0;
  const waiting = new Map<number, (s: ChildStats) => void>();
  proc.on('message', (m: { id: number; stats: ChildStats }) => {
    waiting.get(m.id)?.(m.stats);
    waiting.delete(m.id);
  });
  const ask = (type: HookRequest['type']) =>
    new Promise<ChildStats>((resolve, reject) => {
      const id = ++seq;
      waiting.set(id, resolve);
      proc.send({ id, type } satisfies HookRequest, (err) => err && reject(err));
    });

  const url = `http://127.0.0.1:${o.port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${o.name} exited with ${proc.exitCode}:\n${output}`);
    try {
      const res = await fetch(url + (o.readyPath ?? '/healthz'));
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`${o.name} did not become ready:\n${output}`);
    }
    await sleep(100);
  }

  return {
    name: o.name,
    url,
    pid: proc.pid ?? 0,
    stats: () => ask('stats'),
    eldStart: () => ask('eld-start'),
    eldStop: () => ask('eld-stop'),
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
