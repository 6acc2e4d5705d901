/**
 * Redis memory per session: MEMORY USAGE of every key one session needs, per stack.
 */
import type { RedisProcess } from '../../test/helpers/redis-server.js';
import type { MemoryFigures } from './results.js';
import type { Running } from './throughput.js';

export async function measureMemory(
  running: Running[],
  redis: RedisProcess,
  log: (s: string) => void,
): Promise<MemoryFigures> {
  const admin = redis.client();
  const figures: MemoryFigures = { perSession: {} };
  try {
    for (const r of running) {
      if (!r.stack.memory) continue;
      const m = await r.stack.memory(admin, r.child.url);
      figures.perSession[r.stack.id] = m;
      log(`memory ${r.stack.id.padEnd(16)} ${m.bytes} B/session`);
    }
  } finally {
    admin.disconnect();
  }
  return figures;
}
