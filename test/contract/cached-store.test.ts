import test from 'ava';
import { Cluster, Redis } from 'ioredis';
import { ManualClock, redisTime } from '../../src/clock.js';
import { newTag } from '../../src/sessions/token.js';
import { CachedStore } from '../../src/store/cached-store.js';
import { connectRedis } from '../../src/store/connection.js';
import { RedisStore } from '../../src/store/redis-store.js';
import type { ValidateResult } from '../../src/sessions/types.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { POLICY, afterInvalidation, login, monitorConnection, nodes, until } from '../helpers/cache-stack.js';

let server: RedisProcess;
test.before(async () => {
  server = await startRedis();
});
test.after.always(async () => {
  await server?.stop();
});

test('a cached session is served with no Redis round trip', async (t) => {
  const x = await nodes(t, server);
  const token = await login(x);
  t.is((await x.cache.validate(token)).state, 'active', 'the first read fills the cache');
  const mon = await monitorConnection(server, x.inner.client as Redis);
  const before = x.cache.stats().hits;
  for (let i = 0; i < 100; i++) t.is((await x.cache.validate(token)).state, 'active');
  t.deepEqual(await mon.stop(), [], 'Redis saw no command from the data connection');
  t.is(x.cache.stats().hits - before, 100);
});

test('a revocation by another node or the CLI is refused on the next request after its invalidation arrives', async (t) => {
  const x = await nodes(t, server);
  const revokes: [string, (token: string) => Promise<unknown>][] = [
    ['logout on another node', (token) => x.other.revoke(token)],
    ['sessions kill <handle>', async (token) => x.other.revokeHandle((await x.other.validate(token) as { session: { handle: string } }).session.handle)],
    ['sessions kill --user', () => x.other.revokeAll(x.tag)],
  ];
  for (const [how, revoke] of revokes) {
    const token = await login(x);
    await x.cache.validate(token);
    t.like(await x.cache.validate(token), { state: 'active' }, `${how}: warm`);
    const hits = x.cache.stats().hits;
    await afterInvalidation(x.cache, () => revoke(token));
    t.like(await x.cache.validate(token), { state: 'login_required' }, how);
    t.is(x.cache.stats().hits, hits, `${how}: not answered from memory`);
  }
});

test('killing the invalidation connection flushes the cache, bypasses it until the link is back, and serves no revoked session', async (t) => {
  for (const which of ['subscriber', 'tracker'] as const) {
    const x = await nodes(t, server);
    const token = await login(x);
    await x.cache.validate(token);
    t.is(x.cache.stats().entries, 1);
    const killer = server.client();
    const id = x.cache.linkConnectionIds()[which];
    t.truthy(id, `${which}: has a connection`);
    await killer.client('KILL', 'ID', String(id));
    // Redis now announces nothing to this node: the revocation's invalidation is lost.
    await x.other.revoke(token);
    t.like(await x.cache.validate(token), { state: 'login_required' }, `${which}: the revoked session is refused`);
    await until(() => x.links.some((l) => !l.up), 'the link-down notification');
    t.is(x.links.find((l) => !l.up)!.entries, 0, `${which}: flushed when the link dropped`);
    // The link comes back by itself and the cache serves again.
    await x.cache.whenUp();
    const fresh = await login(x);
    await x.cache.validate(fresh);
    const hits = x.cache.stats().hits;
    t.like(await x.cache.validate(fresh), { state: 'active' });
    t.is(x.cache.stats().hits, hits + 1, `${which}: hits again after the link is back`);
    t.like(await x.cache.validate(token), { state: 'login_required' }, `${which}: still refused`);
  }
});

test('while the link is down every request is decided by Redis', async (t) => {
  const x = await nodes(t, server);
  const token = await login(x);
  await x.cache.validate(token);
  const seen: ValidateResult[] = [];
  const killer = server.client();
  // Validate synchronously from the link-down notification: the cache must be empty and bypassed.
  const results: Promise<ValidateResult>[] = [];
  const origPush = x.links.push.bind(x.links);
  x.links.push = (...items) => {
    for (const l of items) if (!l.up && results.length === 0) results.push(x.cache.validate(token));
    return origPush(...items);
  };
  await killer.client('KILL', 'ID', String(x.cache.linkConnectionIds().subscriber));
  await until(() => results.length > 0, 'the link-down notification');
  seen.push(await results[0]!);
  t.like(seen[0], { state: 'active' }, 'the session itself was not revoked');
  t.true(x.cache.stats().bypassed >= 1, 'that request bypassed the cache');
});

test('an answer in flight when its user is invalidated is served but not cached', async (t) => {
  let gate: (() => void) | undefined;
  let held: (() => void) | undefined;
  const heldUp = new Promise<void>((r) => {
    held = r;
  });
  class GatedStore extends RedisStore {
    override async validate(token: string | undefined): Promise<ValidateResult> {
      const r = await super.validate(token);
      if (gate === undefined) {
        await new Promise<void>((resolve) => {
          gate = resolve;
          held!();
        });
      }
      return r;
    }
  }
  const x = await nodes(t, server, { makeInner: (o) => new GatedStore(o) });
  const token = await login(x);
  const inFlight = x.cache.validate(token);
  await heldUp; // Redis has answered "active"; the answer has not reached the cache yet
  await afterInvalidation(x.cache, () => x.other.revoke(token));
  gate!();
  t.like(await inFlight, { state: 'active' }, 'decided before the revocation');
  t.is(x.cache.stats().entries, 0, 'not cached: it may predate the write');
  t.like(await x.cache.validate(token), { state: 'login_required' });
});

