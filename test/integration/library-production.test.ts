/**
 * The library in production, used as the README shows it: settings that do what they
 * say, a start that refuses an unsafe Redis, the audit trail the CLI reads, and a
 * sign-in path that is safe without extra wiring.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import Koa from 'koa';
import Router from 'koa-router';
import { slidingSessions } from '../../src/library.js';
import { keySpace } from '../../src/store/keys.js';
import { client } from '../helpers/http.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';

let redis: RedisProcess;
let evicting: RedisProcess;
test.before(async () => {
  [redis, evicting] = await Promise.all([
    startRedis({ args: ['--maxmemory-policy', 'noeviction'] }),
    startRedis({ args: ['--maxmemory-policy', 'allkeys-lru'] }),
  ]);
});
test.after.always(async () => {
  await Promise.all([redis?.stop(), evicting?.stop()]);
});

let n = 0;
const quiet = () => ({ LOG_LEVEL: 'silent', SESSION_KEY_PREFIX: `lp${++n}:` });

/** An app whose POST /login signs user-1 in through the library, served on a free port. */
async function loginApp(t: ExecutionContext, opts: Parameters<typeof slidingSessions>[1]) {
  const app = new Koa();
  const sessions = slidingSessions(app, opts);
  t.teardown(() => sessions.close());
  const router = new Router();
  router.post('/login', async (ctx) => {
    await sessions.signIn(ctx, 'user-1');
    ctx.status = 204;
  });
  app.use(sessions.errors());
  app.use(router.routes());
  await sessions.ready(); // as the README does: the first request must not race the connection
  return serve(t, app);
}

async function serve(t: ExecutionContext, app: Koa) {
  const server = createServer(app.callback()).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return client(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

test.serial('with NODE_ENV=production a redis URL or client satisfies the store, and env overrides merge over process.env', async (t) => {
  const before = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  t.teardown(() => {
    if (before === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = before;
  });
  const byUrl = slidingSessions(new Koa(), { redis: redis.url, env: { SESSION_IDLE_TIMEOUT: '15m', ...quiet() } });
  t.teardown(() => byUrl.close());
  t.true(byUrl.config.cookieSecure, 'NODE_ENV from process.env still counts: cookies are Secure');
  t.is(byUrl.config.idleTimeoutMs, 15 * 60_000);
  const c = redis.client();
  t.teardown(() => c.disconnect());
  const byClient = slidingSessions(new Koa(), { redis: c, env: quiet() });
  t.teardown(() => byClient.close());
  t.true(byClient.config.cookieSecure);
});

test('ready() refuses an evicting Redis and a database index the server does not have, naming the setting', async (t) => {
  const ev = slidingSessions(new Koa(), { redis: evicting.url, env: quiet() });
  t.teardown(() => ev.close());
  await t.throwsAsync(ev.ready(), { message: /maxmemory-policy is allkeys-lru/ });
  const db = slidingSessions(new Koa(), { redis: `${redis.url}/99`, env: quiet() });
  t.teardown(() => db.close());
  await t.throwsAsync(db.ready(), { message: /database 99/ });
  const ok = slidingSessions(new Koa(), { redis: `${redis.url}/3`, env: quiet() });
  t.teardown(() => ok.close());
  await t.notThrowsAsync(ok.ready());
});

test('with Redis the library writes the audit trail the admin CLI reads', async (t) => {
  const env = quiet();
  const req = await loginApp(t, { redis: redis.url, env });
  t.is((await req('POST', '/login')).status, 204);
  const c = redis.client();
  t.teardown(() => c.disconnect());
  const entries = await c.xrange(keySpace(env.SESSION_KEY_PREFIX).events(), '-', '+');
  t.true(entries.some(([, f]) => f.includes('session.created')), JSON.stringify(entries));
});

test('signIn refuses a cross-site request (login CSRF) and a same-origin one goes through', async (t) => {
  const req = await loginApp(t, { env: quiet() });
  const evil = await req('POST', '/login', { headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' });
  t.is(evil.status, 403);
  t.is(evil.body?.error, 'csrf');
  t.is(evil.cookie(), undefined, 'no session cookie');
  const site = await req('POST', '/login', { headers: { 'sec-fetch-site': 'cross-site' } });
  t.is(site.status, 403);
  t.is((await req('POST', '/login', { headers: { 'sec-fetch-site': 'same-origin' } })).status, 204);
  t.is((await req('POST', '/login')).status, 204, 'no browser headers (server-to-server) passes');
});

test('require() answers the JSON error model even when errors() is not mounted', async (t) => {
  const app = new Koa();
  const sessions = slidingSessions(app, { env: quiet() });
  t.teardown(() => sessions.close());
  const router = new Router();
  router.get('/me', sessions.require(), (ctx) => {
    ctx.body = { ok: true };
  });
  router.get('/boom', sessions.require({ optional: true }), () => {
    throw new Error('the app\'s own failure');
  });
  app.silent = true;
  app.use(router.routes());
  const req = await serve(t, app);
  const r = await req('GET', '/me');
  t.is(r.status, 401);
  t.regex(r.headers.get('content-type') ?? '', /application\/json/);
  t.is(r.body?.error, 'login_required');
  t.is((await req('GET', '/boom')).status, 500, 'the app\'s own errors are left to the app');
});
