/**
 * The hot path over real HTTP (docs/performance.md): GET /api/me costs exactly one Redis round
 * trip with the cache off and none on a warm cache; a kill from the CLI (another
 * connection) is refused by the cached server once the invalidation has arrived.
 * Round trips are what Redis itself saw (MONITOR), not what the client thinks it sent.
 */
import test, { type ExecutionContext } from 'ava';
import type { Redis } from 'ioredis';
import { ManualClock } from '../../src/clock.js';
import { CachedStore } from '../../src/store/cached-store.js';
import { connectRedis } from '../../src/store/connection.js';
import { keySpace } from '../../src/store/keys.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { client } from '../helpers/http.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { startServer } from '../helpers/server.js';
import { monitorConnection, until } from '../helpers/cache-stack.js';

const PASSWORD = 'correct horse battery staple';
let redis: RedisProcess;
test.before(async () => {
  redis = await startRedis();
});
test.after.always(async () => {
  await redis?.stop();
});

// A warm entry outlives the test's requests however slow the machine (the 1 s default
// cap would let a loaded CI refill it mid-window); the cap has its own test below.
async function serve(t: ExecutionContext, cached: boolean, ttlMs = 60_000) {
  const clock = new ManualClock(Date.now());
  let cache: CachedStore | undefined;
  const srv = await startServer({
    redis,
    clock,
    wrapStore: cached ? (s) => (cache = new CachedStore({ inner: s as RedisStore, clock, ttlMs })) : undefined,
  });
  t.teardown(() => srv.close());
  await cache?.whenUp();
  await srv.addUser('alice', PASSWORD);
  const req = client(srv.url);
  const invalidations = cache?.stats().invalidations ?? 0;
  const login = await req('POST', '/auth/login', { json: { username: 'alice', password: PASSWORD } });
  t.is(login.status, 200);
  // The login's own writes are announced too; let that pass before warming the cache.
  if (cache) await until(() => cache!.stats().invalidations > invalidations, 'the login invalidation');
  const cli = new RedisStore({ client: await connectRedis({ url: redis.url }), clock, keys: keySpace(srv.keyPrefix) });
  t.teardown(() => cli.close());
  const handle = (login.body as { session: { handle: string } }).session.handle;
  return { srv, req, cookie: login.cookie()!, handle, cache, cli };
}

test('cache off: every GET /api/me is exactly one round trip, and it does not write', async (t) => {
  const { srv, req, cookie } = await serve(t, false);
  const mon = await monitorConnection(redis, srv.redisClient as Redis);
  for (let i = 0; i < 20; i++) t.is((await req('GET', '/api/me', { cookie })).status, 200);
  // ioredis sends a script's first call on a connection as EVAL, then EVALSHA: one trip either way.
  const seen = (await mon.stop()).map((c) => (c === 'eval' ? 'evalsha' : c));
  t.deepEqual(seen, Array(20).fill('evalsha'), 'one script call per request, nothing else');
});

test('cache on: a warm GET /api/me costs no round trip; a CLI kill is refused once its invalidation arrives', async (t) => {
  const { srv, req, cookie, handle, cache, cli } = await serve(t, true);
  t.is((await req('GET', '/api/me', { cookie })).status, 200, 'fills the cache');
  const mon = await monitorConnection(redis, srv.redisClient as Redis);
  for (let i = 0; i < 20; i++) t.is((await req('GET', '/api/me', { cookie })).status, 200);
  t.deepEqual(await mon.stop(), [], 'no command reached Redis');

  const before = cache!.stats().invalidations;
  t.true(await cli.revokeHandle(handle), 'sessions kill <handle>');
  await until(() => cache!.stats().invalidations > before, 'the invalidation');
  const r = await req('GET', '/api/me', { cookie });
  t.is(r.status, 401);
  t.like(r.body, { error: 'login_required' });
});

test('cache on: logout on the same server is final at once, without waiting for the invalidation', async (t) => {
  const { req, cookie } = await serve(t, true);
  t.is((await req('GET', '/api/me', { cookie })).status, 200);
  t.is((await req('GET', '/api/me', { cookie })).status, 200);
  t.is((await req('POST', '/auth/logout', { cookie })).status, 204);
  t.is((await req('GET', '/api/me', { cookie })).status, 401);
});

test('cache on: an entry older than its local lifetime cap goes to Redis again, once', async (t) => {
  const { srv, req, cookie } = await serve(t, true, 200);
  t.is((await req('GET', '/api/me', { cookie })).status, 200, 'fills the cache');
  const mon = await monitorConnection(redis, srv.redisClient as Redis);
  t.is((await req('GET', '/api/me', { cookie })).status, 200);
  await new Promise((r) => setTimeout(r, 250));
  t.is((await req('GET', '/api/me', { cookie })).status, 200, 'past the cap: read from Redis and cached again');
  t.is((await req('GET', '/api/me', { cookie })).status, 200);
  const seen = (await mon.stop()).map((c) => (c === 'eval' ? 'evalsha' : c));
  // The request after the wait must reach Redis (with a cap that never expired nothing
  // would); how many of the others do depends on the machine's speed, not on the cap.
  t.true(seen.length >= 1, 'the entry past its cap was read from Redis');
  t.true(seen.every((c) => c === 'evalsha'), `script calls only: ${seen.join(',')}`);
});

test('cache on: /metrics counts hits and misses, and times only the misses as store calls', async (t) => {
  const { req, cookie } = await serve(t, true);
  const metric = (text: string, name: string): number => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  const before = (await req('GET', '/metrics')).text;
  t.is((await req('GET', '/api/me', { cookie })).status, 200, 'fills the cache');
  for (let i = 0; i < 5; i++) t.is((await req('GET', '/api/me', { cookie })).status, 200);
  const after = (await req('GET', '/metrics')).text;
  const delta = (name: string) => metric(after, name) - metric(before, name);
  t.is(delta('session_cache_lookups_total\\{result="hit"\\}'), 5);
  t.is(delta('session_cache_lookups_total\\{result="miss"\\}'), 1);
  t.is(delta('store_latency_seconds_count\\{op="validate"\\}'), 1, 'a hit is not a store call');
  t.is(metric(after, 'session_cache_link_up'), 1);
  t.true(metric(after, 'session_cache_invalidations_total') >= 1, "the login's own writes were announced");
  t.true(metric(after, 'session_cache_entries') >= 1);
});
