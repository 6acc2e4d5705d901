/**
 * Sentinel over TLS with ACL users on both layers: the data servers (master, replica)
 * and the three Sentinels listen on TLS only with the default user off; the data
 * servers know the user `app`, the Sentinels the user `watch`. The real server process
 * starts from REDIS_SENTINELS (bare host:port) plus REDIS_TLS, REDIS_TLS_CA_FILE,
 * REDIS_USERNAME / REDIS_PASSWORD and REDIS_SENTINEL_USERNAME / REDIS_SENTINEL_PASSWORD,
 * signs in, serves /api/me and signs out; the admin CLI uses the same settings; a wrong
 * Sentinel password stops the start without printing it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { PasswordHasher } from '../../src/users/password.js';
import { RedisUserStore } from '../../src/users/redis-user-store.js';
import { admin } from '../helpers/run-admin.js';
import { client } from '../helpers/http.js';
import { sessionRoundTrip } from '../helpers/round-trip.js';
import { type SentinelSetup, startRedisSentinel } from '../helpers/redis-sentinel.js';
import { type TlsFiles, makeCerts } from '../helpers/redis-tls.js';
import { startApp } from '../helpers/app-process.js';

import { PASSWORD } from '../helpers/login.js';
const DATA_SECRET = 'data-node-S3cret';
const SENTINEL_SECRET = 'sentinel-S3cret';
let certs: TlsFiles;
let sentinel: SentinelSetup;

test.before(async () => {
  certs = await makeCerts();
  sentinel = await startRedisSentinel({
    tls: certs,
    dataUser: { username: 'app', password: DATA_SECRET },
    sentinelUser: { username: 'watch', password: SENTINEL_SECRET },
  });
  const users = new RedisUserStore(sentinel.client());
  await users.create('alice', await new PasswordHasher({ concurrency: 1, queueLimit: 1 }).hash(PASSWORD));
});
test.after.always(async () => {
  await sentinel?.stop();
  certs?.remove();
});

const env = (): Record<string, string> => ({
  REDIS_SENTINELS: sentinel.sentinelsEnv,
  REDIS_SENTINEL_NAME: sentinel.name,
  REDIS_TLS: 'on',
  REDIS_TLS_CA_FILE: certs.caFile,
  REDIS_USERNAME: 'app',
  REDIS_PASSWORD: DATA_SECRET,
  REDIS_SENTINEL_USERNAME: 'watch',
  REDIS_SENTINEL_PASSWORD: SENTINEL_SECRET,
});

test.serial('the server finds the master through TLS Sentinels and serves login, /api/me and logout', async (t) => {
  await sessionRoundTrip(t, env(), { secrets: [DATA_SECRET, SENTINEL_SECRET] });
});

test.serial('after a Sentinel failover the same cookie works again on the new master, over TLS', async (t) => {
  const app = await startApp({ env: env() });
  try {
    const req = client(app.url);
    const login = await req('POST', '/auth/login', { json: { username: 'alice', password: PASSWORD } });
    t.is(login.status, 200, login.text);
    const cookie = login.cookie()!;
    // The session is on the replica before the switch (this test is about the TLS path,
    // not about asynchronous replication; REDIS_WAIT_REPLICAS covers that).
    await (await sentinel.master()).client().call('WAIT', '1', '2000');
    const before = await sentinel.master();
    const { master } = await sentinel.failover();
    t.not(master.port, before.port);
    let status = 0;
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(50)) {
      status = (await req('GET', '/api/me', { cookie })).status;
      if (status === 200) break;
    }
    t.is(status, 200, app.output());
  } finally {
    await app.stop('SIGKILL');
  }
});

test.serial('the admin CLI reaches the master through the same TLS Sentinels', async (t) => {
  const list = await admin(['user', 'list', '--json'], env());
  t.is(list.code, 0, list.stderr);
  t.regex(list.stdout, /"alice"/);
});

test.serial('a wrong Sentinel password stops the start with an error that does not contain it', async (t) => {
  const wrong = 'not-the-sentinel-Pa55';
  const app = await startApp({ env: { ...env(), REDIS_SENTINEL_PASSWORD: wrong }, waitReady: false });
  t.is(await app.exited, 1, app.output());
  t.log(app.output().trim());
  t.regex(app.output(), /Cannot start: /);
  t.false(app.output().includes(wrong), app.output());
});
