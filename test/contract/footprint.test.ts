/**
 * Bounded footprint: what one session keeps in a store does not grow with its number of
 * refreshes, and all of it goes when the session is revoked. Run on both stores; Redis
 * keys are counted with SCAN on a private redis-server.
 */
import test, { type ExecutionContext } from 'ava';
import { ManualClock } from '../../src/clock.js';
import { newTag, parseToken } from '../../src/sessions/token.js';
import type { SessionStore } from '../../src/sessions/types.js';
import { connectRedis } from '../../src/store/connection.js';
import { keySpace } from '../../src/store/keys.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { POLICY } from './session-store.contract.js';

let server: RedisProcess;
let n = 0;
test.before(async () => {
  server = await startRedis();
});
test.after.always(async () => {
  await server?.stop();
});

interface Sut {
  store: SessionStore;
  clock: ManualClock;
  /** Everything the store holds for one user (records, aliases, markers; Redis: every key). */
  footprint(tag: string): Promise<number>;
}

const stores: Record<string, (t: ExecutionContext) => Promise<Sut>> = {
  memory: async (t) => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock, policy: POLICY, sweepIntervalMs: 0 });
    t.teardown(() => store.close());
    return { store, clock, footprint: async (tag) => store.footprint(tag) };
  },
  redis: async (t) => {
    const clock = new ManualClock();
    const keys = keySpace(`f${++n}:`);
    const client = await connectRedis({ url: server.url });
    const store = new RedisStore({ client, clock, policy: POLICY, keys });
    t.teardown(() => store.close());
    const footprint = async (tag: string) => {
      const found = new Set<string>();
      let cursor = '0';
      do {
        const [next, batch] = await client.scan(cursor, 'MATCH', `${keys.prefix}{${tag}}:*`, 'COUNT', 1000);
        for (const k of batch) found.add(k);
        cursor = next;
      } while (cursor !== '0');
      return found.size;
    };
    return { store, clock, footprint };
  },
};

for (const [kind, make] of Object.entries(stores)) {
  test(`[${kind}] 300 refreshes of one session leave a constant footprint`, async (t) => {
    const { store, clock, footprint } = await make(t);
    const tag = newTag();
    let token = (await store.create({ userId: 'u1', tag }))!.token;
    const sizes: number[] = [];
    for (let i = 0; i < 300; i++) {
      clock.advance(1_000);
      const r = await store.refresh(token);
      if (!r.ok) return t.fail(`refresh ${i}: ${r.reason}`);
      token = r.token;
      sizes.push(await footprint(tag));
    }
    t.log(`footprint after 1, 2, 3, 300 refreshes: ${sizes[0]}, ${sizes[1]}, ${sizes[2]}, ${sizes[299]}`);
    // Redis also keeps the user's epoch and generation for as long as its index (so that
    // the scripts can declare them on a Cluster: lib.lua keep_user_keys).
    const bound = kind === 'redis' ? 8 : 6;
    t.true(Math.max(...sizes) <= bound, `at most record + index + one alias + two markers + the family, got ${Math.max(...sizes)}`);
    t.is(sizes[299], sizes[10]);
    t.like(await store.validate(token), { state: 'active' });
  });

  test(`[${kind}] a revoked session leaves nothing behind, whatever it was rotated through`, async (t) => {
    const { store, clock, footprint } = await make(t);
    const tag = newTag();
    const first = (await store.create({ userId: 'u1', tag }))!.token;
    let token = first;
    for (let i = 0; i < 5; i++) {
      clock.advance(1_000);
      const r = await store.refresh(token);
      if (!r.ok) return t.fail();
      token = r.token;
    }
    t.true(await store.revoke(token));
    t.is(await footprint(tag), 0);
    t.like(await store.validate(first), { state: 'login_required' });
  });

  test(`[${kind}] a replayed ID kills the chain and takes its trail with it`, async (t) => {
    const { store, clock, footprint } = await make(t);
    const tag = newTag();
    const a = (await store.create({ userId: 'u1', tag }))!.token;
    const b = await store.refresh(a);
    if (!b.ok) return t.fail();
    clock.advance(POLICY.rotationGraceMs);
    t.like(await store.validate(a), { state: 'login_required', reason: 'replay' });
    t.like(await store.validate(b.token), { state: 'login_required' });
    t.true((await footprint(tag)) <= 1);
  });
}

/** A RedisStore under a fresh prefix on the private server, for the Redis-only cases. */
async function redisStore(t: ExecutionContext) {
  const clock = new ManualClock();
  const keys = keySpace(`f${++n}:`);
  const client = await connectRedis({ url: server.url });
  const store = new RedisStore({ client, clock, policy: POLICY, keys });
  t.teardown(() => store.close());
  return { clock, keys, client, store };
}

test('[redis] the current ID of a session whose record Redis expired is unknown, not a replay of its family', async (t) => {
  const { clock, keys, client, store } = await redisStore(t);
  const tag = newTag();
  const a = (await store.create({ userId: 'u1', tag }))!;
  const b = await store.refresh(a.token);
  if (!b.ok) return t.fail();
  // What the record's TTL does when nobody presents the ID before its deadline.
  t.is(await client.del(keys.session(tag, parseToken(b.token)!.idHash)), 1);
  t.like(await store.validate(b.token), { state: 'login_required', reason: 'unknown' });
  clock.advance(POLICY.rotationGraceMs);
  t.like(await store.validate(a.token), { state: 'login_required', reason: 'replay' }, 'a past ID of the family still is one');
});

test('[redis] revoke-all ends a session whose index entry is missing (it does not depend on walking the index)', async (t) => {
  const { clock, keys, client, store } = await redisStore(t);
  const tag = newTag();
  const hidden = (await store.create({ userId: 'u1', tag }))!;
  const seen = (await store.create({ userId: 'u1', tag }))!;
  // What a Cluster slot migration can do to a walk of the index: one record is not found.
  t.is(await client.zrem(keys.userIndex(tag), parseToken(hidden.token)!.idHash), 1);
  clock.advance(1); // the generation is a time: the revocation comes after the logins
  await store.revokeAll(tag);
  t.like(await store.validate(seen.token), { state: 'login_required' });
  t.like(await store.validate(hidden.token), { state: 'login_required' }, 'the unindexed session is dead too');
  const fresh = (await store.create({ userId: 'u1', tag }))!;
  t.like(await store.validate(fresh.token), { state: 'active' }, 'a login after the revocation lives');
});
