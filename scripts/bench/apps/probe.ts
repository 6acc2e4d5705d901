/**
 * The limit probe: Koa + koa-router + ioredis 6 and exactly one EVALSHA per request
 * (read the record, slide its TTL), nothing else. The floor any one-round-trip
 * session layer can reach on this machine.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import Koa from 'koa';
import Router from 'koa-router';
import { securityHeaders } from '../../../src/http/middleware/security-headers.js';
import { parseToken } from '../../../src/sessions/token.js';
import { createRedisConnection, waitForReady } from '../../../src/store/connection.js';
import { appEnv, IDLE_MS, meBody } from './common.js';

const { port, redisUrl } = appEnv();
// A/B switches on a one-EVALSHA app: BENCH_AUTOPIPELINE=1 (ioredis auto-pipelining),
// BENCH_RESP=3 (ioredis 6's default RESP3 instead of RESP2, which this server uses).
// BENCH_CLIENT=product: the client this server makes (src/store/connection.ts: command
// and socket timeouts, no offline queue, …), to show what those settings cost.
const redis =
  process.env.BENCH_CLIENT === 'product'
    ? (createRedisConnection({ url: redisUrl }) as Redis)
    : new Redis(redisUrl, {
        enableAutoPipelining: process.env.BENCH_AUTOPIPELINE === '1',
        protocol: process.env.BENCH_RESP === '3' ? 3 : 2,
      });
if (process.env.BENCH_CLIENT === 'product') await waitForReady(redis);
redis.defineCommand('touchSession', {
  numberOfKeys: 1,
  lua: readFileSync(new URL('./touch-session-1.lua', import.meta.url), 'utf8'),
});
const touch = (key: string): Promise<string[] | null> =>
  (redis as unknown as { touchSession(k: string, idle: number): Promise<string[] | null> }).touchSession(key, IDLE_MS);

const app = new Koa();
// BENCH_SECURITY_HEADERS=1: the headers every answer of this server carries (probe-product).
if (process.env.BENCH_SECURITY_HEADERS === '1') app.use(securityHeaders({ hsts: false }));
const router = new Router();
router.get('/healthz', (ctx) => {
  ctx.body = 'ok';
});
/** Seeds a record for the cookie the harness chose (bench only). */
router.post('/login', async (ctx) => {
  const t = parseToken(ctx.cookies.get('sid'));
  if (!t) return ctx.throw(400);
  const now = Date.now();
  await redis.hset(`probe:{${t.tag}}:s:${t.idHash}`, { u: 'u_bench', n: 'bench', c: now, l: now });
  await redis.pexpire(`probe:{${t.tag}}:s:${t.idHash}`, IDLE_MS);
  ctx.body = { ok: true };
});
router.get('/api/me', async (ctx) => {
  const t = parseToken(ctx.cookies.get('sid'));
  const rec = t ? await touch(`probe:{${t.tag}}:s:${t.idHash}`) : null;
  if (!rec) {
    ctx.status = 401;
    ctx.body = { error: 'login_required' };
    return;
  }
  const f: Record<string, string> = {};
  for (let i = 0; i < rec.length; i += 2) f[rec[i]!] = rec[i + 1]!;
  ctx.body = meBody({ id: f.u!, username: f.n! }, Number(f.c), Date.now());
});
app.use(router.routes()).use(router.allowedMethods());
app.listen(port, '127.0.0.1');
