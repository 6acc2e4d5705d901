/**
 * `user delete` takes the account's throttle device cookies with it, and a device cookie
 * of a deleted account is worth nothing to a new account of the same name: delete bob,
 * create a new bob, and the old bob's browser is held to the new bob's account limit
 * like any stranger. Over HTTP and the admin CLI on Redis; on the embedded stores the
 * same deletion through Accounts (the CLI needs Redis).
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { Accounts } from '../../src/auth/accounts.js';
import { keySpace } from '../../src/store/keys.js';
import { type Request, client } from '../helpers/http.js';
import { PASSWORD } from '../helpers/login.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { admin } from '../helpers/run-admin.js';
import { type TestServer, startServer } from '../helpers/server.js';

let redis: RedisProcess;
test.before(async () => {
  redis = await startRedis();
});
test.after.always(async () => {
  await redis?.stop();
});

const NEW_PASSWORD = 'the new bob has another passphrase';

const login = (req: Request, ip: string, password: string, device?: string) =>
  req('POST', '/auth/login', {
    json: { username: 'bob', password },
    headers: { 'x-forwarded-for': ip, ...(device ? { cookie: `did=${device}` } : {}) },
  });

async function deleteBob(t: ExecutionContext, kind: string, srv: TestServer): Promise<void> {
  if (kind === 'redis') {
    const r = await admin(['user', 'delete', 'bob'], { REDIS_URL: redis.url, SESSION_KEY_PREFIX: srv.keyPrefix });
    t.is(r.code, 0, r.stderr);
  } else {
    const accounts = new Accounts({
      users: srv.users,
      sessions: srv.sessions.service,
      throttle: srv.throttle,
      hashPassword: (p) => srv.hasher.hash(p),
      actor: { by: 'admin-cli' },
    });
    t.truthy(await accounts.remove('bob'));
  }
}

for (const kind of ['memory', 'redis']) {
  test(`${kind}: delete bob, create a new bob: the old bob's device cookie does not exempt its holder from the new bob's account limit`, async (t) => {
    const srv = await startServer({
      redis: kind === 'redis' ? redis : undefined,
      env: { TRUST_PROXY: '1', LOGIN_MAX_FAILURES_PER_ACCOUNT: '3' },
    });
    t.teardown(() => srv.close());
    const req = client(srv.url);
    await srv.addUser('bob', PASSWORD);
    const first = await login(req, '192.0.2.1', PASSWORD);
    t.is(first.status, 200);
    const device = first.cookie('did')!;
    t.truthy(device);

    await deleteBob(t, kind, srv);
    if (kind === 'redis') {
      const left = await redis.client().keys(`${keySpace(srv.keyPrefix).throttle('dev', '')}*`);
      t.deepEqual(left, [], 'the device records went with the account');
    }
    await srv.addUser('bob', NEW_PASSWORD);
    for (let i = 0; i < 4; i++) await login(req, `10.7.0.${i}`, 'a wrong password, guess');
    const r = await login(req, '198.51.100.5', NEW_PASSWORD, device);
    t.is(r.status, 429, r.text);
  });
}
