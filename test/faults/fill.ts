/**
 * Fills a private redis-server (started with `--maxmemory … --maxmemory-policy
 * noeviction`) with one big string until it refuses writes with OOM, and frees it again.
 */
import type { Redis } from 'ioredis';
import { startRedis, type RedisProcess } from '../helpers/redis-server.js';

const FILLER = 'faults:filler';

/** A Redis small enough to fill at once; noeviction, as the product requires. */
export const startSmallRedis = (): Promise<RedisProcess> =>
  startRedis({ args: ['--maxmemory', '8mb', '--maxmemory-policy', 'noeviction'] });

/** Grows one string past maxmemory; resolves once a plain SET is refused with OOM. */
export async function fill(admin: Redis): Promise<void> {
  const [, max] = (await admin.config('GET', 'maxmemory')) as [string, string];
  // SETRANGE is admitted while the server is still under its limit, and allocates the
  // whole string at once: one command takes it over.
  await admin.setrange(FILLER, Number(max), 'x');
  const refused = await admin.set('faults:probe', 'x').then(
    () => false,
    (err: Error) => err.message.startsWith('OOM'),
  );
  if (!refused) throw new Error('Redis still accepts writes after filling it');
}

/** Deletes the filler (DEL is never refused): writes are accepted again at once. */
export async function free(admin: Redis): Promise<void> {
  await admin.del(FILLER);
  await admin.set('faults:probe', 'x');
  await admin.del('faults:probe');
}
