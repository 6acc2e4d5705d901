/**
 * Form CSRF tokens across app nodes with zero configuration: two real server processes
 * in production mode on one Redis, no FORM_CSRF_KEY. A login form rendered by one node
 * and posted to the other (rolling restart, failover, lost sticky cookie) must sign in,
 * because the nodes share the HMAC key through Redis; the key never shows in the logs.
 */
import test from 'ava';
import { keySpace } from '../../src/store/keys.js';
import { PasswordHasher } from '../../src/users/password.js';
import { RedisUserStore } from '../../src/users/redis-user-store.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { PASSWORD, formLoginAcross as crossNode } from '../helpers/login.js';


let redis: RedisProcess;
let apps: AppProcess[] = [];

test.before(async () => {
  redis = await startRedis({ args: ['--maxmemory-policy', 'noeviction'] });
  const users = new RedisUserStore(redis.client());
  await users.create('alice', await new PasswordHasher({ concurrency: 1, queueLimit: 1 }).hash(PASSWORD));
  // Plain http in the test: production mode with the Secure cookie turned off.
  const env = { NODE_ENV: 'production', COOKIE_SECURE: 'off', REDIS_URL: redis.url };
  apps = await Promise.all([startApp({ env }), startApp({ env })]);
});

test.after.always(async () => {
  await Promise.all(apps.map((a) => a.stop('SIGKILL')));
  await redis?.stop();
});

const crossPost = (from: AppProcess, to: AppProcess) => crossNode(from.url, to.url, 'alice', PASSWORD);

test('a login form rendered by node 1 signs in when posted to node 2, and the other way round', async (t) => {
  const [a, b] = apps as [AppProcess, AppProcess];
  const ab = await crossPost(a, b);
  t.is(ab.status, 303, `node 1 → node 2: ${ab.body.slice(0, 200)}`);
  t.true(ab.setCookies.some((c) => c.startsWith('sid=')), 'a session cookie is issued');
  const ba = await crossPost(b, a);
  t.is(ba.status, 303, `node 2 → node 1: ${ba.body.slice(0, 200)}`);
});

test('the shared key lives in one Redis key and never appears in the logs', async (t) => {
  const client = redis.client();
  const key = keySpace().formKey();
  const stored = await client.get(key);
  t.truthy(stored, 'one key holds it');
  t.is(await client.ttl(key), -1, 'it does not expire');
  for (const app of apps) t.false(app.output().includes(stored!), 'not in the output of any node');
});

test('a node started later reads the same key and accepts the forms of the others', async (t) => {
  const late = await startApp({ env: { NODE_ENV: 'production', COOKIE_SECURE: 'off', REDIS_URL: redis.url } });
  apps.push(late);
  const res = await crossPost(apps[0]!, late);
  t.is(res.status, 303);
});

test('a configured FORM_CSRF_KEY wins: nothing is written to Redis and it alone verifies', async (t) => {
  const base = { NODE_ENV: 'production', COOKIE_SECURE: 'off', REDIS_URL: redis.url, SESSION_KEY_PREFIX: 'cfg:' };
  const key = 'a configured form key of at least 32 characters';
  const [a, b] = await Promise.all([
    startApp({ env: { ...base, FORM_CSRF_KEY: key } }),
    startApp({ env: { ...base, FORM_CSRF_KEY: key } }),
  ]);
  apps.push(a, b);
  t.is(await redis.client().get(keySpace('cfg:').formKey()), null, 'no shared key is created');
  const users = new RedisUserStore(redis.client(), { keyPrefix: 'cfg:' });
  await users.create('alice', await new PasswordHasher({ concurrency: 1, queueLimit: 1 }).hash(PASSWORD));
  t.is((await crossPost(a, b)).status, 303, 'the configured key is shared');
  // A node on the Redis key (prefix ss:) signs with another master than the configured one.
  t.is((await crossPost(apps[0]!, a)).status, 403);
});

test('a malformed shared key stops the start (exit 1) without printing the stored value', async (t) => {
  const stored = 'not-a-key-but-maybe-someones-secret';
  await redis.client().set(keySpace('bad:').formKey(), stored);
  const app = await startApp({
    env: { NODE_ENV: 'production', COOKIE_SECURE: 'off', REDIS_URL: redis.url, SESSION_KEY_PREFIX: 'bad:' },
    waitReady: false,
  });
  apps.push(app);
  t.is(await app.exited, 1);
  t.regex(app.output(), /Cannot start: cannot read the form CSRF key from Redis \(.*bad:formkey.*malformed/);
  t.false(app.output().includes(stored));
});
