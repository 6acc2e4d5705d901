/**
 * The JSON API contract (the API table in README.md, its cross-site and body rules in
 * docs/security.md, "Cross-site requests (CSRF)" and "Request limits"), registered once
 * per store: the embedded MemoryStore and RedisStore on a private redis-server
 * (api-memory.test.ts, api-redis.test.ts). Every test runs a real server on a free port with its own
 * ManualClock, so idle and absolute lapses need no sleeping.
 */
import test, { type ExecutionContext } from 'ava';
import type { AuditEvent } from '../../src/audit/types.js';
import { ManualClock } from '../../src/clock.js';
import type { Env } from '../../src/config.js';
import type { SessionStore } from '../../src/sessions/types.js';
import { type Reply, type Request, client } from '../helpers/http.js';
import { PASSWORD } from '../helpers/login.js';
import type { RedisProcess } from '../helpers/redis-server.js';
import { type RedisTarget, type TestServer, startServer } from '../helpers/server.js';

const MIN = 60_000;

export interface Setup {
  srv: TestServer;
  clock: ManualClock;
  req: Request;
  audit: AuditEvent[];
  /** Logs alice in (or `username`) and returns the session cookie value. */
  login(body?: Record<string, unknown>, headers?: Record<string, string>): Promise<string>;
}

const HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export function assertSecurityHeaders(t: ExecutionContext, r: Reply, what: string): void {
  for (const [name, value] of Object.entries(HEADERS)) t.is(r.headers.get(name), value, `${what}: ${name}`);
  t.regex(r.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, what);
}

