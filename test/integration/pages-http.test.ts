/**
 * The pages at the HTTP level (issue 4): redirects, returnTo, CSRF on every form
 * route, bodies, headers, and the session clocks driven by a ManualClock — on the real
 * app and a real redis-server.
 */
import anyTest, { type TestFn } from 'ava';
import { ManualClock } from '../../src/clock.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { HOSTILE_RETURN_TO } from '../helpers/return-to-cases.js';
import { type TestServer, startServer } from '../helpers/server.js';
import { PASSWORD, formLogin } from '../helpers/login.js';
import { PageClient, csrfOf } from '../helpers/pages-client.js';

const test = anyTest as TestFn<{ redis: RedisProcess; srv: TestServer; clock: ManualClock }>;
const MIN = 60_000;

test.before(async (t) => {
  const redis = await startRedis();
  const clock = new ManualClock(Date.now());
  const srv = await startServer({
    redis,
    clock,
    env: {
      SESSION_IDLE_TIMEOUT: '15m',
      SESSION_ABSOLUTE_LIFETIME: '2h',
      SESSION_ROTATION_GRACE: '10s',
      LOGIN_MAX_FAILURES_PER_USER_IP: '3',
    },
  });
  for (const u of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi']) await srv.addUser(u, PASSWORD);
  t.context = { redis, srv, clock };
});

test.after.always(async (t) => {
  await t.context.srv?.close();
  await t.context.redis?.stop();
});

const client = (t: { context: { srv: TestServer } }) => new PageClient(t.context.srv.url);

async function signedIn(t: { context: { srv: TestServer } }, user: string, ua?: string): Promise<PageClient> {
  const c = client(t);
  if (ua) c.userAgent = ua;
  const res = await formLogin(c, user, PASSWORD);
  if (res.status !== 303) throw new Error(`login failed: ${res.status}`);
  return c;
}

function assertPageHeaders(t: import('ava').ExecutionContext, res: { headers: Headers }, what: string) {
  const csp = res.headers.get('content-security-policy') ?? '';
  t.regex(csp, /default-src 'self'/, `${what}: CSP default-src`);
  t.regex(csp, /frame-ancestors 'none'/, `${what}: frame-ancestors`);
  t.notRegex(csp, /unsafe-inline|unsafe-eval/, `${what}: no inline script`);
  t.is(res.headers.get('x-content-type-options'), 'nosniff', `${what}: nosniff`);
  t.is(res.headers.get('x-frame-options'), 'DENY', `${what}: X-Frame-Options`);
  // same-origin: with no-referrer, Chromium would send `Origin: null` on the page's own forms.
  t.is(res.headers.get('referrer-policy'), 'same-origin', `${what}: Referrer-Policy`);
  t.is(res.headers.get('cache-control'), 'no-store', `${what}: no-store`);
  t.regex(res.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/, `${what}: HTML`);
}

test('without a session, a page answers 303 to the sign-in form with returnTo and a notice', async (t) => {
  const c = client(t);
  for (const [path, back] of [['/', '%2F'], ['/account/sessions?x=1', '%2Faccount%2Fsessions%3Fx%3D1']] as const) {
    const res = await c.get(path);
    t.is(res.status, 303);
    t.is(res.location, `/login?returnTo=${back}&notice=required`);
  }
  const login = await c.get('/login?returnTo=%2F&notice=required');
  t.is(login.status, 200);
  t.true(login.body.includes('Please sign in to continue.'));
  t.true(login.body.includes('name="returnTo" value="/"'));
});

test('the sign-in form has labelled fields, a CSRF token bound to a pre-session cookie, and page headers', async (t) => {
  const c = client(t);
  const res = await c.get('/login');
  assertPageHeaders(t, res, 'GET /login');
  for (const id of ['username', 'password', 'remember']) {
    t.regex(res.body, new RegExp(`<label for="${id}">`), `label for ${id}`);
    t.regex(res.body, new RegExp(`<input id="${id}"`), `input ${id}`);
  }
  t.true(res.body.includes('Keep me signed in'));
  t.regex(res.body, /name="viewport"/);
  t.notRegex(res.body, /<script(?![^>]*\ssrc="\/assets\/)/, 'no inline script');
  t.notRegex(res.body, /\sstyle=|<style/, 'no inline style');
  t.notRegex(res.body, /(src|href)="(https?:)?\/\//, 'no external resource');
  const pre = res.setCookies.find((s) => s.startsWith('pre='));
  t.truthy(pre);
  t.regex(pre!, /HttpOnly/);
  t.regex(pre!, /SameSite=Lax/);
  t.truthy(csrfOf(res.body));
});

test('signing in through the form sets the session cookie, ends the pre-session and lands on /', async (t) => {
  const c = client(t);
  const res = await formLogin(c, 'alice', PASSWORD);
  t.is(res.status, 303);
  t.is(res.location, '/');
  const sid = res.setCookies.find((s) => s.startsWith('sid='));
  t.regex(sid!, /HttpOnly/);
  t.regex(sid!, /Expires=/, 'keep me signed in: a persistent cookie');
  t.true(res.setCookies.some((s) => /^pre=;.*Max-Age=0/.test(s)), 'pre-session cookie cleared');
  t.is(res.headers.get('cache-control'), 'no-store');
  const home = await c.get('/');
  t.is(home.status, 200);
  assertPageHeaders(t, home, 'GET /');
  t.true(home.body.includes('Signed in as <span class="username">alice</span>'));
  t.regex(home.body, /data-countdown data-remaining-ms="900000"/, 'idle countdown from the store clock');
  t.true(home.body.includes('<script src="/assets/countdown.js" defer></script>'));
});

test('"Keep me signed in" unticked gives a browser-session cookie and an unrefreshable session', async (t) => {
  const c = client(t);
  const page = await c.get('/login');
  const res = await c.post('/login', { _csrf: csrfOf(page.body), username: 'bob', password: PASSWORD });
  t.is(res.status, 303);
  const sid = res.setCookies.find((s) => s.startsWith('sid='))!;
  t.notRegex(sid, /Expires=|Max-Age=/);
  const home = await c.get('/');
  t.true(home.body.includes('This session is not kept'));
});

test('a failed sign-in re-renders the form with the error and the username kept, escaped', async (t) => {
  const c = client(t);
  const page = await c.get('/login');
  const name = '"><script>alert(1)</script>';
  const res = await c.post('/login', { _csrf: csrfOf(page.body), username: name, password: 'wrong password here' });
  t.is(res.status, 401);
  assertPageHeaders(t, res, 'failed login');
  t.true(res.body.includes('Unknown username or wrong password.'));
  t.true(res.body.includes('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"'));
  t.false(res.body.includes('<script>alert'));
  t.false(c.cookies.has('sid'));
});

test('sign-in failures are throttled like the JSON login: 429 with Retry-After, even with the right password', async (t) => {
  const c = client(t);
  for (let i = 0; i < 3; i++) {
    const page = await c.get('/login');
    const res = await c.post('/login', { _csrf: csrfOf(page.body), username: 'carol', password: 'not the password!' });
    t.is(res.status, 401);
  }
  const page = await c.get('/login');
  const res = await c.post('/login', { _csrf: csrfOf(page.body), username: 'carol', password: PASSWORD });
  t.is(res.status, 429);
  t.truthy(res.headers.get('retry-after'));
  t.true(res.body.includes('Too many failed sign-in attempts'));
  t.true(res.body.includes('value="carol"'));
});

test('returnTo: same-origin paths are followed after sign-in', async (t) => {
  for (const path of ['/account/sessions', '/account/sessions?done=revoked']) {
    const c = client(t);
    const res = await formLogin(c, 'dave', PASSWORD, { returnTo: path });
    t.is(res.location, path);
  }
});

test('returnTo: every hostile value lands on / (table)', async (t) => {
  for (const bad of HOSTILE_RETURN_TO) {
    const c = client(t);
    // In the form field, as the page sends it …
    const res = await formLogin(c, 'dave', PASSWORD, { returnTo: bad });
    t.is(res.status, 303, JSON.stringify(bad));
    t.is(res.location, '/', JSON.stringify(bad));
    // … and in the query string, where the sign-in form never repeats it.
    const again = await c.get(`/login?returnTo=${encodeURIComponent(bad)}`);
    t.is(again.location, '/', `signed in: ${JSON.stringify(bad)}`);
    const anon = client(t);
    const page = await anon.get(`/login?returnTo=${encodeURIComponent(bad)}`);
    t.false(page.body.includes('name="returnTo"'), `not echoed: ${JSON.stringify(bad)}`);
  }
});

test('an idle session is refreshed transparently: new cookie, page served, old ID honoured within the grace', async (t) => {
  const { clock } = t.context;
  const c = await signedIn(t, 'erin');
  const first = c.cookies.get('sid')!;
  clock.advance(16 * MIN);
  const res = await c.get('/');
  t.is(res.status, 200);
  assertPageHeaders(t, res, 'refreshed page');
  t.true(res.body.includes('was renewed with a new session ID'));
  const second = c.cookies.get('sid')!;
  t.not(second, first);
  t.regex(res.setCookies.find((s) => s.startsWith('sid='))!, /Expires=/);
  // A request racing the rotation with the old ID is served as the new session.
  const racing = new PageClient(t.context.srv.url);
  racing.cookies.set('sid', first);
  const raced = await racing.get('/');
  t.is(raced.status, 200);
  t.false(raced.setCookies.some((s) => s.startsWith('sid=')), 'no cookie re-sent inside the grace');
});

test('after the absolute lifetime a page redirects to sign-in with the "expired" notice and drops the cookie', async (t) => {
  const clock = new ManualClock(Date.now());
  const redis = t.context.redis;
  const srv = await startServer({ redis, clock, env: { SESSION_IDLE_TIMEOUT: '15m', SESSION_ABSOLUTE_LIFETIME: '1h' } });
  t.teardown(() => srv.close());
  await srv.addUser('ivan', PASSWORD);
  const c = new PageClient(srv.url);
  await formLogin(c, 'ivan', PASSWORD);
  clock.advance(61 * MIN);
  const res = await c.get('/account/sessions');
  t.is(res.status, 303);
  t.is(res.location, '/login?returnTo=%2Faccount%2Fsessions&notice=expired');
  t.true(res.setCookies.some((s) => /^sid=;.*Max-Age=0/.test(s)));
  const login = await c.get(res.location!);
  t.true(login.body.includes('maximum lifetime'));
});

test('the devices page lists every session, marks this one, and signs out another', async (t) => {
  const a = await signedIn(t, 'frank');
  const b = await signedIn(t, 'frank', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1');
  const page = await a.get('/account/sessions');
  t.is(page.status, 200);
  assertPageHeaders(t, page, 'GET /account/sessions');
  const handles = [...page.body.matchAll(/data-handle="([^"]+)"/g)].map((m) => m[1]!);
  t.is(handles.length, 2);
  t.regex(page.body, /class="current" aria-current="true" data-handle="[^"]+">[\s\S]*?this device/);
  t.true(page.body.includes('Mobile Safari 17 on iOS 17.2 (iPhone)'));
  t.true(page.body.includes('Chrome 120 on Linux'));
  t.true(page.body.includes('127.0.0.1'));
  const other = handles[1]!;
  const res = await a.post(`/account/sessions/${other}/revoke`, { _csrf: csrfOf(page.body) });
  t.is(res.status, 303);
  t.is(res.location, '/account/sessions?done=revoked');
  const gone = await b.get('/');
  t.is(gone.status, 303);
  t.is(gone.location, '/login?returnTo=%2F&notice=ended');
  const again = await a.get('/account/sessions?done=revoked');
  t.true(again.body.includes('The session was signed out.'));
  t.is([...again.body.matchAll(/data-handle=/g)].length, 1);
});

test('"Sign out everywhere else" keeps this session and ends the others', async (t) => {
  const a = await signedIn(t, 'grace');
  const others = [await signedIn(t, 'grace'), await signedIn(t, 'grace')];
  const page = await a.get('/account/sessions');
  const res = await a.post('/account/sessions/revoke-others', { _csrf: csrfOf(page.body) });
  t.is(res.status, 303);
  t.is(res.location, '/account/sessions?done=revoked_others');
  for (const o of others) t.is((await o.get('/')).status, 303);
  t.is((await a.get('/')).status, 200);
});

test('POST /logout revokes the session, clears the cookie and answers 303 /login', async (t) => {
  const c = await signedIn(t, 'heidi');
  const cookie = c.cookies.get('sid')!;
  const home = await c.get('/');
  const res = await c.post('/logout', { _csrf: csrfOf(home.body) });
  t.is(res.status, 303);
  t.is(res.location, '/login?notice=signed_out');
  t.true(res.setCookies.some((s) => /^sid=;.*Max-Age=0/.test(s)));
  t.is(res.headers.get('clear-site-data'), '"cookies"');
  const replayed = new PageClient(t.context.srv.url);
  replayed.cookies.set('sid', cookie);
  t.is((await replayed.get('/')).location, '/login?returnTo=%2F&notice=ended');
  t.true((await c.get('/login?notice=signed_out')).body.includes('You have signed out.'));
});

test('every form route refuses a post without its token, with another session\'s token, or from another site', async (t) => {
  const victim = client(t);
  const preToken = csrfOf((await victim.get('/login')).body);
  t.is((await victim.post('/login', { _csrf: preToken, username: 'alice', password: PASSWORD })).status, 303);
  const attacker = await signedIn(t, 'bob');
  const vPage = await victim.get('/account/sessions');
  const aPage = await attacker.get('/account/sessions');
  const handle = /data-handle="([^"]+)"/.exec(vPage.body)![1]!;
  const good = csrfOf(vPage.body);
  const routes = ['/logout', '/account/sessions/revoke-others', `/account/sessions/${handle}/revoke`];
  for (const path of routes) {
    for (const [what, fields, headers] of [
      ['no token', {}, {}],
      ['empty token', { _csrf: '' }, {}],
      ["another session's token", { _csrf: csrfOf(aPage.body) }, {}],
      ['the pre-login token', { _csrf: preToken }, {}],
      ['Sec-Fetch-Site: cross-site', { _csrf: good }, { 'sec-fetch-site': 'cross-site' }],
      ['Sec-Fetch-Site: same-site', { _csrf: good }, { 'sec-fetch-site': 'same-site' }],
      ['a foreign Origin', { _csrf: good }, { origin: 'http://evil.example', 'sec-fetch-site': '' }],
      ['Origin: null', { _csrf: good }, { origin: 'null', 'sec-fetch-site': '' }],
    ] as const) {
      const res = await victim.post(path, fields, headers);
      t.is(res.status, 403, `${path}: ${what}`);
      assertPageHeaders(t, res, `${path}: ${what}`);
      t.true(res.body.includes('Request refused'), `${path}: ${what}: HTML error page`);
    }
  }
  // Nothing happened: the victim is still signed in on this device.
  t.is((await victim.get('/')).status, 200);
  // And the same posts as JSON clients see them.
  const json = await victim.post('/logout', {}, { accept: 'application/json' });
  t.is(json.status, 403);
  t.deepEqual(JSON.parse(json.body), { error: 'csrf', message: 'Cross-site request refused.' });
});

test('the sign-in form refuses a post without its pre-session token (login CSRF)', async (t) => {
  const c = client(t);
  const page = await c.get('/login');
  const token = csrfOf(page.body);
  for (const [what, fields, headers] of [
    ['no token', { username: 'alice', password: PASSWORD }, {}],
    ['a token for another pre-session', { _csrf: csrfOf((await client(t).get('/login')).body), username: 'alice', password: PASSWORD }, {}],
    ['cross-site', { _csrf: token, username: 'alice', password: PASSWORD }, { 'sec-fetch-site': 'cross-site' }],
  ] as const) {
    const res = await c.post('/login', fields, headers);
    t.is(res.status, 403, what);
    t.false(res.setCookies.some((s) => s.startsWith('sid=')), `${what}: no session`);
  }
  // A session's form token is no sign-in token either.
  const s = await signedIn(t, 'dave');
  const home = await s.get('/');
  const fresh = client(t);
  await fresh.get('/login');
  const res = await fresh.post('/login', { _csrf: csrfOf(home.body), username: 'alice', password: PASSWORD });
  t.is(res.status, 403);
});

test('form bodies: over 16 KiB → 413, not a form → 415, before any session work', async (t) => {
  const c = await signedIn(t, 'erin');
  const big = await c.request('POST', '/logout', {
    body: `_csrf=x&pad=${'a'.repeat(17 * 1024)}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: c.base },
  });
  t.is(big.status, 413);
  const login = await c.request('POST', '/login', {
    body: `username=a&password=${'a'.repeat(17 * 1024)}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: c.base },
  });
  t.is(login.status, 413);
  const json = await c.request('POST', '/logout', { body: '{}', headers: { 'content-type': 'application/json', origin: c.base } });
  t.is(json.status, 415);
  t.is((await c.get('/')).status, 200, 'still signed in');
});

test('assets are served from this origin with their types; unknown names are 404', async (t) => {
  const c = client(t);
  for (const [name, type] of [['style.css', 'text/css'], ['countdown.js', 'text/javascript'], ['favicon.svg', 'image/svg+xml']] as const) {
    const res = await c.get(`/assets/${name}`);
    t.is(res.status, 200, name);
    t.true((res.headers.get('content-type') ?? '').startsWith(type), name);
    t.is(res.headers.get('x-content-type-options'), 'nosniff');
  }
  t.is((await c.get('/assets/..%2Fhtml.ts')).status, 404);
  const missing = await c.get('/assets/nope.js');
  t.is(missing.status, 404);
  const unknown = await c.get('/no-such-page');
  t.is(unknown.status, 404);
  assertPageHeaders(t, unknown, '404 page');
  t.true(unknown.body.includes('Page not found'));
});

test('with COOKIE_SECURE the pre-session cookie is __Host-pre (Secure, Path=/, no Domain) and sign-in still works', async (t) => {
  const srv = await startServer({ redis: t.context.redis, env: { COOKIE_SECURE: 'on' } });
  t.teardown(() => srv.close());
  await srv.addUser('judy', PASSWORD);
  const c = new PageClient(srv.url);
  const page = await c.get('/login');
  const pre = page.setCookies.find((s) => s.startsWith('__Host-pre='))!;
  t.truthy(pre);
  t.regex(pre, /; Secure/);
  t.regex(pre, /; Path=\//);
  t.notRegex(pre, /Domain=/i);
  // Behind the TLS proxy the browser's origin is https.
  const https = { origin: srv.url.replace('http:', 'https:') };
  const res = await c.post('/login', { _csrf: csrfOf(page.body), username: 'judy', password: PASSWORD, remember: 'on' }, https);
  t.is(res.status, 303);
  t.true(res.setCookies.some((s) => s.startsWith('__Host-sid=') && /; Secure/.test(s)));
  t.true(res.setCookies.some((s) => /^__Host-pre=;.*Max-Age=0/.test(s)));
  t.is((await c.get('/')).status, 200);
  t.is(res.headers.get('strict-transport-security'), 'max-age=31536000; includeSubDomains');
});
