/** Bare Koa 3 + koa-router: the same routes, no session. The throughput ceiling. */
import Koa from 'koa';
import Router from 'koa-router';
import { securityHeaders } from '../../../src/http/middleware/security-headers.js';
import { appEnv, BENCH_USER, meBody } from './common.js';

const { port } = appEnv();
const started = Date.now();
const app = new Koa();
// BENCH_SECURITY_HEADERS=1: the `koa-headers` A/B stack (scripts/bench/stacks.ts).
if (process.env.BENCH_SECURITY_HEADERS === '1') app.use(securityHeaders({ hsts: false }));
const router = new Router();
router.get('/healthz', (ctx) => {
  ctx.body = 'ok';
});
router.post('/login', (ctx) => {
  ctx.body = { ok: true };
});
router.get('/api/me', (ctx) => {
  ctx.body = meBody(BENCH_USER, started, Date.now());
});
app.use(router.routes()).use(router.allowedMethods());
app.listen(port, '127.0.0.1');
