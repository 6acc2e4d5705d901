/**
 * koa-session 7 + koa-redis 4, rolling (the idle window slides on every request):
 * each authenticated request costs a GET and a SETEX.
 */
import Koa from 'koa';
import redisStore from 'koa-redis';
import Router from 'koa-router';
import session, { type CreateSessionOptions } from 'koa-session';
import { appEnv, BENCH_USER, COOKIE_SECRET, IDLE_MS, meBody } from './common.js';

const { port, redisUrl } = appEnv();
const app = new Koa();
app.keys = [COOKIE_SECRET];
const store = redisStore({ url: redisUrl, keyPrefix: 'koa:sess:' });
app.use(session({ store: store as CreateSessionOptions['store'], rolling: true, maxAge: IDLE_MS, httpOnly: true, sameSite: 'lax' }, app));

interface BenchSession {
  user?: { id: string; username: string };
  createdAt?: number;
}
const sessionOf = (ctx: Koa.Context) => (ctx as unknown as { session: BenchSession }).session;

const router = new Router();
router.get('/healthz', (ctx) => {
  ctx.body = 'ok';
});
router.post('/login', (ctx) => {
  const now = Date.now();
  const s = sessionOf(ctx);
  s.user = BENCH_USER;
  s.createdAt = now;
  ctx.body = { ok: true };
});
router.get('/api/me', (ctx) => {
  const s = sessionOf(ctx);
  if (!s.user) {
    ctx.status = 401;
    ctx.body = { error: 'login_required' };
    return;
  }
  ctx.body = meBody(s.user, s.createdAt ?? 0, Date.now());
});
app.use(router.routes()).use(router.allowedMethods());
app.listen(port, '127.0.0.1');
