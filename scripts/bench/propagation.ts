/**
 * Cache revocation propagation (SESSION_CACHE=on): a session warm in the server's cache
 * is revoked through another connection (what the CLI or another node does) while a
 * client keeps requesting it. Measured: time from the revocation's acknowledgement to
 * the first refused response, and how many requests sent after the acknowledgement
 * were still served (the contract: none, once the invalidation has arrived).
 */
import type { Redis } from 'ioredis';
import { keySpace } from '../../src/store/keys.js';
import { RedisStore } from '../../src/store/redis-store.js';
import type { PropagationFigures } from './results.js';
import { ensureUser } from './sliding.js';
import { percentile } from './stats.js';
import type { Running } from './throughput.js';

export async function measurePropagation(
  r: Running,
  admin: Redis,
  samples: number,
  log: (s: string) => void,
): Promise<PropagationFigures> {
  const cli = new RedisStore({ client: admin.duplicate(), keys: keySpace('ss:') });
  const { tag } = await ensureUser(admin, 'bench');
  const url = `${r.child.url}/api/me`;
  const get = async (cookie: string) => {
    const res = await fetch(url, { headers: { cookie } });
    await res.arrayBuffer();
    return res.status;
  };
  const delays: number[] = [];
  let servedAfterAck = 0;
  try {
    for (let i = 0; i < samples; i++) {
      const issued = await cli.create({ userId: 'bench', tag, ip: '127.0.0.1', userAgent: 'bench' });
      const cookie = `sid=${issued!.token}`;
      for (let w = 0; w < 3; w++) if ((await get(cookie)) !== 200) throw new Error('fresh session refused');
      let ackAt = Number.POSITIVE_INFINITY;
      const revoked = cli.revoke(issued!.token).then(() => {
        ackAt = performance.now();
      });
      for (;;) {
        const sentAt = performance.now();
        const status = await get(cookie);
        if (status === 401) {
          await revoked;
          delays.push(Math.max(0, performance.now() - ackAt));
          break;
        }
        if (status !== 200) throw new Error(`GET /api/me answered ${status}`);
        if (sentAt > ackAt) servedAfterAck++;
      }
    }
  } finally {
    await cli.close();
  }
  const fig = { samples, p50: percentile(delays, 50), p99: percentile(delays, 99), max: Math.max(...delays), servedAfterAck };
  log(`propagation: ack → first refusal p50 ${fig.p50.toFixed(2)} ms, p99 ${fig.p99.toFixed(2)} ms; served after ack: ${servedAfterAck}`);
  return fig;
}
