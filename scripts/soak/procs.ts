/**
 * The soak's processes: its own redis-server (AOF off: the soak checks logic, not
 * durability) and N server processes of src/main.ts on free ports, each with its
 * stdout/stderr in a log file; plus RSS sampling from /proc and the admin CLI as a
 * subprocess. Everything is stopped by PID at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../test/helpers/ports.js';

export interface ServerProc {
  url: string;
  pid: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

export async function startServerProc(opts: {
  redisUrl: string;
  env: Record<string, string>;
  logFile: string;
  root: string;
}): Promise<ServerProc> {
  const port = await freePort();
  const out = createWriteStream(opts.logFile);
  const proc = spawn(process.execPath, ['--import', 'tsx', join(opts.root, 'src/main.ts')], {
    cwd: opts.root,
    env: { ...process.env, ...opts.env, PORT: String(port), HOST: '127.0.0.1', REDIS_URL: opts.redisUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout?.pipe(out);
  proc.stderr?.pipe(out);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}; see ${opts.logFile}`);
    const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`server on ${port} not ready; see ${opts.logFile}`);
    await sleep(100);
  }
  return {
    url,
    pid: proc.pid!,
    proc,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Resident set size of a process in bytes (Linux), or NaN once it is gone. */
export function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Runs the admin CLI; resolves with its exit code and output (never throws). */
export function runCli(root: string, redisUrl: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts/admin.ts'), ...args], {
      cwd: root,
      env: { ...process.env, REDIS_URL: redisUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d; });
    p.stderr.on('data', (d: Buffer) => { stderr += d; });
    const kill = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('close', (code) => {
      clearTimeout(kill);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}
