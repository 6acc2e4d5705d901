/**
 * A Cluster master dies (no replica to fail over to): the store fails closed — every
 * answer is a session state or StoreUnavailableError, never a hang and never "logged
 * out" — and the same client recovers by itself once the node is back. Liveness bounds here are generous; speed belongs to the benchmarks.
 */
import test from 'ava';
import { newTag } from '../../src/sessions/token.js';
import type { IssuedSession } from '../../src/sessions/types.js';
import { connectRedis } from '../../src/store/connection.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { startRedisCluster } from '../helpers/redis-cluster.js';
import { OutcomeTally, sessionsOnMaster } from './cluster-probe.js';

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
  const onVictim = await sessionsOnMaster(cluster.nodeClient(0), victim.port, sessions);
  t.true(onVictim.length > 0 && onVictim.length < sessions.length);

  await victim.kill('SIGKILL');
  const tally = new OutcomeTally();
  // Until the cluster marks the node failed (node timeout) and after: answers only.
  for (let round = 0; round < 8; round++) {
    await tally.round(store, sessions);
    await new Promise((r) => setTimeout(r, 250));
  }
  t.deepEqual(tally.others('active', '503 store_unavailable'), []);
  t.true(tally.count('503 store_unavailable') >= onVictim.length, 'the dead master’s users got 503');
  t.true(tally.slowest < 5000, `no request hung (${tally.summary()})`);
  t.log(`while a master was down: ${tally.summary()}`);

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
