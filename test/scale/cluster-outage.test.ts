/**
 * A Cluster master dies (no replica to fail over to): the store fails closed — every
 * answer is a session state or StoreUnavailableError, never a hang and never "logged
 * out" — and the same client recovers by itself once the node is back (checklist
 * FI-4 d). Liveness bounds here are generous; speed belongs to the benchmarks.
 */
import test from 'ava';
import { AppError } from '../../src/errors.js';
import { newTag } from '../../src/sessions/token.js';
import type { IssuedSession } from '../../src/sessions/types.js';
import { connectRedis } from '../../src/store/connection.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { keySlot } from '../../src/store/replica-acks.js';
import { startRedisCluster } from '../helpers/redis-cluster.js';

test('a dead master fails closed with 503 and the same client recovers, sessions intact, when it returns', async (t) => {
  // AOF with fsync always: what the node acknowledged is there when it restarts.
  const cluster = await startRedisCluster({ nodeTimeoutMs: 1000, args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  t.teardown(() => cluster.stop());
  const client = await connectRedis({ clusterNodes: [...cluster.nodes] });
  const store = new RedisStore({ client });
  t.teardown(() => store.close());

  const sessions: IssuedSession[] = [];
  for (let i = 0; i < 24; i++) sessions.push((await store.create({ userId: `u${i}`, tag: newTag() }))!);
  // Which sessions live on the master we are about to kill.
  const victim = cluster.servers[0]!;
  const ranges = await cluster.nodeClient(0).cluster('SLOTS');
  const owned = (tag: string) =>
    ranges.some(([lo, hi, master]) => master?.[1] === victim.port && keySlot(tag) >= lo && keySlot(tag) <= hi);
  const onVictim = sessions.filter((s) => owned(s.session.tag));
  t.true(onVictim.length > 0 && onVictim.length < sessions.length);

  await victim.kill('SIGKILL');
  const outcomes = new Map<string, number>();
  let slowest = 0;
  // Until the cluster marks the node failed (node timeout) and after: answers only.
  for (let round = 0; round < 8; round++) {
    await Promise.all(
      sessions.map(async (s) => {
        const t0 = performance.now();
        let outcome: string;
        try {
          outcome = (await store.validate(s.token)).state;
        } catch (err) {
          outcome = err instanceof AppError ? `${err.status} ${err.code}` : `thrown ${String(err)}`;
        }
        slowest = Math.max(slowest, performance.now() - t0);
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }),
    );
    await new Promise((r) => setTimeout(r, 250));
  }
  t.deepEqual([...outcomes.keys()].filter((o) => o !== 'active' && o !== '503 store_unavailable'), []);
  t.true((outcomes.get('503 store_unavailable') ?? 0) >= onVictim.length, 'the dead master’s users got 503');
  t.true(slowest < 5000, `no request hung (slowest ${Math.round(slowest)} ms)`);
  t.log(`outcomes while a master was down: ${JSON.stringify(Object.fromEntries(outcomes))}; slowest ${Math.round(slowest)} ms`);

  await victim.restart();
  const deadline = Date.now() + 20_000;
  for (;;) {
    const states = await Promise.all(sessions.map((s) => store.validate(s.token).then((v) => v.state, () => 'down')));
    if (states.every((s) => s === 'active')) break;
    if (Date.now() > deadline) throw new Error(`not recovered: ${states.join(',')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  t.pass('every session is active again, through the same client');
});
