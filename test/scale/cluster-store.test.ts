/**
 * The store contract suite (test/contract), unchanged, on a 3-master Redis Cluster:
 * every script touches the keys of one user slot, so the same code runs on one Redis
 * and on a cluster (docs/design.md, invariant 9). Two cluster clients play two app nodes.
 */
import test from 'ava';
import { newTag } from '../../src/sessions/token.js';
import { connectRedis } from '../../src/store/connection.js';
import { keySpace } from '../../src/store/keys.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { keySlot } from '../../src/store/replica-acks.js';
import { sessionStoreContract } from '../contract/session-store.contract.js';
import { type RedisClusterProcess, startRedisCluster } from '../helpers/redis-cluster.js';

let cluster: RedisClusterProcess;
let n = 0;
test.before(async () => {
  cluster = await startRedisCluster();
});
test.after.always(async () => {
  await cluster?.stop();
});

sessionStoreContract('cluster', async ({ clock, policy }) => {
  const keys = keySpace(`c${++n}:`);
  const [a, b] = await Promise.all([
    connectRedis({ clusterNodes: [...cluster.nodes] }),
    connectRedis({ clusterNodes: [...cluster.nodes] }),
  ]);
  const store = new RedisStore({ client: a, clock, policy, keys });
  const peer = new RedisStore({ client: b, clock, policy, keys });
  return { store, peer, close: async () => { await store.close(); await peer.close(); } };
});

test('sessions of many users spread over every master, each user’s keys in one slot', async (t) => {
  const client = await connectRedis({ clusterNodes: [...cluster.nodes] });
  const keys = keySpace('spread:');
  const store = new RedisStore({ client, keys });
  t.teardown(() => store.close());
  const tags = Array.from({ length: 30 }, () => newTag());
  for (const tag of tags) {
    const issued = await store.create({ userId: `u-${tag}`, tag });
    t.truthy(issued);
    t.is((await store.validate(issued!.token)).state, 'active');
  }
  const perMaster = await Promise.all(
    cluster.nodes.map((_, i) => cluster.nodeClient(i).keys('spread:*').then((k) => k.length)),
  );
  t.true(perMaster.every((count) => count > 0), `keys on every master: ${perMaster.join('/')}`);
  const node = cluster.nodeClient(0);
  for (const tag of tags.slice(0, 5)) {
    const slot = await node.cluster('KEYSLOT', keys.session(tag, 'x'));
    for (const key of [keys.userIndex(tag), keys.userEpoch(tag), keys.grace(tag, 'y'), keys.replay(tag, 'z')]) {
      t.is(await node.cluster('KEYSLOT', key), slot);
    }
  }
});

test('keySlot (which master a WAIT goes to) agrees with CLUSTER KEYSLOT', async (t) => {
  const node = cluster.nodeClient(1);
  for (const tag of [...Array.from({ length: 50 }, () => newTag()), 'a', '123456789']) {
    t.is(keySlot(tag), await node.cluster('KEYSLOT', keySpace().session(tag, 'x')));
  }
});
