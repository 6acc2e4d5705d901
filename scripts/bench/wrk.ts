/**
 * The wrk load driver: wrk (C, one thread, -c connections) as a child process, so the
 * load generator costs far less CPU on CPU 0 (which it shares with redis-server) than
 * autocannon running inside the harness. It inherits the harness's CPU affinity (CPU 0
 * when pinned). Statuses are counted by wrk/report-status.lua, so every non-2xx is seen,
 * not only the > 399 that wrk's own summary counts.
 */
import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadResult } from './load.js';

const script = fileURLToPath(new URL('wrk/report-status.lua', import.meta.url));

interface WrkJson {
  requests: number;
  duration_us: number;
  statuses: Record<string, number>;
  errors: { connect: number; read: number; write: number; timeout: number };
  latency_us: { p50: number; p99: number; max: number };
}

/** True when a `wrk` binary is on PATH. */
export function wrkAvailable(): boolean {
  return spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined;
}

export function wrkLoad(o: { url: string; cookie: string; connections: number; seconds: number }): Promise<LoadResult> {
  const args = [
    '-t1',
    `-c${o.connections}`,
    `-d${o.seconds}s`,
    '--timeout',
    '10s',
    '-H',
    `cookie: ${o.cookie}`,
    '-H',
    'accept: application/json',
    '-s',
    script,
    o.url,
  ];
  return new Promise((resolve, reject) => {
    execFile('wrk', args, { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const line = /^WRK_JSON (.*)$/m.exec(stdout)?.[1];
      if (err || !line) {
        reject(new Error(`wrk failed (${err?.message ?? 'no WRK_JSON line'}): ${stderr.trim() || stdout.trim()}`));
        return;
      }
      const j = JSON.parse(line) as WrkJson;
      let non2xx = 0;
      for (const [code, n] of Object.entries(j.statuses)) if (!code.startsWith('2')) non2xx += n;
      const e = j.errors;
      const seconds = j.duration_us / 1e6;
      resolve({
        requests: j.requests,
        seconds,
        rps: j.requests / seconds,
        p50: j.latency_us.p50 / 1000,
        p99: j.latency_us.p99 / 1000,
        failures: non2xx + e.connect + e.read + e.write + e.timeout,
        statusCodes: {
          ...j.statuses,
          ...(e.connect + e.read + e.write + e.timeout ? { socketErrors: e.connect + e.read + e.write + e.timeout } : {}),
        },
      });
    });
  });
}
