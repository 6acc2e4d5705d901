/**
 * The admin CLI on a 3-master Redis Cluster (admin kills): `sessions list` walks
 * every master with SCAN (no KEYS), `sessions kill --user` revokes a user's sessions
 * wherever their slot lives, and no output carries a cookie secret. The server process
 * (src/main.ts) itself runs on the cluster from REDIS_CLUSTER_NODES.
 */
import test from 'ava';
import { newTag } from '../../src/sessions/token.js';
import type { IssuedSession } from '../../src/sessions/types.js';
import { connectRedis } from '../../src/store/connection.js';
import { keySpace } from '../../src/store/keys.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { RedisUserStore } from '../../src/users/redis-user-store.js';
import { admin as runAdmin } from '../helpers/run-admin.js';
import { client } from '../helpers/http.js';
import { type RedisClusterProcess, startRedisCluster } from '../helpers/redis-cluster.js';
import { startApp } from '../helpers/app-process.js';

const PASSWORD = 'correct horse battery staple';

let cluster: RedisClusterProcess;
let store: RedisStore;
let users: RedisUserStore;

test.before(async () => {
  cluster = await startRedisCluster();
  const client = await connectRedis({ clusterNodes: [...cluster.nodes] });
  store = new RedisStore({ client, keys: keySpace() });
  users = new RedisUserStore(client);
});
test.after.always(async () => {
  await store?.close();
  await cluster?.stop();
});

const admin = (args: string[], stdin?: string) => runAdmin(args, { REDIS_CLUSTER_NODES: cluster.nodesEnv }, stdin);

const secretsIn = (issued: IssuedSession[], text: string) =>
  issued.filter((s) => text.includes(s.token.split('.')[1]!)).length;

test.serial('sessions list walks every master and kill --user revokes a user wherever its slot lives', async (t) => {
  for (const name of ['alice', 'bob']) {
    const added = await admin(['user', 'add', name, '--password-stdin'], `${PASSWORD}\n`);
    t.is(added.code, 0, added.stderr);
  }
  const alice = (await users.find('alice'))!;
  const bob = (await users.find('bob'))!;
  t.truthy(alice && bob);

  const login = async (userId: string, tag: string) => (await store.create({ userId, tag, ip: '198.51.100.9' }))!;
  const aliceSessions = await Promise.all([1, 2, 3].map(() => login(alice.id, alice.tag)));
  const bobSessions = await Promise.all([1, 2].map(() => login(bob.id, bob.tag)));
  // Many users' slots, so every master holds sessions.
  const others = await Promise.all(Array.from({ length: 24 }, (_, i) => login(`guest${i}`, newTag())));
  const all = [...aliceSessions, ...bobSessions, ...others];
  const perMaster = await Promise.all(
    cluster.nodes.map((_, i) => cluster.nodeClient(i).keys('ss:{*}:s:*').then((k) => k.length)),
  );
  t.true(perMaster.every((n) => n > 0), `sessions on every master: ${perMaster.join('/')}`);

  const listed = await admin(['sessions', 'list', '--json']);
  t.is(listed.code, 0, listed.stderr);
  const rows = JSON.parse(listed.stdout) as { handle: string }[];
  t.deepEqual(rows.map((r) => r.handle).sort(), all.map((s) => s.session.handle).sort());
  t.is(secretsIn(all, listed.stdout), 0);

  const table = await admin(['sessions', 'list', '--user', 'alice']);
  t.is(table.code, 0, table.stderr);
  for (const s of aliceSessions) t.true(table.stdout.includes(s.session.handle));
  t.false(table.stdout.includes(bobSessions[0]!.session.handle));

  const killed = await admin(['sessions', 'kill', '--user', 'alice']);
  t.is(killed.code, 0, killed.stderr);
  t.regex(killed.stdout, /\b3\b/);
  for (const s of aliceSessions) t.is((await store.validate(s.token)).state, 'login_required');
  for (const s of [...bobSessions, ...others]) t.is((await store.validate(s.token)).state, 'active');

  const stats = await admin(['sessions', 'stats', '--json']);
  t.is(stats.code, 0, stats.stderr);
  t.like(JSON.parse(stats.stdout), { active: bobSessions.length + others.length, total: bobSessions.length + others.length });
  t.is(secretsIn(all, killed.stdout + stats.stdout + table.stdout), 0);
});

test.serial('sessions kill <handle> reaches the master that owns the handle’s slot', async (t) => {
  const victims = await Promise.all(Array.from({ length: 3 }, () => store.create({ userId: 'carol', tag: newTag() })));
  for (const v of victims) {
    const r = await admin(['sessions', 'kill', v!.session.handle]);
    t.is(r.code, 0, r.stderr);
    t.is((await store.validate(v!.token)).state, 'login_required');
  }
  const again = await admin(['sessions', 'kill', victims[0]!.session.handle]);
  t.is(again.code, 1);
});

test.serial('the server process runs on the cluster from REDIS_CLUSTER_NODES, and a CLI kill reaches its sessions', async (t) => {
  const app = await startApp({ env: { REDIS_CLUSTER_NODES: cluster.nodesEnv } });
  t.teardown(() => app.stop('SIGKILL'));
  const req = client(app.url);
  const r = await req('POST', '/auth/login', { json: { username: 'bob', password: PASSWORD } });
  t.is(r.status, 200, r.text);
  const cookie = r.cookie()!;
  t.is((await req('GET', '/api/me', { cookie })).status, 200);
  t.is((await req('GET', '/readyz')).status, 200);
  const killed = await admin(['sessions', 'kill', '--user', 'bob']);
  t.is(killed.code, 0, killed.stderr);
  t.is((await req('GET', '/api/me', { cookie })).status, 401);
  t.is(await app.stop('SIGTERM'), 0, 'drains and exits 0');
});
