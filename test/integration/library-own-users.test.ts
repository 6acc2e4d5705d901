/**
 * examples/own-users: an app with its own users table mounts sliding-sessions in a few
 * lines (slidingSessions(app, { redis })) and signs its users in by id. Run against the
 * embedded store and a private redis-server, over real HTTP.
 */
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import test, { type ExecutionContext } from 'ava';
import { Accounts, createExampleApp } from '../../examples/own-users/app.js';
import { client } from '../helpers/http.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';

let redis: RedisProcess;
test.before(async () => {
  redis = await startRedis();
});
test.after.always(async () => {
  await redis?.stop();
});

const PASSWORD = 'a long enough example password';
let n = 0;

async function start(t: ExecutionContext, kind: 'memory' | 'redis') {
  const accounts = new Accounts();
  const alice = accounts.add('alice@example.org', PASSWORD);
  const { app, sessions } = createExampleApp(accounts, {
    redis: kind === 'redis' ? redis.url : undefined,
    // Each test its own key prefix: the example's user ids repeat from one app to the next.
    env: { SESSION_IDLE_TIMEOUT: '15m', LOG_LEVEL: 'silent', SESSION_KEY_PREFIX: `own${++n}:` },
  });
  await sessions.ready(); // as the README does: the first request must not race the Redis connection
  const server = createServer(app.callback()).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  t.teardown(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await sessions.close();
  });
  const req = client(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const login = async () => {
    const r = await req('POST', '/login', { json: { email: 'alice@example.org', password: PASSWORD } });
    t.is(r.status, 200, r.text);
    return r.cookie()!;
  };
  return { req, login, alice };
}

for (const kind of ['memory', 'redis'] as const) {
  test(`${kind}: the app checks its own password, then the session is the package's: /me, app data, refresh, logout`, async (t) => {
    const { req, login, alice } = await start(t, kind);
    t.is((await req('POST', '/login', { json: { email: 'alice@example.org', password: 'wrong one' } })).status, 401);
    const cookie = await login();
    const me = await req('GET', '/me', { cookie });
    t.is(me.status, 200);
    t.is(me.body!.user, alice.id);
    t.deepEqual((await req('POST', '/theme', { cookie, json: { theme: 'dark' } })).body, { theme: 'dark' });
    t.deepEqual((await req('GET', '/theme', { cookie })).body, { theme: 'dark' });
    const list = await req('GET', '/auth/sessions', { cookie });
    t.is((list.body!.sessions as unknown[]).length, 1);
    const refreshed = await req('POST', '/auth/refresh', { cookie, json: {} });
    t.is(refreshed.status, 200);
    const next = refreshed.cookie()!;
    t.not(next, cookie);
    t.is((await req('GET', '/me', { cookie: next })).status, 200);
    t.is((await req('POST', '/auth/logout', { cookie: next, json: {} })).status, 204);
    t.is((await req('GET', '/me', { cookie: next })).status, 401);
    t.is((await req('GET', '/me')).body!.error, 'login_required');
  });

  test(`${kind}: signing out everywhere by user id ends every session of that user, and only those`, async (t) => {
    const { req, login, alice } = await start(t, kind);
    const a = await login();
    const b = await login();
    t.not(a, b);
    const r = await req('POST', `/password-reset/${alice.id}`, { json: {} });
    t.deepEqual(r.body, { ended: 2 });
    t.is((await req('GET', '/me', { cookie: a })).status, 401);
    t.is((await req('GET', '/me', { cookie: b })).status, 401);
    t.deepEqual((await req('POST', '/password-reset/nobody', { json: {} })).body, { ended: 0 });
    t.is((await req('GET', '/me', { cookie: await login() })).status, 200, 'a new sign-in works');
  });
}
