/**
 * REDIS_WAIT_REPLICAS on a standalone master with one replica (no Sentinel), together
 * with SESSION_CACHE=on: the cache wraps the replica-acknowledging store, so cache hits
 * still cost no round trip while logins and logouts wait for the replica.
 */
import test from 'ava';
import { PasswordHasher } from '../../src/users/password.js';
import { RedisUserStore } from '../../src/users/redis-user-store.js';
import { client } from '../helpers/http.js';
import { startRedis } from '../helpers/redis-server.js';
import { startApp } from '../helpers/app-process.js';

const PASSWORD = 'correct horse battery staple';

test('with the session cache on, logins and logouts are confirmed by the replica and a frozen replica makes them 503', async (t) => {
  // No 5 s wait before the diskless full sync of the replica.
  const master = await startRedis({ args: ['--repl-diskless-sync-delay', '0'] });
  t.teardown(() => master.stop());
  const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
  t.teardown(() => replica.stop());
  while (!/master_link_status:up/.test(await replica.client().info('replication'))) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await new RedisUserStore(master.client()).create('alice', await new PasswordHasher({ concurrency: 1, queueLimit: 1 }).hash(PASSWORD));
  // WAIT timeout and command timeout fit for a loaded 2-core CI; the SIGSTOPped replica
  // below still never answers, so the frozen case is unchanged.
  const app = await startApp({
    env: { REDIS_URL: master.url, REDIS_WAIT_REPLICAS: '1', SESSION_CACHE: 'on', REDIS_COMMAND_TIMEOUT: '2s', REDIS_WAIT_TIMEOUT: '1s' },
  });
  t.teardown(() => app.stop('SIGKILL'));
  const req = client(app.url);
  const login = () => req('POST', '/auth/login', { json: { username: 'alice', password: PASSWORD } });

  const r = await login();
  t.is(r.status, 200, r.text);
  const cookie = r.cookie()!;
  for (let i = 0; i < 3; i++) t.is((await req('GET', '/api/me', { cookie })).status, 200);
  t.is((await req('POST', '/auth/logout', { cookie })).status, 204);
  t.is((await req('GET', '/api/me', { cookie })).status, 401);

  const second = (await login()).cookie()!;
  t.is((await req('GET', '/api/me', { cookie: second })).status, 200);
  const pid = Number(/process_id:(\d+)/.exec(await replica.client().info('server'))?.[1]);
  process.kill(pid, 'SIGSTOP');
  let frozen: { login: number; logout: number };
  try {
    frozen = { login: (await login()).status, logout: (await req('POST', '/auth/logout', { cookie: second })).status };
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  t.deepEqual(frozen, { login: 503, logout: 503 }, 'nothing is acknowledged that the replica lacks');
  // Unconfirmed is not undone: the revocation ran on the master, and the cache forgot the session.
  t.is((await req('GET', '/api/me', { cookie: second })).status, 401);
  t.is((await req('POST', '/auth/logout', { cookie: second })).status, 204, 'the retried logout is confirmed');
});
