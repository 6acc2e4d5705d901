/**
 * Redis memory per session: MEMORY USAGE of every key one session needs, per stack;
 * then, for this server, the growth of `used_memory` over a bulk of sessions (which
 * also counts the key dictionary and expiry entries MEMORY USAGE leaves out) on a
 * standalone and on a cluster-enabled redis-server, and the projection for a Cluster.
 */
import { newTag } from '../../src/sessions/token.js';
import { keySpace } from '../../src/store/keys.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { type RedisProcess, startRedis } from '../../test/helpers/redis-server.js';
import type { MemoryFigures } from './results.js';
import type { Running } from './throughput.js';

const MASTERS = 3;

async function usedMemory(redis: RedisProcess): Promise<number> {
  const c = redis.client();
  const info = await c.info('memory');
  c.disconnect();
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
}

/** used_memory growth per session: each session of its own user (so each has an index). */
async function bulkPerSession(cluster: boolean, n: number, typical: { ip: string; userAgent: string }): Promise<number> {
  const redis = await startRedis(cluster ? { args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'] } : {});
  const client = redis.client();
  try {
    if (cluster) {
      // One node owning every slot: cluster bookkeeping per key, no redirections.
      await client.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
      for (let i = 0; i < 200 && !/cluster_state:ok/.test(String(await client.call('CLUSTER', 'INFO'))); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const store = new RedisStore({ client, keys: keySpace('ss:'), ownsClient: false });
    await store.create({ userId: 'warm-up', tag: newTag(), ...typical });
    const before = await usedMemory(redis);
    for (let done = 0; done < n; done += 200) {
      await Promise.all(
        Array.from({ length: Math.min(200, n - done) }, (_, i) =>
          store.create({ userId: `user${done + i}@example.org`, tag: newTag(), ...typical }),
        ),
      );
    }
    return ((await usedMemory(redis)) - before) / n;
  } finally {
    client.disconnect();
    await redis.stop();
  }
}

export async function measureMemory(
  running: Running[],
  redis: RedisProcess,
  bulk: number,
  log: (s: string) => void,
): Promise<MemoryFigures> {
  const admin = redis.client();
  const figures: MemoryFigures = { perSession: {} };
  let typical: { ip: string; userAgent: string } | undefined;
  try {
    for (const r of running) {
      if (!r.stack.memory) continue;
      const { typical: t, ...m } = await r.stack.memory(admin, r.child.url);
      if (t) typical = t;
      figures.perSession[r.stack.id] = m;
      log(`memory ${r.stack.id.padEnd(16)} ${m.bytes} B/session`);
    }
  } finally {
    admin.disconnect();
  }
  if (typical && bulk > 0) {
    const standalone = await bulkPerSession(false, bulk, typical);
    const cluster = await bulkPerSession(true, bulk, typical);
    figures.usedMemoryPerSession = { standalone, cluster, sessions: bulk };
    figures.projection = [10_000_000, 100_000_000].map((sessions) => ({
      sessions,
      bytes: sessions * cluster,
      perMasterBytes: (sessions * cluster) / MASTERS,
      masters: MASTERS,
    }));
    log(`memory bulk: ${standalone.toFixed(0)} B/session standalone, ${cluster.toFixed(0)} B/session cluster-enabled`);
  }
  return figures;
}
