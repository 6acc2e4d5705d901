/**
 * What every benchmark app shares: where to listen, where Redis is, and the body of
 * GET /api/me, so that every stack answers the same small JSON and the comparison
 * measures the session layer, not the payload.
 */
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

/** The /api/me body: the same shape as the product's `{user, session}`. */
export function meBody(user: { id: string; username: string }, createdAt: number, lastActiveAt: number) {
  return {
    user,
    session: {
      handle: 'bench',
      idleExpiresAt: new Date(lastActiveAt + IDLE_MS).toISOString(),
      absoluteExpiresAt: new Date(createdAt + 30 * 86_400_000).toISOString(),
    },
  };
}

/** A fixed 32+ character secret: the peers need one to sign their cookies. */
export const COOKIE_SECRET = 'bench-only-secret-0123456789abcdefghijklmnop';
