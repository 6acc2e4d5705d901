/**
 * Login storm (docs/performance.md): logins arrive at 4× what the hashing pool can absorb while
 * GET /api/me runs at a fixed rate; we compare its latency and the server's event-loop
 * delay (monitorEventLoopDelay in the child, via the bench hook) with and without the
 * storm. The server child here is NOT pinned to one CPU: the point is that argon2 runs
 * on the libuv pool beside the event loop, which one pinned core would rule out.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { loadConfig } from '../../src/config.js';
import { freePort } from '../../test/helpers/ports.js';
import { startChild } from './child.js';
import { load } from './load.js';
import type { BenchOptions } from './options.js';
import type { StormFigures } from './results.js';
import { ensureUser, login, loginCookie } from './sliding.js';
import type { Stack } from './stacks.js';
import { median } from './stats.js';

const floodScript = fileURLToPath(new URL('./login-flood.ts', import.meta.url));
const ME_RATE = 1000;
const ME_CONNECTIONS = 10;

export async function measureStorm(
  stack: Stack,
  redisUrl: string,
  admin: Redis,
  o: BenchOptions,
  log: (s: string) => void,
): Promise<StormFigures> {
  const child = await startChild({
    name: 'storm',
    entry: stack.entry,
    port: await freePort(),
    env: stack.env(redisUrl),
    nodeFlags: o.profile === 'storm' ? ['--cpu-prof', '--cpu-prof-dir', 'bench-results/profiles'] : [],
  });
  try {
    await ensureUser(admin, 'bench');
    // The flood signs in another user: hundreds of logins of the measured user would
    // evict its session under SESSION_MAX_PER_USER (oldest first) and fail the reads.
    await ensureUser(admin, 'storm');
    const cookie = await loginCookie(child.url, 'bench');
    const url = `${child.url}/api/me`;

    // Pool capacity: hashing slots / time of one login (sequential, so no queueing).
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
      const t0 = performance.now();
      const res = await login(child.url, 'bench');
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`login answered ${res.status}`);
      times.push(performance.now() - t0);
    }
    const slots = loadConfig({ ...process.env, ...stack.env(redisUrl) }).passwordHashConcurrency;
    const capacity = (slots * 1000) / median(times.slice(1));
    const offered = Math.ceil(capacity * 4);
    log(`storm: one login ≈ ${median(times.slice(1)).toFixed(1)} ms, ${slots} hashing slots → ≈ ${capacity.toFixed(0)} logins/s; offering ${offered}/s`);

    await child.eldStart();
    const base = await load({ url, cookie, connections: ME_CONNECTIONS, rate: ME_RATE, seconds: o.stormSeconds });
    const baseEld = (await child.eldStop()).eld!;

    const flood = spawn(process.execPath, ['--import', 'tsx', floodScript, child.url, 'storm', String(offered), String(o.stormSeconds)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let floodOut = '';
    flood.stdout.on('data', (d: Buffer) => {
      floodOut += d.toString();
    });
    const floodDone = new Promise<void>((resolve) => flood.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const check = (d: Buffer) => {
        if (d.toString().includes('go')) {
          flood.stdout.off('data', check);
          resolve();
        }
      };
      flood.stdout.on('data', check);
      flood.once('exit', () => reject(new Error(`login flood exited early: ${floodOut}`)));
    });
    await child.eldStart();
    const during = await load({ url, cookie, connections: ME_CONNECTIONS, rate: ME_RATE, seconds: o.stormSeconds });
    const stormEld = (await child.eldStop()).eld!;
    await floodDone;
    const result = JSON.parse(floodOut.trim().split('\n').at(-1) || '{}') as {
      ok: number;
      throttled: number;
      other: number;
      codes: Record<string, number>;
    };
    const logins = { ok: result.ok ?? 0, throttled: result.throttled ?? 0, other: result.other ?? 0 };
    log(`storm: /api/me p99 ${base.p99} → ${during.p99} ms, event-loop delay p99 ${baseEld.p99.toFixed(1)} → ${stormEld.p99.toFixed(1)} ms; logins ${JSON.stringify(result.codes)}`);
    return {
      poolCapacityPerSec: capacity,
      offeredPerSec: offered,
      logins,
      baseline: { p50: base.p50, p99: base.p99, eldP99: baseEld.p99, rps: base.rps },
      storm: { p50: during.p50, p99: during.p99, eldP99: stormEld.p99, eldMax: stormEld.max, rps: during.rps },
      failures: base.failures + during.failures,
    };
  } finally {
    await child.stop();
  }
}
