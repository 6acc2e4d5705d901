/**
 * docs/design.md, invariant 2, one clock: two app nodes whose system clocks disagree by ±5 minutes make
 * the same idle and absolute decisions, because the Redis store (default `redisTime`)
 * decides on Redis TIME, never on the node's Date.now(). The skew is real for the code
 * under test: Date.now is shifted in this process while the "other node" acts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { newTag } from '../../src/sessions/token.js';
import { connectRedis, type RedisClient } from '../../src/store/connection.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';

let server: RedisProcess;
const clients: RedisClient[] = [];
test.before(async () => {
  server = await startRedis();
});
test.after.always(async () => {
  for (const c of clients) c.disconnect();
  await server?.stop();
});

const realNow = Date.now;
/** Runs fn as a node whose system clock is off by offsetMs. */
async function skewed<T>(offsetMs: number, fn: () => Promise<T>): Promise<T> {
  Date.now = () => realNow() + offsetMs;
  try {
    return await fn();
  } finally {
    Date.now = realNow;
  }
}

const node = async (policy: { idleTimeoutMs: number; absoluteLifetimeMs: number }) => {
  const client = await connectRedis({ url: server.url });
  clients.push(client);
  // No clock given: production default, Redis TIME inside the scripts.
  return new RedisStore({ client, ownsClient: false, policy: { ...policy, rotationGraceMs: 100, touchIntervalMs: 0, maxPerUser: 0, refreshEnabled: true } });
};

test.serial('nodes 5 minutes apart agree on the deadlines of a session', async (t) => {
  const policy = { idleTimeoutMs: 60_000, absoluteLifetimeMs: 3_600_000 };
  const [a, b] = [await node(policy), await node(policy)];
  const issued = await skewed(-5 * 60_000, () => a.create({ userId: 'u', tag: newTag() }));
  const seenByB = await skewed(+5 * 60_000, () => b.validate(issued!.token));
  t.is(seenByB.state, 'active');
  if (seenByB.state !== 'active') return;
  // The absolute deadline was fixed by Redis when A created it; B reads the same one.
  t.is(seenByB.session.absoluteExpiresAt, issued!.session.absoluteExpiresAt);
  t.is(seenByB.session.createdAt, issued!.session.createdAt);
  // Both nodes' "now" is Redis's: within a second of each other, not 10 minutes apart.
  t.true(Math.abs(seenByB.now - issued!.now) < 1_000);
});

test.serial('an idle lapse is decided the same by a node running ahead and one running behind', async (t) => {
  const policy = { idleTimeoutMs: 300, absoluteLifetimeMs: 60_000 };
  const [a, b] = [await node(policy), await node(policy)];
  const issued = await a.create({ userId: 'u', tag: newTag() });
  // A node 5 minutes ahead would call the session long idle if it used its own clock.
  const ahead = await skewed(+5 * 60_000, () => b.validate(issued!.token));
  t.is(ahead.state, 'active');
  await sleep(450);
  // A node 5 minutes behind would still call it active if it used its own clock.
  const behind = await skewed(-5 * 60_000, () => a.validate(issued!.token));
  t.is(behind.state, 'stale');
  const other = await skewed(+5 * 60_000, () => b.validate(issued!.token));
  t.is(other.state, 'stale');
});

test.serial('an absolute lifetime ends at the same moment for every node', async (t) => {
  const policy = { idleTimeoutMs: 200, absoluteLifetimeMs: 400 };
  const [a, b] = [await node(policy), await node(policy)];
  const issued = await a.create({ userId: 'u', tag: newTag() });
  const early = await skewed(+5 * 60_000, () => b.refresh(issued!.token));
  t.true(early.ok, 'a node running ahead must not end the session early');
  await sleep(500);
  const token = early.ok ? early.token : issued!.token;
  // Past the deadline Redis may already have dropped the key (reason 'unknown') or the
  // script finds it expired ('expired'); either way a node running behind cannot use it.
  const late = await skewed(-5 * 60_000, () => a.validate(token));
  t.is(late.state, 'login_required');
  const lateRefresh = await skewed(-5 * 60_000, () => a.refresh(token));
  t.false(lateRefresh.ok);
});
