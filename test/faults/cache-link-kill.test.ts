/**
 * SESSION_CACHE=on under a lost invalidation link (the local cache caps its TTL), at the HTTP level:
 * node A serves from its in-process cache, node B (no cache, same Redis and prefix)
 * revokes. A's invalidation connections are killed with CLIENT KILL just before, just
 * after, or together with each revocation, while a client loop keeps A's cache hot.
 * No revoked session may be served by A afterwards, whether the link is down, coming
 * back, or back.
 */
import test from 'ava';
import type { Redis } from 'ioredis';
import { CachedStore } from '../../src/store/cached-store.js';
import type { RedisStore } from '../../src/store/redis-store.js';
import { client } from '../helpers/http.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { type TestServer, startServer } from '../helpers/server.js';
import { PASSWORD, login as loginToken } from '../helpers/login.js';
import { loadLoop, sleep } from './helpers.js';

let redis: RedisProcess;
let a: TestServer;
let b: TestServer;
let cache: CachedStore;
let admin: Redis;

test.before(async () => {
  redis = await startRedis();
  a = await startServer({
    redis,
    wrapStore: (s) => {
      cache = new CachedStore({ inner: s as RedisStore });
      return cache;
    },
  });
  b = await startServer({ redis, keyPrefix: a.keyPrefix });
  await a.addUser('cas', PASSWORD);
  admin = redis.client();
});
test.after.always(async () => {
  await a?.close();
  await b?.close();
  await redis?.stop();
});

const killLink = async (which: 'subscriber' | 'tracker' | 'both') => {
  const ids = cache.linkConnectionIds();
  const targets = which === 'both' ? [ids.subscriber, ids.tracker] : [ids[which]];
  await Promise.all(targets.filter((id) => id !== undefined).map((id) => admin.client('KILL', 'ID', String(id))));
};

test.serial('CLIENT KILL of the invalidation link around revocations: no revoked session is ever served from the cache', async (t) => {
  const reqA = client(a.url);
  const reqB = client(b.url);
  const orders = ['kill-then-revoke', 'revoke-then-kill', 'together'] as const;
  const whiches = ['subscriber', 'tracker', 'both'] as const;
  const revoked: string[] = [];
  const servedRevoked: string[] = [];
  let stop = false;
  let hitsBefore = 0;

  // Background load keeping A's cache hot on live sessions, and re-trying revoked ones.
  const live = await Promise.all([0, 1, 2].map(() => loginToken(reqA, 'cas')));
  const load = loadLoop(a.url, 3, () => stop, async (r, w, i) => {
    if (w === 2 && revoked.length > 0) {
      const tok = revoked[i % revoked.length]!;
      const reply = await r('GET', '/api/me', { cookie: tok });
      if (reply.status === 200) servedRevoked.push('background');
      return { what: 'revoked', reply };
    }
    return { what: 'live', reply: await r('GET', '/api/me', { cookie: live[(w + i) % 3]!.token }) };
  });

  for (let round = 0; round < 9; round++) {
    await cache.whenUp();
    const victim = await loginToken(reqA, 'cas');
    // Warm: the victim's record is now in A's cache.
    for (let i = 0; i < 3; i++) t.is((await reqA('GET', '/api/me', { cookie: victim.token })).status, 200);
    hitsBefore = Math.max(hitsBefore, cache.stats().hits);
    const order = orders[round % 3]!;
    const which = whiches[Math.floor(round / 3)]!;
    const revoke = () => reqB('POST', '/auth/logout', { cookie: victim.token });
    let out: Awaited<ReturnType<typeof revoke>>;
    if (order === 'kill-then-revoke') {
      await killLink(which);
      out = await revoke();
    } else if (order === 'revoke-then-kill') {
      out = await revoke();
      await killLink(which);
    } else {
      [out] = await Promise.all([revoke(), killLink(which)]);
    }
    t.is(out.status, 204, `${order}/${which}: revoked via node B`);
    revoked.push(victim.token);
    // Probe A at once, while the link is down, and after it is back.
    for (let i = 0; i < 5; i++) {
      const r = await reqA('GET', '/api/me', { cookie: victim.token });
      if (r.status === 200) servedRevoked.push(`${order}/${which} probe ${i}`);
      await sleep(i * 20);
    }
    await cache.whenUp();
    const r = await reqA('GET', '/api/me', { cookie: victim.token });
    if (r.status === 200) servedRevoked.push(`${order}/${which} after the link is back`);
  }
  stop = true;
  const answers = await load;
  t.deepEqual(servedRevoked, [], 'A never served a revoked session');
  t.true(hitsBefore > 0, 'the cache was really serving hits');
  t.true(cache.stats().invalidations > 0);
  t.deepEqual(answers.filter((x) => x.what === 'live' && x.status !== 200), [], 'live sessions kept working');
});
