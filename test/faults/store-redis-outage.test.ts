/**
 * Redis only, fault injection on a private server (docs/design.md, invariant 4): a dead, stalled or
 * read-only Redis gives StoreUnavailableError (never "no session"), bounded: a call
 * waits at most REDIS_RETRY_BUDGET (2 s, what a failover needs), and once the store has
 * failed for longer than that every call fails fast; the same store object recovers by
 * itself, including its Lua scripts (NOSCRIPT).
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import test, { type ExecutionContext } from 'ava';
import { ManualClock } from '../../src/clock.js';
import { StoreUnavailableError } from '../../src/errors.js';
import { newTag } from '../../src/sessions/token.js';
import type { SessionStore } from '../../src/sessions/types.js';
import { connectRedis, type RedisClient } from '../../src/store/connection.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { POLICY } from '../contract/session-store.contract.js';
import { freePort } from '../helpers/ports.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';

let server: RedisProcess;
let store: RedisStore;
let admin: RedisClient;
const clock = new ManualClock();
test.before(async () => {
  // AOF with fsync always: what was acknowledged before a kill -9 is there after it.
  server = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  admin = server.client();
  store = new RedisStore({ client: await connectRedis({ url: server.url }), clock, policy: POLICY });
});
test.after.always(async () => {
  await store?.close();
  await server?.stop();
});

/** Waits (bounded) until the store answers again by itself; returns how long it took. */
async function recovered(t: ExecutionContext, s: SessionStore): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    try {
      await s.ping();
      return performance.now() - t0;
    } catch (err) {
      t.true(err instanceof StoreUnavailableError);
      if (performance.now() - t0 > 15_000) throw new Error('the store did not recover by itself');
      await sleep(50);
    }
  }
}

const unavailable = async (t: ExecutionContext, what: string, op: () => Promise<unknown>) => {
  const t0 = performance.now();
  const err = await t.throwsAsync(op(), undefined, what);
  t.true(err instanceof StoreUnavailableError, `${what}: ${String(err)}`);
  t.is((err as StoreUnavailableError | undefined)?.code, 'store_unavailable');
  return performance.now() - t0;
};

test.serial('a killed redis-server: the first call waits the retry budget at most, then every operation fails fast, and the same store works again after restart', async (t) => {
  const tag = newTag();
  const a = (await store.create({ userId: 'u1', tag }))!;
  const v = await store.validate(a.token);
  if (v.state !== 'active') return t.fail();
  await server.kill('SIGKILL');
  const ops: [string, () => Promise<unknown>][] = [
    ['validate', () => store.validate(a.token)],
    ['create', () => store.create({ userId: 'u1', tag })],
    ['refresh', () => store.refresh(a.token)],
    ['updateData', () => store.updateData(v.ref, { x: 1 })],
    ['revoke', () => store.revoke(a.token)],
    ['revokeHandle', () => store.revokeHandle(a.session.handle)],
    ['revokeAll', () => store.revokeAll(tag)],
    ['get', () => store.get(a.session.handle)],
    ['list', () => store.list(tag)],
    ['epoch', () => store.epoch(tag)],
    ['ping', () => store.ping()],
  ];
  // The first call cannot tell an outage from a failover: it waits the budget (2 s).
  const [[firstWhat, firstOp], ...rest] = ops as [[string, () => Promise<unknown>], ...typeof ops];
  const first = await unavailable(t, firstWhat, firstOp);
  t.log(`first failure while Redis is down: ${first.toFixed(1)} ms (REDIS_RETRY_BUDGET 2 s)`);
  t.true(first < 3_000, 'bounded by the retry budget');
  // Down for longer than the budget: Redis is out, not moving; no call waits any more.
  let slowest = 0;
  for (const [what, op] of rest) slowest = Math.max(slowest, await unavailable(t, what, op));
  t.log(`slowest failure after that: ${slowest.toFixed(1)} ms`);
  t.true(slowest < 1_000, 'no hang: fails well within a second');

  await server.restart();
  t.log(`recovered by itself ${(await recovered(t, store)).toFixed(0)} ms after the restart`);
  t.like(await store.validate(a.token), { state: 'active' }, 'the acknowledged session survived (AOF always)');
  const b = await store.create({ userId: 'u1', tag });
  t.truthy(b);
  t.like(await store.refresh(b!.token), { ok: true });
});

test.serial('requests in flight when Redis dies get store_unavailable, never "no session"', async (t) => {
  const a = (await store.create({ userId: 'u1', tag: newTag() }))!;
  const inFlight = Array.from({ length: 100 }, () =>
    store.validate(a.token).then((r) => r.state, (err: unknown) => (err instanceof StoreUnavailableError ? '503' : String(err))),
  );
  await server.kill('SIGKILL');
  const outcomes = new Set(await Promise.all(inFlight));
  t.log([...outcomes]);
  for (const o of outcomes) t.true(o === 'active' || o === '503', o);
  await server.restart();
  await recovered(t, store);
  t.is((await store.validate(a.token)).state, 'active');
});

