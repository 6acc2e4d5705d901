/**
 * Network faults between the app and Redis, through the loopback TCP proxy:
 * a blackholed link (no answer, no RST) must be caught by the command timeout, not by
 * the kernel's retransmit limit (about 15 minutes); a reset link must fail fast; and
 * commands the app gave up on, delivered late when the link heals, must not bring back
 * a session revoked meanwhile (no record is ever recreated, "CLIENT PAUSE: commands run after it").
 */
import test from 'ava';
import type { Redis } from 'ioredis';
import { client } from '../helpers/http.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { type TestServer, startServer } from '../helpers/server.js';
import { type TcpProxy, startTcpProxy } from '../helpers/tcp-proxy.js';
import { keySpace } from '../../src/store/keys.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { eventually } from '../helpers/eventually.js';
import { PASSWORD, login as loginToken } from '../helpers/login.js';
import { keysUnder } from './helpers.js';

const NO_HANG_MS = 5000;

let redis: RedisProcess;
let proxy: TcpProxy;
let srv: TestServer;
let direct: Redis;

test.before(async () => {
  redis = await startRedis();
  proxy = await startTcpProxy({ port: redis.port });
  // The app reaches Redis only through the proxy; the test (like the admin CLI) directly.
  srv = await startServer({
    redis: { ...redis, url: proxy.url },
    env: { REDIS_COMMAND_TIMEOUT: '500ms', SESSION_TOUCH_INTERVAL: '0' },
  });
  await srv.addUser('lee', PASSWORD);
  direct = redis.client();
});
test.after.always(async () => {
  await srv?.close();
  await proxy?.close();
  await redis?.stop();
});

const timed = async <T>(p: Promise<T>): Promise<[T, number]> => {
  const t0 = performance.now();
  const v = await p;
  return [v, performance.now() - t0];
};

const scriptCalls = async (): Promise<number> => {
  const info = await direct.info('commandstats');
  return [...info.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
};

test.serial('a blackholed link answers 503 by the command timeout, and the server recovers when it heals', async (t) => {
  proxy.setMode({ kind: 'pass' });
  const req = client(srv.url);
  const s = await loginToken(req, 'lee');
  proxy.setMode({ kind: 'blackhole' });
  for (let i = 0; i < 3; i++) {
    const [r, ms] = await timed(req('GET', '/api/me', { cookie: s.token }));
    t.is(r.status, 503);
    t.is(r.body?.error, 'store_unavailable');
    t.true(ms < NO_HANG_MS, `answered in ${Math.round(ms)} ms, not after TCP retransmits`);
  }
  const [login] = await timed(req('POST', '/auth/login', { json: { username: 'lee', password: PASSWORD } }));
  t.is(login.status, 503, 'a login while the store is unreachable is 503, never 401');
  t.is(login.setCookies.length, 0);
  t.is((await req('GET', '/healthz')).status, 200);
  proxy.setMode({ kind: 'pass' });
  t.true(await eventually(async () => (await req('GET', '/api/me', { cookie: s.token })).status === 200, { what: 'GET /api/me 200 again' }));
});

test.serial('a link that stays blackholed is dropped and redialled; new dials into the blackhole fail fast', async (t) => {
  proxy.setMode({ kind: 'pass' });
  const req = client(srv.url);
  const s = await loginToken(req, 'lee');
  const dialsBefore = proxy.acceptedCount();
  proxy.setMode({ kind: 'blackhole' });
  // Past socketTimeout the client drops the silent link and redials into the blackhole.
  const seen: number[] = [];
  const ok = await eventually(async () => {
    const [r, ms] = await timed(req('GET', '/api/me', { cookie: s.token }));
    if (ms >= NO_HANG_MS) seen.push(-1);
    seen.push(r.status);
    return proxy.acceptedCount() > dialsBefore;
  }, { timeoutMs: 30_000, everyMs: 100, what: 'a redial' }).catch(() => false);
  t.true(ok, 'the app redialled');
  t.true(seen.every((st) => st === 503), `only fast 503s: ${seen.join(',')}`);
  proxy.setMode({ kind: 'pass' });
  t.true(await eventually(async () => (await req('GET', '/api/me', { cookie: s.token })).status === 200, { everyMs: 100, what: 'GET /api/me 200 after the heal' }));
});

test.serial('a reset link answers 503 at once and the server reconnects by itself', async (t) => {
  proxy.setMode({ kind: 'pass' });
  const req = client(srv.url);
  const s = await loginToken(req, 'lee');
  proxy.setMode({ kind: 'reset' });
  const [r, ms] = await timed(req('GET', '/api/me', { cookie: s.token }));
  t.is(r.status, 503);
  t.true(ms < NO_HANG_MS);
  proxy.setMode({ kind: 'pass' });
  t.true(await eventually(async () => (await req('GET', '/api/me', { cookie: s.token })).status === 200, { what: 'GET /api/me 200 again' }));
});

test.serial('touches and a refresh delivered late, after the session was revoked, do not resurrect it or mint a successor', async (t) => {
  proxy.setMode({ kind: 'pass' });
  const req = client(srv.url);
  // A user of its own, so every key under its tag belongs to this one session.
  await srv.addUser('late', PASSWORD);
  const s = await loginToken(req, 'late');
  const tag = s.token.slice(0, 12);
  const cli = new RedisStore({ client: redis.client(), keys: keySpace(srv.keyPrefix), ownsClient: false });

  proxy.setMode({ kind: 'blackhole' });
  // The app sends validate-and-slide and a refresh; both are held on the wire and
  // the app gives up on them (503).
  const [me, refresh] = await Promise.all([
    req('GET', '/api/me', { cookie: s.token }),
    req('POST', '/auth/refresh', { cookie: s.token }),
  ]);
  t.is(me.status, 503);
  t.is(refresh.status, 503);
  t.false(refresh.setCookies.some((c) => /^sid=[^;]+/.test(c) && !c.startsWith('sid=;')), 'no new cookie');
  // Meanwhile the session is killed from elsewhere (the admin CLI's path).
  t.true(await cli.revokeHandle(s.handle));
  const before = await scriptCalls();
  proxy.setMode({ kind: 'pass' });
  // The held scripts now run, late, against a session that no longer exists.
  t.true(await eventually(async () => (await scriptCalls()) >= before + 2, { timeoutMs: 2500, what: 'the late commands' }).catch(() => false), 'the late commands did run');

  const keys = await keysUnder(direct, `${srv.keyPrefix}{${tag}}`);
  t.deepEqual(keys.filter((k) => /:[sg]:/.test(k)), [], 'no session record and no successor alias');
  t.is(await cli.get(s.handle), null);
  const r = await req('GET', '/api/me', { cookie: s.token });
  t.is(r.status, 401);
  t.is(r.body?.error, 'login_required');
  t.is((await req('POST', '/auth/refresh', { cookie: s.token })).status, 403);
});
