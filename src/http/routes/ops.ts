/**
 * Operations endpoints: /healthz (the process answers; touches nothing), /readyz (the
 * store answers within its timeout; 503 at once while shutting down, so load
 * balancers move away during the drain), /metrics (Prometheus text). None of them
 * reads the session cookie. Keep /metrics off the public internet (README).
 */
import Router from 'koa-router';
import { StoreUnavailableError } from '../../errors.js';
import type { Metrics } from '../../metrics.js';
import type { SessionStore } from '../../sessions/types.js';

export interface Lifecycle {
  /** Set on SIGTERM/SIGINT: /readyz turns 503 while requests are still served. */
  draining: boolean;
}

export interface OpsDeps {
  store: SessionStore;
  metrics: Metrics;
  lifecycle: Lifecycle;
  /** Upper bound for the readiness ping (the store's own command timeout is shorter). */
  readyTimeoutMs: number;
}

export function opsRouter({ store, metrics, lifecycle, readyTimeoutMs }: OpsDeps): Router {
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
    try {
      await Promise.race([store.ping(), timeout]);
    } finally {
      clearTimeout(timer);
    }
    ctx.body = { status: 'ok' };
  });

  router.get('/metrics', async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });

  return router;
}
