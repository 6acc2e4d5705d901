/**
 * A full Redis (maxmemory reached, noeviction) at the store level: every write is
 * refused with OOM, yet validation (and its slide) and every revocation go on, because
 * they only rewrite or delete; what needs new memory (a login, a refresh that leaves a
 * grace alias and a replay marker, app data) fails with StoreFullError, a 503
 * store_unavailable. Deleting the filler brings writes back on the same store object.
 */
import test from 'ava';
import { ManualClock } from '../../src/clock.js';
import { StoreFullError, StoreUnavailableError } from '../../src/errors.js';
import { newTag } from '../../src/sessions/token.js';
import { connectRedis } from '../../src/store/connection.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { POLICY } from '../contract/session-store.contract.js';
import { fill, free, startSmallRedis } from './fill.js';

async function world(t: import('ava').ExecutionContext) {
  const redis = await startSmallRedis();
  t.teardown(() => redis.stop());
  const clock = new ManualClock();
  const store = new RedisStore({ client: await connectRedis({ url: redis.url }), clock, policy: { ...POLICY, touchIntervalMs: 0 } });
  t.teardown(() => store.close());
  const tag = newTag();
  const login = async () => {
    const issued = await store.create({ userId: 'u1', tag });
    if (!issued) throw new Error('create returned null');
    return issued;
  };
  return { redis, admin: redis.client(), clock, store, tag, login };
}

const isFull = (t: import('ava').ExecutionContext, err: unknown) => {
  t.true(err instanceof StoreFullError, String(err));
  t.true(err instanceof StoreUnavailableError);
  const e = err as StoreFullError;
  t.is(e.status, 503);
  t.is(e.code, 'store_unavailable');
  t.truthy(e.headers['Retry-After']);
};

test('Redis full: validate still answers and slides; revoke, revokeHandle, revokeAll and list work and leave the sessions dead', async (t) => {
  const w = await world(t);
  const a = await w.login();
  const b = await w.login();
  const c = await w.login();
  const other = { tag: newTag() };
  const o1 = (await w.store.create({ userId: 'u2', tag: other.tag }))!;
  const o2 = (await w.store.create({ userId: 'u2', tag: other.tag }))!;
  await fill(w.admin);

  w.clock.advance(5_000);
  const v = await w.store.validate(a.token);
  t.is(v.state, 'active');
  if (v.state === 'active') t.is(v.session.lastActiveAt, a.now + 5_000, 'the slide was made');
  t.is((await w.store.list(w.tag)).length, 3);

  t.true(await w.store.revoke(b.token));
  t.like(await w.store.validate(b.token), { state: 'login_required', reason: 'unknown' });
  t.true(await w.store.revokeHandle(c.session.handle));
  t.like(await w.store.validate(c.token), { state: 'login_required' });
  t.is(await w.store.revokeAll(other.tag), 2);
  t.like(await w.store.validate(o1.token), { state: 'login_required' });
  t.like(await w.store.validate(o2.token), { state: 'login_required' });
  t.is((await w.store.list(w.tag)).length, 1);
});

test('Redis full: create, refresh and updateData fail with StoreFullError; a password-change rotation (no alias, no marker) still works; DEL brings writes back', async (t) => {
  const w = await world(t);
  const a = await w.login();
  const b = await w.login();
  await fill(w.admin);

  isFull(t, await t.throwsAsync(w.store.create({ userId: 'u1', tag: w.tag })));
  isFull(t, await t.throwsAsync(w.store.refresh(a.token)));
  const v = await w.store.validate(a.token);
  if (v.state !== 'active') return t.fail(v.state);
  isFull(t, await t.throwsAsync(w.store.updateData(v.ref, { big: 'x'.repeat(100) })));
  t.is(v.session.handle, a.session.handle, 'the refused refresh left the session as it was');

  // Replaces one record by another and deletes the rest: memory does not grow.
  const rotated = await w.store.refresh(a.token, { grace: false, revokeOthers: true, reauthenticated: true });
  if (!rotated.ok) return t.fail(rotated.reason);
  t.like(await w.store.validate(rotated.token), { state: 'active' });
  t.like(await w.store.validate(a.token), { state: 'login_required' });
  t.like(await w.store.validate(b.token), { state: 'login_required' });

  await free(w.admin);
  const again = await w.store.create({ userId: 'u1', tag: w.tag });
  t.truthy(again);
  t.like(await w.store.refresh(rotated.token), { ok: true });
});