export function registerApiSuite(kind: 'memory' | 'redis' | 'cluster', redis: () => RedisProcess | RedisTarget | undefined): void {
  const t0 = test; // keep the titles readable: `${kind}: …`
  const it = (title: string, fn: (t: ExecutionContext) => Promise<void>) => t0(`${kind}: ${title}`, fn);

  async function setup(t: ExecutionContext, env: Env = {}, wrapStore?: (s: SessionStore) => SessionStore): Promise<Setup> {
    const clock = new ManualClock(Date.now());
    const audit: AuditEvent[] = [];
    const srv = await startServer({
      redis: kind === 'memory' ? undefined : redis(),
      clock,
      env: { SESSION_IDLE_TIMEOUT: '15m', SESSION_ABSOLUTE_LIFETIME: '1d', SESSION_ROTATION_GRACE: '10s', ...env },
      audit: { append: async (e) => void audit.push(e) },
      wrapStore,
    });
    t.teardown(() => srv.close());
    await srv.addUser('alice', PASSWORD);
    const req = client(srv.url);
    const login = async (body: Record<string, unknown> = {}, headers: Record<string, string> = {}) => {
      const r = await req('POST', '/auth/login', { json: { username: 'alice', password: PASSWORD, ...body }, headers });
      t.is(r.status, 200, `login: ${r.text}`);
      return r.cookie()!;
    };
    return { srv, clock, req, audit, login };
  }

  // ---- login ------------------------------------------------------------------------

  it('login answers the user and both deadlines, with a strict session cookie', async (t) => {
    const { req, clock } = await setup(t);
    const r = await req('POST', '/auth/login', { json: { username: 'Alice', password: PASSWORD } });
    t.is(r.status, 200);
    const now = clock.now();
    t.deepEqual(r.body, {
      user: { id: 'alice', username: 'alice' },
      session: {
        handle: (r.body!.session as { handle: string }).handle,
        idleExpiresAt: new Date(now + 15 * MIN).toISOString(),
        absoluteExpiresAt: new Date(now + 24 * 60 * MIN).toISOString(),
      },
    });
    t.regex((r.body!.session as { handle: string }).handle, /^[A-Za-z0-9]{12}-[A-Za-z0-9_-]{10}$/);
    // The session cookie and the login throttle's device cookie (test/integration/api-login-throttle.test.ts).
    t.deepEqual(r.setCookies.map((c) => c.split('=')[0]).sort(), ['did', 'sid']);
    const cookie = r.setCookies.find((c) => c.startsWith('sid='));
    t.regex(r.cookie()!, /^[A-Za-z0-9]{12}\.[A-Za-z0-9_-]{43}$/);
    for (const attr of ['Path=/', 'HttpOnly', 'SameSite=Lax']) t.true(cookie!.includes(`; ${attr}`), attr);
    t.false(/;\s*Domain=/i.test(cookie!));
    t.false(/;\s*Secure/i.test(cookie!));
    t.true(cookie!.includes(`; Expires=${new Date(now + 24 * 60 * MIN).toUTCString()}`));
    t.false(cookie!.includes('Max-Age'));
    assertSecurityHeaders(t, r, 'login');
  });

  it('remember:false gives a browser-session cookie and a session that ends at the idle lapse', async (t) => {
    const { req, clock } = await setup(t);
    const r = await req('POST', '/auth/login', { json: { username: 'alice', password: PASSWORD, remember: false } });
    t.is(r.status, 200);
    t.false(/Expires|Max-Age/i.test(r.setCookies[0]!));
    const me = await req('GET', '/api/me', { cookie: r.cookie() });
    t.false((me.body!.session as { refreshable: boolean }).refreshable);
    clock.advance(15 * MIN + 1);
    const after = await req('GET', '/api/me', { cookie: r.cookie() });
    t.is(after.status, 401);
    t.is(after.body!.error, 'login_required');
    t.is((await req('POST', '/auth/refresh', { cookie: r.cookie() })).status, 403);
  });

  it('an unknown user and a wrong password get the same 401 body and headers', async (t) => {
    const { req } = await setup(t);
    const wrong = await req('POST', '/auth/login', { json: { username: 'alice', password: 'wrong password here' } });
    const unknown = await req('POST', '/auth/login', { json: { username: 'nobody', password: 'wrong password here' } });
    const impossible = await req('POST', '/auth/login', { json: { username: '<not a name>', password: 'x' } });
    for (const r of [wrong, unknown, impossible]) {
      t.is(r.status, 401);
      t.is(r.text, wrong.text);
      t.deepEqual(r.setCookies, []);
    }
    t.deepEqual(wrong.body, { error: 'invalid_credentials', message: 'Unknown user name or wrong password.' });
    const names = (r: Reply) => [...r.headers.keys()].filter((h) => h !== 'date').sort();
    t.deepEqual(names(unknown), names(wrong));
  });

  it('malformed login requests are 400, 413 or 415 and never touch a password', async (t) => {
    const { req, srv } = await setup(t);
    const cases: [string, Parameters<Request>[2], number, string][] = [
      ['malformed JSON', { body: '{"username": "alice",', headers: { 'content-type': 'application/json' } }, 400, 'bad_request'],
      ['a JSON array', { body: '["alice"]', headers: { 'content-type': 'application/json' } }, 400, 'bad_request'],
      ['a JSON string', { body: '"alice"', headers: { 'content-type': 'application/json' } }, 400, 'bad_request'],
      ['no fields', { json: {} }, 400, 'bad_request'],
      ['no password', { json: { username: 'alice' } }, 400, 'bad_request'],
      ['a numeric password', { json: { username: 'alice', password: 12345 } }, 400, 'bad_request'],
      ['a non-string user name', { json: { username: ['alice'], password: PASSWORD } }, 400, 'bad_request'],
      ['remember as a string', { json: { username: 'alice', password: PASSWORD, remember: 'yes' } }, 400, 'bad_request'],
      ['a 2 KB password', { json: { username: 'alice', password: 'p'.repeat(2048) } }, 400, 'bad_request'],
      ['a 1 MB password', { json: { username: 'alice', password: 'p'.repeat(1024 * 1024) } }, 413, 'payload_too_large'],
      ['a 2 MB body', { body: JSON.stringify({ username: 'alice', pad: 'x'.repeat(2 * 1024 * 1024) }), headers: { 'content-type': 'application/json' } }, 413, 'payload_too_large'],
      ['text/plain', { body: JSON.stringify({ username: 'alice', password: PASSWORD }), headers: { 'content-type': 'text/plain' } }, 415, 'unsupported_media_type'],
      ['a form body', { body: 'username=alice&password=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, 'unsupported_media_type'],
      ['JSON in latin1', { body: '{}', headers: { 'content-type': 'application/json; charset=iso-8859-1' } }, 415, 'unsupported_media_type'],
    ];
    for (const [what, opts, status, code] of cases) {
      const r = await req('POST', '/auth/login', opts);
      t.is(r.status, status, what);
      t.is(r.body?.error, code, what);
      t.deepEqual(r.setCookies, [], what);
      assertSecurityHeaders(t, r, what);
    }
    // Nothing above reached the throttle: the right password still works at once.
    t.is((await req('POST', '/auth/login', { json: { username: 'alice', password: PASSWORD } })).status, 200);
    t.is(srv.logs.events('login.failed').length, 0);
  });

  it('a 64-character Unicode password with spaces is accepted whole', async (t) => {
    const { req, srv } = await setup(t);
    const pw = 'ünïcödé pass phrase with spaces and 🐘 elephants, long enough for sixty-four!';
    t.true([...pw].length >= 64);
    await srv.addUser('uma', pw);
    t.is((await req('POST', '/auth/login', { json: { username: 'uma', password: pw } })).status, 200);
    t.is((await req('POST', '/auth/login', { json: { username: 'uma', password: pw.slice(0, -1) } })).status, 401);
  });

  it('a login racing a logout-all (epoch read before the password check) creates nothing', async (t) => {
    let race = false;
    const racing = (inner: SessionStore): SessionStore =>
      new Proxy(inner, {
        get(target, prop, receiver) {
          const v = Reflect.get(target, prop, receiver);
          if (prop !== 'epoch') return typeof v === 'function' ? v.bind(target) : v;
          return async (tag: string) => {
            const epoch = await target.epoch(tag);
            // A logout-all lands while the password is being verified.
            if (race) await target.revokeAll(tag);
            return epoch;
          };
        },
      });
    const { req, login, srv } = await setup(t, {}, racing);
    const before = await login();
    race = true;
    const r = await req('POST', '/auth/login', { json: { username: 'alice', password: PASSWORD } });
    t.is(r.status, 401);
    t.deepEqual(r.setCookies, []);
    race = false;
    t.is((await req('GET', '/api/me', { cookie: before })).status, 401);
    const alice = await srv.users.find('alice');
    t.deepEqual(await srv.store.list(alice!.tag), [], 'no session survived');
    t.is((await req('POST', '/auth/login', { json: { username: 'alice', password: PASSWORD } })).status, 200);
  });

  // ---- the whole cycle ----------------------------------------------------------------

  it('the whole cycle: login, /api/me, idle lapse, refresh_required, refresh, new cookie, logout, 401', async (t) => {
    const { req, clock, login, srv } = await setup(t);
    const first = await login();
    const me = await req('GET', '/api/me', { cookie: first });
    t.is(me.status, 200);
    t.deepEqual(me.body!.user, { id: 'alice', username: 'alice' });
    t.deepEqual(me.setCookies, [], 'a plain read sends no cookie');
    assertSecurityHeaders(t, me, '/api/me');
    t.is(me.headers.get('content-type'), 'application/json; charset=utf-8');
    t.is(me.headers.get('content-length'), String(Buffer.byteLength(JSON.stringify(me.body))));

    clock.advance(10 * MIN);
    t.is((await req('GET', '/api/me', { cookie: first })).status, 200, 'the idle window slides');
    clock.advance(15 * MIN + 1);
    const stale = await req('GET', '/api/me', { cookie: first });
    t.is(stale.status, 401);
    t.is(stale.body!.error, 'refresh_required');

    const refreshed = await req('POST', '/auth/refresh', { cookie: first });
    t.is(refreshed.status, 200);
    const second = refreshed.cookie()!;
    t.truthy(second);
    t.not(second, first);
    const s = refreshed.body!.session as Record<string, string>;
    t.is(s.idleExpiresAt, new Date(clock.now() + 15 * MIN).toISOString());
    t.is(s.handle, (me.body!.session as { handle: string }).handle, 'the handle survives rotation');
    t.is(s.absoluteExpiresAt, (me.body!.session as { absoluteExpiresAt: string }).absoluteExpiresAt, 'refresh never extends the absolute deadline');

    t.is((await req('GET', '/api/me', { cookie: second })).status, 200);
    const out = await req('POST', '/auth/logout', { cookie: second });
    t.is(out.status, 204);
    t.is(out.cookie(), '');
    t.true(out.setCookies[0]!.includes('Max-Age=0'));
    t.is(out.headers.get('clear-site-data'), '"cookies"');
    const gone = await req('GET', '/api/me', { cookie: second });
    t.is(gone.status, 401);
    t.is(gone.body!.error, 'login_required');
    t.is(srv.logs.events('session.refreshed').length, 1);
  });

  it('past the absolute lifetime refresh is 403 login_required and clears the cookie', async (t) => {
    const { req, clock, login } = await setup(t);
    const cookie = await login();
    for (let i = 0; i < 6; i++) {
      clock.advance(4 * 60 * MIN);
      const r = await req('POST', '/auth/refresh', { cookie: i === 0 ? cookie : undefined });
      if (i === 0) t.is(r.status, 200);
    }
    // Activity and refreshes never extend it; the last cookie dies at the deadline too.
    const fresh = await login();
    clock.advance(24 * 60 * MIN + 1);
    const r = await req('POST', '/auth/refresh', { cookie: fresh });
    t.is(r.status, 403);
    t.is(r.body!.error, 'login_required');
    t.is(r.cookie(), '');
    t.is((await req('GET', '/api/me', { cookie: fresh })).status, 401);
  });

  it('refresh without a cookie or with a dead one is 403 and clears the cookie', async (t) => {
    const { req } = await setup(t);
    for (const cookie of [undefined, 'garbage', `AAAAAAAAAAAA.${'a'.repeat(43)}`]) {
      const r = await req('POST', '/auth/refresh', { cookie });
      t.is(r.status, 403);
      t.is(r.body!.error, 'login_required');
      t.is(r.cookie(), '');
    }
  });

  it('an active session may be refreshed too; the old ID serves inside the grace period without a new cookie', async (t) => {
    const { req, clock, login } = await setup(t);
    const a = await login();
    const r = await req('POST', '/auth/refresh', { cookie: a });
    t.is(r.status, 200);
    const b = r.cookie()!;
    clock.advance(5000);
    const viaOld = await req('GET', '/api/me', { cookie: a });
    t.is(viaOld.status, 200);
    t.deepEqual(viaOld.setCookies, []);
    // A racing refresh with the old ID inside the grace gets the same successor.
    const again = await req('POST', '/auth/refresh', { cookie: a });
    t.is(again.status, 200);
    t.is(again.cookie(), b);
    t.is((await req('GET', '/api/me', { cookie: b })).status, 200);
  });

  it('a rotated-away ID replayed after the grace period kills the session and logs reuse', async (t) => {
    const { req, clock, login, srv, audit } = await setup(t);
    const a = await login();
    const b = (await req('POST', '/auth/refresh', { cookie: a })).cookie()!;
    clock.advance(11_000);
    const replay = await req('GET', '/api/me', { cookie: a });
    t.is(replay.status, 401);
    t.is(replay.body!.error, 'login_required');
    const successor = await req('GET', '/api/me', { cookie: b });
    t.is(successor.status, 401, 'both holders must log in again');
    const events = srv.logs.events('session.reuse_detected');
    t.is(events.length, 1);
    t.regex(String(events[0]!.handle), /^[A-Za-z0-9]{12}-/);
    t.true(audit.some((e) => e.type === 'session.reuse_detected'));
    t.is((await req('POST', '/auth/refresh', { cookie: a })).status, 403);
  });

  for (const times of [3, 8]) {
    it(`a thief refreshing a copied cookie ${times} times is caught when the owner's cookie comes back: both must sign in again`, async (t) => {
      const { req, clock, login, srv, audit } = await setup(t);
      const owner = await login();
      let thief = owner;
      for (let i = 0; i < times; i++) {
        const r = await req('POST', '/auth/refresh', { cookie: thief });
        t.is(r.status, 200, r.text);
        thief = r.cookie()!;
      }
      clock.advance(11_000);
      const back = await req('GET', '/api/me', { cookie: owner });
      t.is(back.status, 401);
      t.is(back.body!.error, 'login_required');
      t.is((await req('GET', '/api/me', { cookie: thief })).status, 401, 'the thief\'s session is dead');
      const [event] = srv.logs.events('session.reuse_detected');
      t.regex(String(event?.handle), /^[A-Za-z0-9]{12}-/);
      const audited = audit.find((e) => e.type === 'session.reuse_detected');
      t.like(audited, { handle: event?.handle });
      t.truthy(audited?.userId, 'the audit event names the user');
    });
  }

  it('the owner refreshes 5 times, then a copy of the first cookie is replayed: the owner must sign in again', async (t) => {
    const { req, clock, login, srv } = await setup(t);
    const first = await login();
    let owner = first;
    for (let i = 0; i < 5; i++) {
      clock.advance(60_000);
      const r = await req('POST', '/auth/refresh', { cookie: owner });
      t.is(r.status, 200, r.text);
      owner = r.cookie()!;
    }
    const replay = await req('POST', '/auth/refresh', { cookie: first });
    t.is(replay.status, 403);
    t.is(replay.body!.error, 'login_required');
    t.is((await req('GET', '/api/me', { cookie: owner })).status, 401);
    t.is(srv.logs.events('session.reuse_detected').length, 1);
  });

  it('10 parallel refreshes of one cookie, each answer used after the grace: no false alarm', async (t) => {
    const { req, clock, login, srv } = await setup(t);
    const a = await login();
    const answers = await Promise.all(Array.from({ length: 10 }, () => req('POST', '/auth/refresh', { cookie: a })));
    clock.advance(11_000);
    for (const r of answers) {
      t.is(r.status, 200, r.text);
      t.is((await req('GET', '/api/me', { cookie: r.cookie()! })).status, 200);
    }
    t.is(srv.logs.events('session.reuse_detected').length, 0);
  });

  // ---- logout, logout-all, sessions -------------------------------------------------

  it('logout is idempotent, revokes a stale session too, and answers 204 without a session', async (t) => {
    const { req, clock, login } = await setup(t);
    t.is((await req('POST', '/auth/logout')).status, 204);
    const cookie = await login();
    clock.advance(15 * MIN + 1);
    t.is((await req('GET', '/api/me', { cookie })).body!.error, 'refresh_required');
    t.is((await req('POST', '/auth/logout', { cookie })).status, 204);
    t.is((await req('POST', '/auth/logout', { cookie })).status, 204);
    t.is((await req('POST', '/auth/refresh', { cookie })).status, 403, 'a logged-out stale session cannot be refreshed');
  });

  it('logout-all revokes every session of the user, and needs a session', async (t) => {
    const { req, login, srv } = await setup(t);
    await srv.addUser('bob', PASSWORD);
    const [a, b, c] = [await login(), await login(), await login()];
    const bob = await login({ username: 'bob' });
    const none = await req('POST', '/auth/logout-all');
    t.is(none.status, 401);
    t.is(none.body!.error, 'login_required');
    const r = await req('POST', '/auth/logout-all', { cookie: b });
    t.is(r.status, 204);
    t.is(r.cookie(), '');
    for (const cookie of [a, b, c]) t.is((await req('GET', '/api/me', { cookie })).status, 401);
    t.is((await req('GET', '/api/me', { cookie: bob })).status, 200, "other users' sessions live on");
  });

  it('the sessions list shows the caller\'s sessions with metadata, never an ID', async (t) => {
    const { req, login, clock } = await setup(t);
    const a = await login({}, { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0' });
    clock.advance(1000);
    const b = await login({}, { 'user-agent': 'curl/8.5.0' });
    const r = await req('GET', '/auth/sessions', { cookie: a });
    t.is(r.status, 200);
    const list = r.body!.sessions as Record<string, unknown>[];
    t.is(list.length, 2);
    t.deepEqual(list.map((s) => s.current), [true, false]);
    t.is(list[0]!.userAgent, 'Firefox 128 on Linux');
    t.is(list[1]!.userAgent, 'curl/8.5.0');
    for (const s of list) {
      t.deepEqual(Object.keys(s).sort(), ['absoluteExpiresAt', 'authenticatedAt', 'bound', 'createdAt', 'current', 'handle', 'idleExpiresAt', 'ip', 'lastActiveAt', 'refreshable', 'userAgent']);
      t.is(s.ip, '127.0.0.1');
    }
    t.false(r.text.includes(a.split('.')[1]!) || r.text.includes(b.split('.')[1]!));
    t.is((await req('GET', '/auth/sessions')).status, 401);
  });

  it('DELETE /auth/sessions/:handle revokes one of the caller\'s sessions; anything else is 404', async (t) => {
    const { req, login, srv } = await setup(t);
    await srv.addUser('bob', PASSWORD);
    const a = await login();
    const b = await login();
    const bob = await login({ username: 'bob' });
    const handles = ((await req('GET', '/auth/sessions', { cookie: a })).body!.sessions as { handle: string; current: boolean }[]);
    const other = handles.find((s) => !s.current)!.handle;
    const bobHandle = (((await req('GET', '/auth/sessions', { cookie: bob })).body!.sessions as { handle: string }[])[0]!).handle;

    for (const h of [bobHandle, 'nope', `${other.slice(0, 13)}AAAAAAAAAA`, '%2e%2e']) {
      const r = await req('DELETE', `/auth/sessions/${h}`, { cookie: a });
      t.is(r.status, 404, h);
      t.is(r.body!.error, 'not_found');
    }
    t.is((await req('GET', '/api/me', { cookie: bob })).status, 200);
    const del = await req('DELETE', `/auth/sessions/${other}`, { cookie: a });
    t.is(del.status, 204);
    t.deepEqual(del.setCookies, []);
    t.is((await req('GET', '/api/me', { cookie: b })).status, 401);
    t.is((await req('GET', '/api/me', { cookie: a })).status, 200);
    t.is((await req('DELETE', `/auth/sessions/${other}`, { cookie: a })).status, 404, 'already gone');
    t.is((await req('DELETE', `/auth/sessions/${other}`)).status, 401);
  });

  // ---- password change ----------------------------------------------------------------

  it('a password change rotates the current session, revokes the others, and swaps the password', async (t) => {
    const { req, login } = await setup(t);
    const a = await login();
    const b = await login();
    const NEW = 'an entirely new pass phrase';
    const wrong = await req('POST', '/auth/password', { cookie: a, json: { currentPassword: 'not it at all', newPassword: NEW } });
    t.is(wrong.status, 401);
    t.is(wrong.body!.error, 'invalid_credentials');
    const weak = await req('POST', '/auth/password', { cookie: a, json: { currentPassword: PASSWORD, newPassword: 'short' } });
    t.is(weak.status, 400);
    t.is(weak.body!.error, 'weak_password');
    const huge = await req('POST', '/auth/password', { cookie: a, json: { currentPassword: PASSWORD, newPassword: 'x'.repeat(1025) } });
    t.is(huge.body!.error, 'bad_request');
    t.is((await req('POST', '/auth/password', { json: { currentPassword: PASSWORD, newPassword: NEW } })).status, 401);

    const ok = await req('POST', '/auth/password', { cookie: a, json: { currentPassword: PASSWORD, newPassword: NEW } });
    t.is(ok.status, 204);
    const a2 = ok.cookie()!;
    t.truthy(a2);
    t.not(a2, a);
    t.is((await req('GET', '/api/me', { cookie: a })).status, 401, 'the old ID is dead at once, no grace');
    t.is((await req('GET', '/api/me', { cookie: b })).status, 401);
    t.is((await req('GET', '/api/me', { cookie: a2 })).status, 200);
    t.is((await req('POST', '/auth/login', { json: { username: 'alice', password: PASSWORD } })).status, 401);
    t.is((await req('POST', '/auth/login', { json: { username: 'alice', password: NEW } })).status, 200);
  });

  it('a password change sent with a cookie a refresh has just rotated revokes the others and every old ID', async (t) => {
    const { req, login, clock } = await setup(t);
    const a = await login();
    const b = await login();
    clock.advance(16 * MIN);
    const refreshed = await req('POST', '/auth/refresh', { cookie: a, json: {} });
    t.is(refreshed.status, 200);
    const a1 = refreshed.cookie()!;
    // The form was sent with the cookie the browser held before the refresh landed.
    const NEW = 'an entirely new pass phrase';
    const ok = await req('POST', '/auth/password', { cookie: a, json: { currentPassword: PASSWORD, newPassword: NEW } });
    t.is(ok.status, 204);
    const a2 = ok.cookie()!;
    t.truthy(a2);
    t.not(a2, a1);
    t.is((await req('GET', '/api/me', { cookie: a2 })).status, 200);
    for (const [what, cookie] of [['the other session', b], ['the old ID', a], ['the refreshed ID', a1]] as const) {
      t.is((await req('GET', '/api/me', { cookie })).status, 401, what);
    }
    t.is((await req('POST', '/auth/login', { json: { username: 'alice', password: PASSWORD } })).status, 401);
  });

  // ---- cookies --------------------------------------------------------------------------

  it('garbage, oversized, duplicated or miscapitalised cookies are 401, never 5xx', async (t) => {
    const { req, login } = await setup(t);
    const valid = await login();
    const cookies = [
      'sid=*',
      'sid={x}',
      `sid=${'a'.repeat(5000)}`,
      'sid=%00',
      `sid=${valid}\u00ff`,
      `sid="${valid}"`,
      `sid=${valid}; sid=junk`,
      `sid=junk; sid=${valid}`,
      `sid=${valid}; sid=${valid}`,
      `SID=${valid}`,
      `Sid=${valid}`,
      `sid =${valid}x`,
      `sid=${valid.replace('.', '-')}`,
      '=;;;==;sid',
      `__Host-sid=${valid}`,
    ];
    for (const cookie of cookies) {
      for (const path of ['/api/me', '/auth/sessions']) {
        const r = await req('GET', path, { headers: { cookie } });
        t.is(r.status, 401, `${path} ${cookie.slice(0, 40)}`);
        t.is(r.body!.error, 'login_required');
      }
      const refresh = await req('POST', '/auth/refresh', { headers: { cookie } });
      t.is(refresh.status, 403, cookie.slice(0, 40));
    }
    t.is((await req('GET', '/api/me', { headers: { cookie: `other=1; sid=${valid}; x=y` } })).status, 200);
  });

  it('login issues a fresh ID and revokes the session cookie the client came with (fixation)', async (t) => {
    const { req, login, srv } = await setup(t);
    const before = await login();
    const r = await req('POST', '/auth/login', { cookie: before, json: { username: 'alice', password: PASSWORD } });
    t.is(r.status, 200);
    const after = r.cookie()!;
    t.not(after, before);
    t.is((await req('GET', '/api/me', { cookie: before })).status, 401);
    t.is((await req('GET', '/api/me', { cookie: after })).status, 200);
    t.true(srv.logs.events('session.revoked').some((e) => e.reason === 'login'));
    // A well-formed cookie the server never issued is not adopted either.
    const chosen = `${after.split('.')[0]}.${'Z'.repeat(43)}`;
    const r2 = await req('POST', '/auth/login', { cookie: chosen, json: { username: 'alice', password: PASSWORD } });
    t.not(r2.cookie(), chosen);
    t.is((await req('GET', '/api/me', { cookie: chosen })).status, 401);
  });

  // ---- CSRF ---------------------------------------------------------------------------

  it('cross-site unsafe requests are 403 csrf; same-origin and header-less ones pass', async (t) => {
    const { req, login, srv } = await setup(t);
    const cookie = await login();
    const host = new URL(srv.url).host;
    const refused: Record<string, string>[] = [
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { 'sec-fetch-site': 'cross-site', origin: `http://${host}` },
      { origin: 'https://evil.test' },
      { origin: `http://${host}.evil.test` },
      { origin: 'null' },
    ];
    for (const headers of refused) {
      for (const [method, path] of [['POST', '/auth/login'], ['POST', '/auth/refresh'], ['POST', '/auth/logout'], ['POST', '/auth/logout-all'], ['POST', '/auth/password'], ['DELETE', '/auth/sessions/x']] as const) {
        const r = await req(method, path, { cookie, headers, json: { username: 'alice', password: PASSWORD } });
        t.is(r.status, 403, `${method} ${path} ${JSON.stringify(headers)}`);
        t.is(r.body!.error, 'csrf');
        t.deepEqual(r.setCookies, []);
        t.is(r.headers.get('access-control-allow-origin'), null);
      }
    }
    t.is((await req('GET', '/api/me', { cookie })).status, 200, 'the session survived every refused request');
    const same = await req('POST', '/auth/refresh', { cookie, headers: { origin: `http://${host}`, 'sec-fetch-site': 'same-origin' } });
    t.is(same.status, 200);
    t.is((await req('POST', '/auth/logout', { cookie: same.cookie(), headers: { 'sec-fetch-site': 'none' } })).status, 204);
  });

  it('unsafe JSON routes need Content-Type: application/json (415)', async (t) => {
    const { req, login } = await setup(t);
    const cookie = await login();
    for (const [method, path] of [['POST', '/auth/refresh'], ['POST', '/auth/logout'], ['POST', '/auth/logout-all'], ['POST', '/auth/password'], ['DELETE', '/auth/sessions/x']] as const) {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
        const r = await req(method, path, { cookie, body: '', headers: { 'content-type': type } });
        t.is(r.status, 415, `${method} ${path} ${type}`);
        t.is(r.body!.error, 'unsupported_media_type');
      }
    }
    t.is((await req('GET', '/api/me', { cookie })).status, 200);
  });

  // ---- throttling -----------------------------------------------------------------------

  it('ten failures from one IP lock that user+IP with 429 and Retry-After, even for the right password', async (t) => {
    const { req, srv, audit } = await setup(t, { LOGIN_MAX_FAILURES_PER_USER_IP: '10', LOGIN_THROTTLE_WINDOW: '15m' });
    for (let i = 0; i < 10; i++) {
      t.is((await req('POST', '/auth/login', { json: { username: 'alice', password: `wrong ${i}` } })).status, 401);
    }
    const right = await req('POST', '/auth/login', { json: { username: 'alice', password: PASSWORD } });
    t.is(right.status, 429);
    t.is(right.body!.error, 'too_many_attempts');
    const retry = Number(right.headers.get('retry-after'));
    t.true(retry > 0 && retry <= 15 * 60, String(retry));
    t.deepEqual(right.setCookies, []);
    assertSecurityHeaders(t, right, '429');
    // An unknown name gets the same answer once it is over its limit (no oracle).
    for (let i = 0; i < 10; i++) await req('POST', '/auth/login', { json: { username: 'ghost', password: `wrong ${i}` } });
    const ghost = await req('POST', '/auth/login', { json: { username: 'ghost', password: PASSWORD } });
    t.is(ghost.status, 429);
    t.deepEqual(ghost.body, right.body);
    t.is(srv.logs.events('login.throttled').length, 2);
    t.is(audit.filter((e) => e.type === 'login.failed').length, 20);
  });

  it('a forged X-Forwarded-For does not reset the counters (TRUST_PROXY=0 uses the socket)', async (t) => {
    const { req } = await setup(t, { LOGIN_MAX_FAILURES_PER_USER_IP: '3' });
    for (let i = 0; i < 3; i++) {
      await req('POST', '/auth/login', { json: { username: 'alice', password: 'nope' }, headers: { 'x-forwarded-for': `10.0.0.${i}` } });
    }
    const r = await req('POST', '/auth/login', { json: { username: 'alice', password: PASSWORD }, headers: { 'x-forwarded-for': '10.9.9.9' } });
    t.is(r.status, 429);
  });

  it('behind one trusted proxy only the proxy-appended address counts; the client part of XFF is ignored', async (t) => {
    const { req, login } = await setup(t, { LOGIN_MAX_FAILURES_PER_USER_IP: '3', TRUST_PROXY: '1' });
    for (let i = 0; i < 3; i++) {
      await req('POST', '/auth/login', { json: { username: 'alice', password: 'nope' }, headers: { 'x-forwarded-for': `1.1.1.${i}, 203.0.113.7` } });
    }
    const forged = await req('POST', '/auth/login', { json: { username: 'alice', password: PASSWORD }, headers: { 'x-forwarded-for': '9.9.9.9, 203.0.113.7' } });
    t.is(forged.status, 429);
    // Another client behind the same proxy is not locked out, and its IP is recorded.
    const other = await login({}, { 'x-forwarded-for': '198.51.100.4' });
    const list = (await req('GET', '/auth/sessions', { cookie: other })).body!.sessions as { ip: string }[];
    t.is(list[0]!.ip, '198.51.100.4');
  });

  it('the per-IP counter throttles every user name from that IP; a success clears only the user+IP counter', async (t) => {
    const { req, srv } = await setup(t, { LOGIN_MAX_FAILURES_PER_USER_IP: '3', LOGIN_MAX_FAILURES_PER_IP: '5' });
    await srv.addUser('bob', PASSWORD);
    for (let i = 0; i < 2; i++) await req('POST', '/auth/login', { json: { username: 'alice', password: 'nope' } });
    t.is((await req('POST', '/auth/login', { json: { username: 'alice', password: PASSWORD } })).status, 200);
    for (let i = 0; i < 2; i++) await req('POST', '/auth/login', { json: { username: 'alice', password: 'nope' } });
    t.is((await req('POST', '/auth/login', { json: { username: 'alice', password: PASSWORD } })).status, 200, 'the success reset alice+IP');
    await req('POST', '/auth/login', { json: { username: 'bob', password: 'nope' } });
    const r = await req('POST', '/auth/login', { json: { username: 'bob', password: PASSWORD } });
    t.is(r.status, 429, 'five failures from this IP in all');
  });

  // ---- routing, ops, headers ----------------------------------------------------------

  it('unknown routes are 404, wrong methods 405 with Allow, and every error carries the security headers', async (t) => {
    const { req } = await setup(t);
    const nf = await req('GET', '/nope');
    t.is(nf.status, 404);
    t.deepEqual(nf.body, { error: 'not_found', message: 'Not found.' });
    assertSecurityHeaders(t, nf, '404');
    for (const [method, path] of [['GET', '/auth/login'], ['DELETE', '/api/me'], ['GET', '/auth/logout'], ['PUT', '/auth/refresh'], ['POST', '/healthz']] as const) {
      const r = await req(method, path);
      t.is(r.status, 405, `${method} ${path}`);
      t.is(r.body!.error, 'method_not_allowed');
      t.truthy(r.headers.get('allow'));
      assertSecurityHeaders(t, r, `405 ${path}`);
    }
    const options = await req('OPTIONS', '/auth/login');
    t.is(options.headers.get('allow'), 'POST');
    t.is(options.headers.get('access-control-allow-origin'), null);
  });

  it('/healthz, /readyz and /metrics answer; the metrics count the lifecycle', async (t) => {
    const { req, login } = await setup(t);
    const health = await req('GET', '/healthz');
    t.is(health.status, 200);
    assertSecurityHeaders(t, health, 'healthz');
    t.is((await req('GET', '/readyz')).status, 200);
    const cookie = await login();
    await req('POST', '/auth/login', { json: { username: 'alice', password: 'wrong!' } });
    const refreshed = (await req('POST', '/auth/refresh', { cookie })).cookie();
    await req('POST', '/auth/logout', { cookie: refreshed });
    const m = await req('GET', '/metrics');
    t.is(m.status, 200);
    t.regex(m.headers.get('content-type') ?? '', /^text\/plain/);
    for (const line of [
      'sessions_created_total 1',
      'sessions_refreshed_total 1',
      'sessions_revoked_total 1',
      'logins_total{result="ok"} 1',
      'logins_total{result="failed"} 1',
      'session_replays_total 0',
    ]) {
      t.true(m.text.includes(line), line);
    }
    t.regex(m.text, /store_latency_seconds_count\{op="validate"\} \d+/);
    t.regex(m.text, /store_errors_total/);
  });

  it('an authenticated read costs exactly one store call', async (t) => {
    const calls: string[] = [];
    const counting = (inner: SessionStore): SessionStore =>
      new Proxy(inner, {
        get(target, prop, receiver) {
          const v = Reflect.get(target, prop, receiver);
          if (typeof v !== 'function') return v;
          return (...args: unknown[]) => {
            calls.push(String(prop));
            return (v as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
    const { req, login } = await setup(t, {}, counting);
    const cookie = await login();
    calls.length = 0;
    for (let i = 0; i < 5; i++) t.is((await req('GET', '/api/me', { cookie })).status, 200);
    t.deepEqual(calls, ['validate', 'validate', 'validate', 'validate', 'validate']);
    calls.length = 0;
    await req('GET', '/api/me', { cookie: 'sid=*' });
    await req('GET', '/api/me');
    t.deepEqual(calls, [], 'a malformed or absent cookie costs no store call');
  });

  it('logs cover the lifecycle and contain no cookie value and no password', async (t) => {
    const { req, clock, login, srv } = await setup(t);
    const issued: string[] = [];
    const a = await login();
    issued.push(a);
    await req('POST', '/auth/login', { json: { username: PASSWORD, password: 'a password typed as the user name' } });
    clock.advance(15 * MIN + 1);
    const b = (await req('POST', '/auth/refresh', { cookie: a })).cookie()!;
    issued.push(b);
    const c = (await req('POST', '/auth/password', { cookie: b, json: { currentPassword: PASSWORD, newPassword: 'the next long pass phrase' } })).cookie()!;
    issued.push(c);
    await req('POST', '/auth/logout', { cookie: c });
    const text = srv.logs.text();
    for (const token of issued) {
      t.false(text.includes(token));
      t.false(text.includes(token.split('.')[1]!));
    }
    for (const secret of [PASSWORD, 'a password typed as the user name', 'the next long pass phrase', '$argon2id$']) {
      t.false(text.includes(secret), secret);
    }
    for (const event of ['login.ok', 'login.failed', 'session.created', 'session.refreshed', 'password.changed', 'session.revoked']) {
      t.true(srv.logs.events(event).length > 0, event);
    }
    for (const line of srv.logs.lines()) t.regex(String(line.time), /Z$/, 'UTC times');
  });
}
