/**
 * What every benchmark app shares: where to listen, where Redis is, and the body of
 * GET /api/me, so that every stack answers the same small JSON and the comparison
 * measures the session layer, not the payload.
 */
import { isoTime } from '../../../src/iso-time.js';
export interface AppEnv {
  port: number;
  redisUrl: string;
}

export function appEnv(): AppEnv {
  const port = Number(process.env.BENCH_PORT);
  const redisUrl = process.env.BENCH_REDIS_URL ?? '';
  if (!Number.isInteger(port) || port <= 0) throw new Error('BENCH_PORT is required');
  return { port, redisUrl };
}

/** Idle window of the peers' rolling sessions, like the product's default. */
export const IDLE_MS = 15 * 60_000;

/** The user a peer's bench-only login puts into its session. */
export const BENCH_USER = Object.freeze({ id: 'u_bench', username: 'bench' });

/**
 * The /api/me body: exactly the product's `{user, session}` (src/http/routes/api.ts),
 * field for field and byte for byte in size (a 23-character handle, four ISO instants
 * from the same formatter), so a difference between stacks is the session layer's,
 * not the payload's: every response byte costs app CPU on loopback.
 */
export function meBody(user: { id: string; username: string }, createdAt: number, lastActiveAt: number) {
  return {
    user,
    session: {
      handle: BENCH_HANDLE,
      createdAt: isoTime(createdAt),
      lastActiveAt: isoTime(lastActiveAt),
      idleExpiresAt: isoTime(lastActiveAt + IDLE_MS),
      absoluteExpiresAt: isoTime(createdAt + 30 * 86_400_000),
      refreshable: true,
    },
  };
}

/** As long as the product's `<tag>-<10 chars>` handle. */
const BENCH_HANDLE = 'benchbench00-bench00000';

/** A fixed 32+ character secret: the peers need one to sign their cookies. */
export const COOKIE_SECRET = 'bench-only-secret-0123456789abcdefghijklmnop';
