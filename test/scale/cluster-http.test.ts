/**
 * The JSON API contract suite (test/integration/api-suite.ts), unchanged, on a
 * 3-master Redis Cluster: the whole cycle on a ManualClock (login, /api/me, idle lapse,
 * refresh, logout, absolute lifetime), every failure code, throttling, fixation, with
 * sessions, users and throttle counters spread over the masters.
 */
import test from 'ava';
import { registerApiSuite } from '../integration/api-suite.js';
import { registerDbscSuite } from '../integration/dbsc-suite.js';
import { type RedisClusterProcess, startRedisCluster } from '../helpers/redis-cluster.js';

let cluster: RedisClusterProcess | undefined;
test.before(async () => {
  cluster = await startRedisCluster();
});
test.after.always(async () => {
  await cluster?.stop();
});

registerApiSuite('cluster', () => ({ connection: { clusterNodes: [...cluster!.nodes] } }));
registerDbscSuite('cluster, device binding', () => ({ connection: { clusterNodes: [...cluster!.nodes] } }));