test('a hit still decides by the clock: a due slide and an idle lapse go to Redis', async (t) => {
  const x = await nodes(t, server);
  const token = await login(x);
  const t0 = x.clock.now();
  await x.cache.validate(token);
  x.clock.advance(9_999);
  const mon = await monitorConnection(server, x.inner.client as Redis);
  t.like(await x.cache.validate(token), { state: 'active', session: { lastActiveAt: t0 } });
  t.deepEqual(await mon.stop(), [], 'inside the touch interval: a hit');
  x.clock.advance(1);
  const mon2 = await monitorConnection(server, x.inner.client as Redis);
  t.like(await x.cache.validate(token), { state: 'active', session: { lastActiveAt: t0 + 10_000 } });
  t.deepEqual(await mon2.stop(), ['evalsha'], 'the slide is due: one round trip that writes it');
  x.clock.advance(60_000);
  t.like(await x.cache.validate(token), { state: 'stale' }, 'idle lapsed: stale, as Redis decides');
});

test('writes through the cached node are read back at once', async (t) => {
  const x = await nodes(t, server);
  const token = await login(x);
  const v = await x.cache.validate(token);
  if (v.state !== 'active') return t.fail();
  t.true(await x.cache.updateData(v.ref, { theme: 'dark' }));
  t.like(await x.cache.validate(token), { state: 'active', session: { data: { theme: 'dark' } } });
  const r = await x.cache.refresh(token);
  t.true(r.ok);
  if (!r.ok) return;
  t.like(await x.cache.validate(r.token), { state: 'active', viaGrace: false });
  t.like(await x.cache.validate(token), { state: 'active', viaGrace: true }, 'the old ID inside its grace');
  t.true(await x.cache.revoke(r.token));
  t.like(await x.cache.validate(r.token), { state: 'login_required' });
});

test('with Redis time, hits are decided on a clock kept in step with Redis TIME', async (t) => {
  const x = await nodes(t, server, { clock: redisTime });
  const token = await login(x);
  await x.cache.validate(token);
  const hits = x.cache.stats().hits;
  const hit = await x.cache.validate(token);
  t.is(x.cache.stats().hits, hits + 1);
  const [sec, usec] = await server.client().time();
  const redisNow = Number(sec) * 1000 + Number(usec) / 1000;
  t.true(Math.abs(hit.now - redisNow) < 1000, `hit decided at ${hit.now}, Redis says ${redisNow}`);
});

test('Cluster and Sentinel: the cache refuses to start, saying why', (t) => {
  const cluster = new Cluster([{ host: '127.0.0.1', port: server.port }], { lazyConnect: true });
  const sentinel = new Redis({ sentinels: [{ host: '127.0.0.1', port: 1 }], name: 'mymaster', lazyConnect: true });
  for (const [client, mode] of [[cluster, 'Cluster'], [sentinel, 'Sentinel']] as const) {
    const inner = new RedisStore({ client, ownsClient: false });
    const err = t.throws(() => new CachedStore({ inner }));
    t.regex(err?.message ?? '', new RegExp(`SESSION_CACHE=on needs a standalone Redis.*${mode}.*Turn SESSION_CACHE off`));
  }
  cluster.disconnect();
  sentinel.disconnect();
});

test('a link that cannot be set up leaves the cache bypassed, says why once, and comes up when it can', async (t) => {
  // A server of its own: its ACL changes must not reach the other tests.
  const own = await startRedis();
  t.teardown(() => own.stop());
  const admin = own.client();
  await admin.call('ACL', 'SETUSER', 'default', '-client|tracking');
  const clock = new ManualClock();
  const links: { up: boolean; reason: string }[] = [];
  const inner = new RedisStore({ client: await connectRedis({ url: own.url }), clock, policy: POLICY });
  const cache = new CachedStore({ inner, clock, heartbeatMs: 50, onLinkChange: (up, reason) => links.push({ up, reason }) });
  t.teardown(() => cache.close());
  await until(() => links.some((l) => !l.up && l.reason.startsWith('setup failed')), 'the setup failure report');
  const issued = await cache.create({ userId: 'u1', tag: newTag() });
  for (let i = 0; i < 3; i++) t.is((await cache.validate(issued!.token)).state, 'active');
  t.is(cache.stats().hits, 0, 'nothing served from memory');
  t.true(cache.stats().bypassed >= 3);
  t.is(links.filter((l) => l.reason.startsWith('setup failed')).length, 1, 'reported once, not at every retry');
  await admin.call('ACL', 'SETUSER', 'default', '+client|tracking');
  await cache.whenUp();
  await cache.validate(issued!.token);
  t.is((await cache.validate(issued!.token)).state, 'active');
  t.is(cache.stats().hits, 1, 'serves from memory once the link is up');
});

test('peek answers only a warm, active session, synchronously, and nothing once its invalidation arrived', async (t) => {
  const x = await nodes(t, server);
  const token = await login(x);
  t.is(x.cache.peek(token), undefined, 'cold: no answer without Redis');
  t.is(x.cache.peek('not-a-token'), undefined);
  await x.cache.validate(token);
  const hit = x.cache.peek(token);
  t.like(hit, { state: 'active', viaGrace: false });
  t.deepEqual(hit?.session, (await x.other.validate(token) as { session: unknown }).session, 'the same session Redis holds');
  await afterInvalidation(x.cache, () => x.other.revoke(token));
  t.is(x.cache.peek(token), undefined, 'revoked elsewhere: no answer from memory');
  t.like(await x.cache.validate(token), { state: 'login_required' });
});
