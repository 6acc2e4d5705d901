/**
 * The shared form CSRF key on a Redis Cluster: two server processes configured only
 * with REDIS_CLUSTER_NODES agree on the key (one key, single-key commands, routed to
 * its slot's master), so a login form rendered by one signs in on the other.
 */
import test from 'ava';
import { keySpace } from '../../src/store/keys.js';
import { PasswordHasher } from '../../src/users/password.js';
import { RedisUserStore } from '../../src/users/redis-user-store.js';
import { type RedisClusterProcess, startRedisCluster } from '../helpers/redis-cluster.js';
import { PASSWORD, formLoginAcross as crossPost } from '../helpers/login.js';
import { type AppProcess, startApp } from '../helpers/app-process.js';

let cluster: RedisClusterProcess;
let apps: AppProcess[] = [];

test.before(async () => {
  cluster = await startRedisCluster();
  const users = new RedisUserStore(cluster.client());
  await users.create('alice', await new PasswordHasher({ concurrency: 1, queueLimit: 1 }).hash(PASSWORD));
  const env = { NODE_ENV: 'production', COOKIE_SECURE: 'off', REDIS_CLUSTER_NODES: cluster.nodesEnv };
  apps = await Promise.all([startApp({ env }), startApp({ env })]);
});

test.after.always(async () => {
  await Promise.all(apps.map((a) => a.stop('SIGKILL')));
  await cluster?.stop();
});

test('on a Cluster the nodes share one form key: a form from node 1 signs in on node 2 and back', async (t) => {
  const [a, b] = apps as [AppProcess, AppProcess];
  t.is((await crossPost(a.url, b.url, 'alice', PASSWORD)).status, 303);
  t.is((await crossPost(b.url, a.url, 'alice', PASSWORD)).status, 303);
  t.truthy(await cluster.client().get(keySpace().formKey()), 'the key is in the cluster');
});