test.serial('a stall shorter than the retry budget is waited out: the revoke is answered, not refused', async (t) => {
  const a = (await store.create({ userId: 'u1', tag: newTag() }))!;
  // What a Cluster manual failover does to the master, for about this long at most.
  await admin.call('CLIENT', 'PAUSE', '1000', 'ALL');
  const t0 = performance.now();
  t.true(await store.revoke(a.token), 'answered once the pause is over');
  t.log(`answered after ${(performance.now() - t0).toFixed(0)} ms (pause 1 s, command timeout 500 ms, budget 2 s)`);
  t.like(await store.validate(a.token), { state: 'login_required' });
});

test.serial('a password change met by a stall is confirmed by its successor, never rotated twice', async (t) => {
  const tag = newTag();
  const mine = (await store.create({ userId: 'u1', tag }))!;
  const other = (await store.create({ userId: 'u1', tag }))!;
  // The first try times out and runs when the pause ends; the store must not rotate the
  // session again (which would end the successor it hands out), only find that it did.
  await admin.call('CLIENT', 'PAUSE', '1000', 'ALL');
  const r = await store.refresh(mine.token, { grace: false, revokeOthers: true });
  if (!r.ok) return t.fail(`password change refused: ${r.reason}`);
  t.like(await store.validate(r.token), { state: 'active' }, 'the successor it answered is the live one');
  t.like(await store.validate(mine.token), { state: 'login_required' });
  t.like(await store.validate(other.token), { state: 'login_required' }, 'the other session was revoked');
  t.deepEqual((await store.list(tag)).map((s) => s.handle), [mine.session.handle], 'one session left: rotated once');
});

test.serial('with REDIS_RETRY_BUDGET=0 a stalled Redis fails commands at the command timeout, and a revoke it stalled still lands', async (t) => {
  const impatient = new RedisStore({ client: await connectRedis({ url: server.url }), clock, policy: POLICY, retryBudgetMs: 0 });
  t.teardown(() => impatient.close());
  const a = (await impatient.create({ userId: 'u1', tag: newTag() }))!;
  // A 2 s pause against the 500 ms timeout keeps "failed at the timeout" and "waited out
  // the pause" apart on a loaded machine (behaviour, not a speed claim), while staying
  // under the socket timeout (2.5 s), which would drop the connection and its queued revoke.
  await admin.call('CLIENT', 'PAUSE', '2000', 'ALL');
  const elapsed = await unavailable(t, 'revoke during CLIENT PAUSE', () => impatient.revoke(a.token));
  t.log(`failed after ${elapsed.toFixed(0)} ms (command timeout 500 ms)`);
  t.true(elapsed < 1_800, 'bounded by the command timeout, not by the pause');
  await recovered(t, impatient);
  // The timed-out command was still queued in Redis: a revocation only gets more final.
  t.like(await impatient.validate(a.token), { state: 'login_required' });
});

test.serial('a script cache flushed under the store (NOSCRIPT) is reloaded transparently', async (t) => {
  const a = (await store.create({ userId: 'u1', tag: newTag() }))!;
  const noscript = async () => Number(/errorstat_NOSCRIPT:count=(\d+)/.exec(await admin.info('errorstats'))?.[1] ?? 0);
  const before = await noscript();
  await admin.script('FLUSH');
  t.is((await store.validate(a.token)).state, 'active');
  t.true((await noscript()) > before, 'EVALSHA did meet NOSCRIPT and fell back to EVAL');
  t.is((await store.validate(a.token)).state, 'active');
});

test.serial('a demoted master (READONLY) is waited for within the retry budget, then store_unavailable, and the store recovers when it is writable again', async (t) => {
  const a = (await store.create({ userId: 'u1', tag: newTag() }))!;
  await admin.call('REPLICAOF', '127.0.0.1', String(await freePort()));
  try {
    const err = await t.throwsAsync(store.create({ userId: 'u1', tag: newTag() }));
    t.true(err instanceof StoreUnavailableError);
    // READONLY is retried (nothing was applied); the demotion also drops the connection,
    // so the last failure before the budget ran out may be either.
    t.regex(String((err as Error).cause), /READONLY|writeable|Connection is closed/);
  } finally {
    await admin.call('REPLICAOF', 'NO', 'ONE');
  }
  for (let i = 0; ; i++) {
    try {
      t.truthy(await store.create({ userId: 'u1', tag: newTag() }));
      break;
    } catch (err) {
      t.true(err instanceof StoreUnavailableError);
      if (i > 200) throw err;
      await sleep(50);
    }
  }
  t.is((await store.validate(a.token)).state, 'active');
});
