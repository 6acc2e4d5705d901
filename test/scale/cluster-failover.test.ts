/**
 * A Cluster master with a replica dies: the replica takes its slots over and the
 * sessions it had received live on with the same cookies, through the same client.
 * Meanwhile the store fails closed (every answer is a session state or
 * StoreUnavailableError: never "logged out", never a hang; a request waits within
 * REDIS_RETRY_BUDGET, so most ride the election out), and after the election a
 * revocation on the promoted master holds (docs/design.md, invariants 4 and 9).
 * Liveness bounds are generous; speed belongs to the benchmarks.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { newTag } from '../../src/sessions/token.js';
import type { IssuedSession } from '../../src/sessions/types.js';
import { connectRedis } from '../../src/store/connection.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { startRedisCluster } from '../helpers/redis-cluster.js';
import { OutcomeTally, sessionsOnMaster } from './cluster-probe.js';

const field = (info: string, name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();

test('a master fails over to its replica: its sessions live on, answers are active or 503 meanwhile, and a revocation after the election holds', async (t) => {
  const cluster = await startRedisCluster({ masters: 3, replicas: 1, nodeTimeoutMs: 1000 });
  t.teardown(() => cluster.stop());
  const admin = cluster.servers.map((_, i) => cluster.nodeClient(i));
  const roles = await Promise.all(admin.map(async (c) => field(await c.info('replication'), 'role')));
  const victimIndex = roles.indexOf('master');
  const victim = cluster.servers[victimIndex]!;
  const victimAdmin = admin[victimIndex]!;
  // Its replica, and the moment that replica has every write so far.
  const replicaPort = Number(/slave0:ip=[^,]+,port=(\d+)/.exec(await victimAdmin.info('replication'))?.[1]);
  const replicaIndex = cluster.servers.findIndex((s) => s.port === replicaPort);
  t.true(replicaIndex >= 0, 'the victim has a replica');

  const client = await connectRedis({ clusterNodes: [...cluster.nodes] });
  const store = new RedisStore({ client });
  t.teardown(() => store.close());
  const sessions: IssuedSession[] = [];
  for (let i = 0; i < 24; i++) sessions.push((await store.create({ userId: `u${i}`, tag: newTag() }))!);
  const onVictim = await sessionsOnMaster(victimAdmin, victim.port, sessions);
  t.true(onVictim.length > 0 && onVictim.length < sessions.length);
  for (let i = 0; ; i++) {
    const info = await victimAdmin.info('replication');
    const acked = Number(/slave0:[^\r\n]*offset=(\d+)/.exec(info)?.[1] ?? -1);
    if (acked >= Number(field(info, 'master_repl_offset'))) break;
    if (i > 200) return t.fail('the replica did not catch up');
    await sleep(25);
  }

  await victim.kill('SIGKILL');
  const tally = new OutcomeTally();
  const killedAt = performance.now();
  let recoveredAfter = 0;
  for (;;) {
    const states = await tally.round(store, sessions);
    // Requests that meet the election wait within REDIS_RETRY_BUDGET, so a 503 is allowed, not required.
    const promoted = field(await admin[replicaIndex]!.info('replication'), 'role') === 'master';
    if (promoted && states.every((s) => s === 'active')) {
      recoveredAfter = performance.now() - killedAt;
      break;
    }
    if (performance.now() - killedAt > 30_000) return t.fail(`not recovered: ${tally.summary()}`);
    await sleep(100);
  }
  t.deepEqual(tally.others('active', '503 store_unavailable'), [], 'never logged out, never another error');
  t.true(tally.slowest < 5000, `no request hung (${tally.summary()})`);
  t.is(field(await admin[replicaIndex]!.info('replication'), 'role'), 'master', 'the replica was promoted');
  t.log(`all ${sessions.length} sessions (${onVictim.length} on the dead master) active again ${Math.round(recoveredAfter)} ms after the kill; ${tally.summary()}`);

  // Writes go to the promoted master: a revocation there holds, a new session there lives.
  const revoked = onVictim[0]!;
  t.true(await store.revoke(revoked.token));
  t.like(await store.validate(revoked.token), { state: 'login_required' });
  const fresh = (await store.create({ userId: 'u-new', tag: revoked.session.tag }))!;
  t.is((await store.validate(fresh.token)).state, 'active');
  for (const s of onVictim.slice(1)) t.is((await store.validate(s.token)).state, 'active');
});
