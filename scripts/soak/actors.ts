/**
 * The soak's side actors: the revocation checker's probes (revoked IDs must stay dead,
 * forged IDs must never live), the admin CLI killing sessions as a subprocess a few
 * times a minute, and the memory sampler.
 */
import type { Redis } from 'ioredis';
import { fakeToken } from './tokens.js';
import type { SoakHttp } from './http.js';
import type { SoakModel } from './model.js';
import { rssOf, runCli } from './procs.js';
import type { SessionUser } from './users.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sample<T>(xs: T[], n: number): T[] {
  const out: T[] = [];
  for (let i = 0; i < n && xs.length > 0; i++) out.push(xs[Math.floor(Math.random() * xs.length)]!);
  return out;
}

/** Presents IDs of revoked families, and forged IDs, on a loop; the model judges. */
export async function runProbes(http: SoakHttp, model: SoakModel, stop: () => boolean): Promise<void> {
  while (!stop()) {
    await pause(250);
    for (const token of sample(model.revokedTokens(performance.now(), 300), 4)) {
      model.counts.probesOfRevoked++;
      await http.call('GET', '/api/me', token).catch(() => {});
    }
    await probeForged(http, model);
  }
}

export async function probeForged(http: SoakHttp, model: SoakModel): Promise<void> {
  const c = await http.call('GET', '/api/me', fakeToken()).catch(() => undefined);
  if (c?.obs.live) model.violate(c.obs.end, 'never a session for a forged cookie', `forged ID → ${c.reply.status}`);
}

export interface CliStats {
  runs: number;
  kills: number;
  killUsers: number;
  failures: string[];
}

/** Kills a live session (or every session of a user) from the admin CLI every `everyMs`. */
export async function runCliKiller(
  root: string, redisUrl: string, users: SessionUser[], model: SoakModel, everyMs: number, stop: () => boolean,
): Promise<CliStats> {
  const stats: CliStats = { runs: 0, kills: 0, killUsers: 0, failures: [] };
  for (let i = 1; !stop(); i++) {
    const until = performance.now() + everyMs;
    while (!stop() && performance.now() < until) await pause(200);
    if (stop()) break;
    stats.runs++;
    if (i % 3 === 0) {
      const user = users[Math.floor(Math.random() * users.length)]!;
      const start = performance.now();
      const victims = model.familiesOf(user.name, start);
      const r = await runCli(root, redisUrl, ['sessions', 'kill', '--user', user.name]);
      if (r.code === 0) {
        model.revoked(victims, 'cli-kill-user', performance.now());
        stats.killUsers++;
      } else stats.failures.push(`kill --user ${user.name}: exit ${r.code} ${r.stderr.trim()}`);
    } else {
      const live = [...model.families.values()].filter((f) => f.revokedAck === undefined);
      const target = live[Math.floor(Math.random() * live.length)];
      if (!target) continue;
      const r = await runCli(root, redisUrl, ['sessions', 'kill', target.handle]);
      // Exit 1 "not found": it ended (expired, revoked) before the CLI got to it.
      if (r.code === 0) {
        model.revoked([target.handle], 'cli-kill', performance.now());
        stats.kills++;
      } else if (r.code !== 1) stats.failures.push(`kill ${target.handle}: exit ${r.code} ${r.stderr.trim()}`);
    }
  }
  return stats;
}

export interface MemorySample {
  at: number;
  rss: number[];
  redisUsed: number;
  redisKeys: number;
}

export async function runSampler(pids: number[], redis: Redis, everyMs: number, stop: () => boolean, out: MemorySample[]): Promise<void> {
  while (!stop()) {
    const info = await redis.info('memory').catch(() => '');
    out.push({
      at: performance.now(),
      rss: pids.map(rssOf),
      redisUsed: Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 'NaN'),
      redisKeys: await redis.dbsize().catch(() => Number.NaN),
    });
    const until = performance.now() + everyMs;
    while (!stop() && performance.now() < until) await pause(100);
  }
}
