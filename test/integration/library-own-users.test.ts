/**
 * examples/own-users: an app with its own users table mounts sliding-sessions in a few
 * lines (slidingSessions(app, { redis })) and signs its users in by id. Run against the
 * embedded store and a private redis-server, over real HTTP.
 */
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import test, { type ExecutionContext } from 'ava';
import { Accounts, createExampleApp } from '../../examples/own-users/app.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { Device, challengeOf } from '../helpers/dbsc-device.js';
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

async function start(t: ExecutionContext, kind: 'memory' | 'redis', env: Record<string, string> = {}) {
  const accounts = new Accounts();
  const alice = accounts.add('alice@example.org', PASSWORD);
  const { app, sessions } = createExampleApp(accounts, {
    redis: kind === 'redis' ? redis.url : undefined,
    // Each test its own key prefix: the example's user ids repeat from one app to the next.
    env: { SESSION_IDLE_TIMEOUT: '15m', LOG_LEVEL: 'silent', SESSION_KEY_PREFIX: `own${++n}:`, ...env },
  });
  await sessions.ready(); // as the README does: the first request must not race the Redis connection
  const server = createServer(app.callback()).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  t.teardown(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await sessions.close();
  });
  const port = (server.address() as AddressInfo).port;
  const secure = env.COOKIE_SECURE === 'on';
  const req = client(`http://127.0.0.1:${port}`, secure ? '__Host-sid' : 'sid');
  // Behind TLS (COOKIE_SECURE) the browser's origin is https.
  const headers = secure ? { origin: `https://127.0.0.1:${port}` } : undefined;
  const signIn = () => req('POST', '/login', { json: { email: 'alice@example.org', password: PASSWORD }, ...(headers ? { headers } : {}) });
  const login = async () => {
    const r = await signIn();
    t.is(r.status, 200, r.text);
    return r.cookie()!;
  };
  return { req, login, signIn, alice };
}

for (const kind of ['memory', 'redis'] as const) {
  test(`${kind}: through the library mount a browser binds its session to a device, and past its proof require() refuses it`, async (t) => {
    const { req, signIn } = await start(t, kind, { COOKIE_SECURE: 'on', SESSION_BOUND_COOKIE_LIFETIME: '10s' });
    const signedIn = await signIn();
    t.is(signedIn.status, 200, signedIn.text);
    const cookie = signedIn.cookie()!;
    const device = new Device();
    const offer = challengeOf(signedIn.headers.get('secure-session-registration'));
    t.truthy(offer, 'the app\'s own sign-in offers binding');
    const registered = await req('POST', '/auth/dbsc/register', { cookie, headers: { 'secure-session-response': device.registration(offer!) } });
    t.is(registered.status, 200, registered.text);
    const boundAt = Date.now();
    t.is((await req('GET', '/me', { cookie })).status, 200);
    await sleep(Math.max(0, boundAt + 10_300 - Date.now()));
    t.is((await req('GET', '/me', { cookie })).body?.error, 'device_proof_required');
    const asked = await req('POST', '/auth/dbsc/refresh', { cookie });
    t.is(asked.status, 403);
    const proved = await req('POST', '/auth/dbsc/refresh', {
      cookie, headers: { 'secure-session-response': device.refresh(challengeOf(asked.headers.get('secure-session-challenge'))!) },
    });
    t.is(proved.status, 200, proved.text);
    t.is((await req('GET', '/me', { cookie: proved.cookie()! })).status, 200);
  });

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
