/**
 * Operations endpoints: /healthz (the process answers; touches nothing), /readyz (the
 * store answers within its timeout; 503 at once while shutting down, so load
 * balancers move away during the drain), /metrics (Prometheus text). None of them
 * reads the session cookie. Keep /metrics off the public internet (README).
 *
 * A full Redis (maxmemory) keeps /readyz at 200 with `store_full: true`: sessions are
 * still read, slid and revoked there, and every node shares that Redis, so failing the
 * check would take the whole site down for what only blocks new logins.
 */
import Router from 'koa-router';
import { StoreUnavailableError } from '../../errors.js';
import type { Metrics } from '../../ops/metrics.js';
import type { SessionStore } from '../../sessions/types.js';
import type { StoreFullWatch } from '../../ops/store-full.js';

export interface Lifecycle {
  /** Set on SIGTERM/SIGINT: /readyz turns 503 while requests are still served. */
  draining: boolean;
}

export interface OpsDeps {
  store: SessionStore;
  metrics: Metrics;
  lifecycle: Lifecycle;
  storeFull: StoreFullWatch;
  /** Upper bound for the readiness ping (the store's own command timeout is shorter). */
  readyTimeoutMs: number;
}

export function opsRouter({ store, metrics, lifecycle, storeFull, readyTimeoutMs }: OpsDeps): Router {
  const router = new Router();

  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  router.get('/readyz', async (ctx) => {
    if (lifecycle.draining) {
      ctx.status = 503;
      ctx.set('Retry-After', '1');
      ctx.body = { status: 'draining' };
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreUnavailableError(new Error('readiness ping timed out'))), readyTimeoutMs);
    });
    let full: boolean;
    try {
      await Promise.race([store.ping(), timeout]);
      full = await Promise.race([storeFull.check(), timeout]);
    } finally {
      clearTimeout(timer);
    }
    ctx.body = { status: 'ok', store_full: full };
  });

  router.get('/metrics', async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });

  return router;
}
