/**
 * Redis Cluster over TLS with an ACL user: three masters listening on TLS only (the
 * cluster bus too, `tls-cluster yes`), default user off. The real server process starts
 * from REDIS_CLUSTER_NODES (bare host:port seeds) plus REDIS_TLS, REDIS_TLS_CA_FILE and
 * REDIS_USERNAME / REDIS_PASSWORD, signs in, serves /api/me and signs out; the admin CLI
 * uses the same settings; a wrong password stops the start without printing it.
 */
import test from 'ava';
import { PasswordHasher } from '../../src/users/password.js';
import { RedisUserStore } from '../../src/users/redis-user-store.js';
import { admin } from '../helpers/run-admin.js';
import { sessionRoundTrip } from '../helpers/round-trip.js';
import { type RedisClusterProcess, startRedisCluster } from '../helpers/redis-cluster.js';
import { type TlsFiles, makeCerts } from '../helpers/redis-tls.js';
import { startApp } from '../helpers/app-process.js';

import { PASSWORD } from '../helpers/login.js';
const REDIS_SECRET = 'cluster-node-S3cret';
let certs: TlsFiles;
let cluster: RedisClusterProcess;

test.before(async () => {
  certs = await makeCerts();
  cluster = await startRedisCluster({ tls: certs, user: { username: 'app', password: REDIS_SECRET } });
  const users = new RedisUserStore(cluster.client());
  await users.create('alice', await new PasswordHasher({ concurrency: 1, queueLimit: 1 }).hash(PASSWORD));
});
test.after.always(async () => {
  await cluster?.stop();
  certs?.remove();
});

const env = (): Record<string, string> => ({
  REDIS_CLUSTER_NODES: cluster.nodesEnv,
  REDIS_TLS: 'on',
  REDIS_TLS_CA_FILE: certs.caFile,
  REDIS_USERNAME: 'app',
  REDIS_PASSWORD: REDIS_SECRET,
});

test.serial('the server on a TLS cluster serves login, /api/me and logout', async (t) => {
  await sessionRoundTrip(t, env(), { secrets: [REDIS_SECRET] });
});

test.serial('the admin CLI reaches every master of the TLS cluster with the same settings', async (t) => {
  const list = await admin(['user', 'list', '--json'], env());
  t.is(list.code, 0, list.stderr);
  t.regex(list.stdout, /"alice"/);
  const stats = await admin(['sessions', 'stats'], env());
  t.is(stats.code, 0, stats.stderr);
});

test.serial('a wrong cluster password stops the start with an error that does not contain it', async (t) => {
  const wrong = 'not-the-cluster-Pa55';
  const app = await startApp({ env: { ...env(), REDIS_PASSWORD: wrong }, waitReady: false });
  t.is(await app.exited, 1, app.output());
  t.log(app.output().trim());
  t.regex(app.output(), /Cannot start: .*WRONGPASS/);
  t.false(app.output().includes(wrong), app.output());
});
