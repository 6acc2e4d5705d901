/**
 * The third clock (recent authentication) over the JSON API, on both stores: ending
 * *another* session needs a password proved within SESSION_REAUTH_WINDOW; outside it
 * the answer is 403 reauthentication_required and nothing changes;
 * POST /auth/reauthenticate renews it with a rotated cookie. Time moves on a ManualClock.
 */
import test, { type ExecutionContext } from 'ava';
import { ManualClock } from '../../src/clock.js';
import { client } from '../helpers/http.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { startServer } from '../helpers/server.js';

const PASSWORD = 'correct horse battery staple';
const MIN = 60_000;

let redis: RedisProcess;
test.before(async () => {
  redis = await startRedis();
});
test.after.always(async () => {
  await redis?.stop();
});

async function setup(t: ExecutionContext, kind: 'memory' | 'redis', env: Record<string, string> = {}) {
  const clock = new ManualClock(Date.now());
  const srv = await startServer({
    redis: kind === 'redis' ? redis : undefined,
    clock,
    env: { SESSION_IDLE_TIMEOUT: '1h', SESSION_ABSOLUTE_LIFETIME: '1d', SESSION_ROTATION_GRACE: '10s', ...env },
  });
  t.teardown(() => srv.close());
  await srv.addUser('alice', PASSWORD);
  const req = client(srv.url);
  const login = async () => {
    const r = await req('POST', '/auth/login', { json: { username: 'alice', password: PASSWORD } });
    t.is(r.status, 200);
    return r.cookie()!;
  };
  const handleOf = async (cookie: string) => ((await req('GET', '/api/me', { cookie })).body!.session as { handle: string }).handle;
  const alive = async (cookie: string) => (await req('GET', '/api/me', { cookie })).status === 200;
  return { srv, clock, req, login, handleOf, alive };
}

for (const kind of ['memory', 'redis'] as const) {
  const it = (title: string, fn: (t: ExecutionContext) => Promise<void>) => test(`${kind}: ${title}`, fn);

  it('authenticatedAt is shown by /api/me and the sessions list', async (t) => {
    const { req, login, clock } = await setup(t, kind);
    const at = new Date(clock.now()).toISOString();
    const a = await login();
    clock.advance(5 * MIN);
    const me = await req('GET', '/api/me', { cookie: a });
    t.is((me.body!.session as { authenticatedAt: string }).authenticatedAt, at);
    const list = await req('GET', '/auth/sessions', { cookie: a });
    t.is((list.body!.sessions as { authenticatedAt: string }[])[0]!.authenticatedAt, at);
  });

  it('inside the window another session can be signed out', async (t) => {
    const { req, login, clock, handleOf, alive } = await setup(t, kind);
    const other = await login();
    const me = await login();
    clock.advance(9 * MIN);
    t.is((await req('DELETE', `/auth/sessions/${await handleOf(other)}`, { cookie: me })).status, 204);
    t.false(await alive(other));
  });

  it('outside the window ending another session is 403 reauthentication_required and changes nothing', async (t) => {
    const { req, login, clock, handleOf, alive } = await setup(t, kind);
    const other = await login();
    const me = await login();
    const otherHandle = await handleOf(other);
    clock.advance(11 * MIN);
    const r = await req('DELETE', `/auth/sessions/${otherHandle}`, { cookie: me });
    t.is(r.status, 403);
    t.is(r.body!.error, 'reauthentication_required');
    t.true(await alive(other), 'the other session lives on');
    t.true(await alive(me));
    // Another user's or an unknown handle is still a plain 404, whatever the clock.
    t.is((await req('DELETE', '/auth/sessions/AAAAAAAAAAAA-0123456789', { cookie: me })).status, 404);
  });

  it('ending one\'s own session and logout-all stay free outside the window', async (t) => {
    const { req, login, clock, handleOf, alive } = await setup(t, kind);
    const a = await login();
    const b = await login();
    const c = await login();
    clock.advance(30 * MIN);
    t.is((await req('DELETE', `/auth/sessions/${await handleOf(a)}`, { cookie: a })).status, 204);
    t.false(await alive(a));
    t.is((await req('POST', '/auth/logout-all', { cookie: b, json: {} })).status, 204);
    t.false(await alive(b));
    t.false(await alive(c));
  });

  it('POST /auth/reauthenticate rotates the cookie (same handle and deadline), renews the clock, and the action then works', async (t) => {
    const { req, login, clock, handleOf, alive } = await setup(t, kind);
    const other = await login();
    const me = await login();
    const before = (await req('GET', '/api/me', { cookie: me })).body!.session as Record<string, string>;
    clock.advance(11 * MIN);
    const r = await req('POST', '/auth/reauthenticate', { cookie: me, json: { password: PASSWORD } });
    t.is(r.status, 200);
    const me2 = r.cookie()!;
    t.truthy(me2);
    t.not(me2, me);
    const s = r.body!.session as Record<string, string>;
    t.is(s.handle, before.handle);
    t.is(s.absoluteExpiresAt, before.absoluteExpiresAt);
    t.is(s.authenticatedAt, new Date(clock.now()).toISOString());
    t.is((await req('DELETE', `/auth/sessions/${await handleOf(other)}`, { cookie: me2 })).status, 204);
    t.false(await alive(other));
    t.true(await alive(me2));
  });

  it('a wrong password is 401 invalid_credentials and counted by the login throttle; no session is 401', async (t) => {
    const { req, login, clock } = await setup(t, kind, { LOGIN_MAX_FAILURES_PER_USER_IP: '3' });
    const me = await login();
    clock.advance(11 * MIN);
    for (let i = 0; i < 3; i++) {
      const r = await req('POST', '/auth/reauthenticate', { cookie: me, json: { password: `wrong guess ${i}` } });
      t.is(r.status, 401);
      t.is(r.body!.error, 'invalid_credentials');
    }
    const blocked = await req('POST', '/auth/reauthenticate', { cookie: me, json: { password: PASSWORD } });
    t.is(blocked.status, 429, 'the throttle counted the failures');
    t.truthy(blocked.headers.get('retry-after'));
    const none = await req('POST', '/auth/reauthenticate', { json: { password: PASSWORD } });
    t.is(none.status, 401);
    t.is(none.body!.error, 'login_required');
  });

  it('the pre-reauthentication ID replayed after the grace ends the chain, as for any rotation', async (t) => {
    const { req, login, clock, alive } = await setup(t, kind);
    const me = await login();
    clock.advance(11 * MIN);
    const me2 = (await req('POST', '/auth/reauthenticate', { cookie: me, json: { password: PASSWORD } })).cookie()!;
    t.true(await alive(me), 'inside the grace the old ID still serves');
    clock.advance(11_000);
    const replay = await req('GET', '/api/me', { cookie: me });
    t.is(replay.status, 401);
    t.false(await alive(me2), 'the replay revoked the re-authenticated session too');
  });

  it('SESSION_REAUTH_WINDOW=0 turns the third clock off', async (t) => {
    const { req, login, clock, handleOf } = await setup(t, kind, { SESSION_REAUTH_WINDOW: '0' });
    const other = await login();
    const me = await login();
    clock.advance(50 * MIN);
    t.is((await req('DELETE', `/auth/sessions/${await handleOf(other)}`, { cookie: me })).status, 204);
  });
}
