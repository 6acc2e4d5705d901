/**
 * Redis over TLS with an ACL user, standalone: the real server process starts from
 * `rediss://` (credentials in the URL, or in REDIS_USERNAME / REDIS_PASSWORD), signs in
 * and serves /api/me; the admin CLI reaches the same server; a wrong password or an
 * untrusted certificate stops the start with a message that names the cause and never
 * the password. The redis-server listens on TLS only, with the default user off.
 */
import test from 'ava';
import { PasswordHasher } from '../../src/users/password.js';
import { RedisUserStore } from '../../src/users/redis-user-store.js';
import { admin } from '../helpers/run-admin.js';
import { sessionRoundTrip } from '../helpers/round-trip.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { type TlsFiles, aclArgs, makeCerts } from '../helpers/redis-tls.js';
import { startApp } from '../helpers/app-process.js';

import { PASSWORD } from '../helpers/login.js';
const REDIS_SECRET = 'redis-acl-S3cret-value';
let certs: TlsFiles;
let redis: RedisProcess;

test.before(async () => {
  certs = await makeCerts();
  redis = await startRedis({
    tls: certs,
    args: aclArgs('app', REDIS_SECRET),
    access: { username: 'app', password: REDIS_SECRET },
  });
  const users = new RedisUserStore(redis.client());
  await users.create('alice', await new PasswordHasher({ concurrency: 1, queueLimit: 1 }).hash(PASSWORD));
});
test.after.always(async () => {
  await redis?.stop();
  certs?.remove();
});

const roundTrip = (t: import('ava').ExecutionContext, env: Record<string, string>) =>
  sessionRoundTrip(t, env, { secrets: [REDIS_SECRET] });

const port = () => String(redis.port);

test.serial('rediss:// with the ACL user in the URL: login, /api/me and logout work', async (t) => {
  await roundTrip(t, {
    REDIS_URL: `rediss://app:${encodeURIComponent(REDIS_SECRET)}@127.0.0.1:${port()}/`,
    REDIS_TLS_CA_FILE: certs.caFile,
  });
});

test.serial('rediss:// with REDIS_USERNAME / REDIS_PASSWORD, the certificate checked against REDIS_TLS_SERVERNAME', async (t) => {
  await roundTrip(t, {
    REDIS_URL: `rediss://127.0.0.1:${port()}`,
    REDIS_USERNAME: 'app',
    REDIS_PASSWORD: REDIS_SECRET,
    REDIS_TLS_CA_FILE: certs.caFile,
    REDIS_TLS_SERVERNAME: 'localhost',
  });
});

test.serial('a wrong password stops the start with a clear error that does not contain it', async (t) => {
  const wrong = 'wrong-Pa55word-never-printed';
  const app = await startApp({
    env: { REDIS_URL: `rediss://127.0.0.1:${port()}`, REDIS_USERNAME: 'app', REDIS_PASSWORD: wrong, REDIS_TLS_CA_FILE: certs.caFile },
    waitReady: false,
  });
  const code = await app.exited;
  t.is(code, 1, app.output());
  t.log(app.output().trim());
  t.regex(app.output(), /Cannot start: .*WRONGPASS/);
  t.false(app.output().includes(wrong), app.output());
});

test.serial('a certificate the configured CAs do not sign stops the start, naming the certificate problem', async (t) => {
  // No REDIS_TLS_CA_FILE: the system CAs do not know the test CA.
  const app = await startApp({
    env: { REDIS_URL: `rediss://app:${encodeURIComponent(REDIS_SECRET)}@127.0.0.1:${port()}` },
    waitReady: false,
  });
  t.is(await app.exited, 1, app.output());
  t.log(app.output().trim());
  t.regex(app.output(), /Cannot start: .*certificate/i);
  t.false(app.output().includes(REDIS_SECRET), app.output());
});

test.serial('a certificate that does not carry REDIS_TLS_SERVERNAME stops the start', async (t) => {
  const app = await startApp({
    env: {
      REDIS_URL: `rediss://127.0.0.1:${port()}`,
      REDIS_USERNAME: 'app',
      REDIS_PASSWORD: REDIS_SECRET,
      REDIS_TLS_CA_FILE: certs.caFile,
      REDIS_TLS_SERVERNAME: 'redis.elsewhere.example',
    },
    waitReady: false,
  });
  t.is(await app.exited, 1, app.output());
  t.regex(app.output(), /Cannot start: .*redis\.elsewhere\.example/);
});

test.serial('the admin CLI connects with the same settings over TLS', async (t) => {
  const env = {
    REDIS_URL: `rediss://127.0.0.1:${port()}`,
    REDIS_USERNAME: 'app',
    REDIS_PASSWORD: REDIS_SECRET,
    REDIS_TLS_CA_FILE: certs.caFile,
  };
  const list = await admin(['user', 'list', '--json'], env);
  t.is(list.code, 0, list.stderr);
  t.regex(list.stdout, /"alice"/);
  const denied = await admin(['user', 'list'], { ...env, REDIS_PASSWORD: 'not-the-Secret-1' });
  t.not(denied.code, 0);
  t.regex(denied.stderr, /cannot connect to Redis.*WRONGPASS/);
  t.false(`${denied.stdout}${denied.stderr}`.includes('not-the-Secret-1'));
});
