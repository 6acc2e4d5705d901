/**
 * Property-based fuzzing of the form routes (the pages): hostile
 * application/x-www-form-urlencoded bodies — repeated fields, bracket keys,
 * `__proto__`, bad percent-escapes, huge values — against the login form (with and
 * without a valid CSRF token) and the signed-in page actions. Never a 5xx, never a
 * session from a failed login, no action without the session's CSRF token, no
 * redirect off the site, no prototype pollution.
 */
import test from 'ava';
import fc from 'fast-check';
import { REVOKE_OTHERS_PATH } from '../../src/views/sessions.js';
import { client } from '../helpers/http.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { type TestServer, startServer } from '../helpers/server.js';
import { formBodyArb } from '../helpers/arbitraries.js';
import { PASSWORD, login as loginToken } from '../helpers/login.js';
import { type RawResponse, buildRequest, header, rawRequest } from './raw-http.js';

let redis: RedisProcess;
let srv: TestServer;
let real: { token: string; handle: string };

test.before(async () => {
  redis = await startRedis();
  srv = await startServer({ redis, env: { LOGIN_MAX_FAILURES_PER_USER_IP: '100000', LOGIN_MAX_FAILURES_PER_IP: '100000' } });
  await srv.addUser('form', PASSWORD);
  real = await loginToken(client(srv.url), 'form');
});
test.after.always(async () => {
  await srv?.close();
  await redis?.stop();
});

/** A fresh login form: its pre-session cookie and CSRF token. */
async function loginForm(): Promise<{ pre: string; csrf: string }> {
  const r = await rawRequest(srv.port, buildRequest('GET', '/login', []));
  const pre = header(r, 'set-cookie').map((c) => /^pre=([^;]+)/.exec(c)?.[1]).find(Boolean);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(r.body)?.[1];
  if (!pre || !csrf) throw new Error(`no login form: ${r.status}`);
  return { pre, csrf };
}

const FORM = 'application/x-www-form-urlencoded';
const newSid = (r: RawResponse) => header(r, 'set-cookie').some((c) => /^sid=[^;]/.test(c));

function sane(r: RawResponse, what: string): void {
  if (r.noResponse) throw new Error(`${what}: no HTTP answer`);
  if (r.status >= 500 && !(r.status === 503 && r.body.includes('store_unavailable'))) throw new Error(`${what} → ${r.status}`);
  const loc = header(r, 'location')[0];
  if (loc !== undefined && !/^\/(?![/\\])/.test(loc)) throw new Error(`${what}: redirect off the site to ${loc}`);
}

const protoKeys = () => Object.getOwnPropertyNames(Object.prototype).sort();

test.serial('hostile login form bodies, with and without a valid CSRF token: never a 5xx, never a session', async (t) => {
  const before = protoKeys();
  const form = await loginForm();
  const seen = new Map<string, number>();
  const ctArb = fc.constantFrom(FORM, `${FORM}; charset=utf-8`, `${FORM}; charset=iso-8859-1`, 'text/plain', 'multipart/form-data; boundary=x');
  await fc.assert(
    fc.asyncProperty(formBodyArb, fc.boolean(), ctArb, async (body, withCsrf, ct) => {
      const full = withCsrf ? `${body}&_csrf=${encodeURIComponent(form.csrf)}` : body;
      const hs: Array<[string, string]> = [['Content-Type', ct]];
      if (withCsrf) hs.push(['Cookie', `pre=${form.pre}`]);
      const r = await rawRequest(srv.port, buildRequest('POST', '/login', hs, full));
      sane(r, `POST /login ${JSON.stringify(full).slice(0, 200)}`);
      if (newSid(r)) throw new Error(`a session from ${JSON.stringify(full).slice(0, 200)}`);
      const k = `${withCsrf ? 'csrf' : 'none'}:${r.status}`;
      seen.set(k, (seen.get(k) ?? 0) + 1);
    }),
    { numRuns: 200, includeErrorInReport: true },
  );
  t.log([...seen].map(([k, n]) => `${k}×${n}`).join(', '));
  t.true([...seen.keys()].some((k) => /^csrf:(400|401)$/.test(k)), 'some bodies got past the CSRF check into the login');
  t.deepEqual(protoKeys(), before, 'Object.prototype untouched');
});

test.serial('a successful login with a hostile returnTo never redirects off the site', async (t) => {
  const returnToArb = fc.oneof(
    fc.constantFrom('//evil.test', '/\\evil.test', '\\\\evil.test', 'https://evil.test/', 'javascript:alert(1)', '/%2F%2Fevil.test',
      '%2F%2Fevil.test', '/\t/evil.test', '/\r\n/evil.test', ' //evil.test', '/./\\evil.test', 'http:evil.test', '/ok?x=//evil'),
    fc.string({ maxLength: 40 }),
  );
  await fc.assert(
    fc.asyncProperty(returnToArb, fc.boolean(), async (returnTo, inQuery) => {
      const form = await loginForm();
      const fields = new URLSearchParams({ username: 'form', password: PASSWORD, _csrf: form.csrf });
      if (!inQuery) fields.set('returnTo', returnTo);
      const path = inQuery ? `/login?returnTo=${encodeURIComponent(returnTo)}` : '/login';
      const r = await rawRequest(srv.port, buildRequest('POST', path, [['Content-Type', FORM], ['Cookie', `pre=${form.pre}`]], fields.toString()));
      sane(r, `returnTo ${JSON.stringify(returnTo)}`);
      if (r.status !== 303) throw new Error(`login → ${r.status}`);
    }),
    { numRuns: 30, includeErrorInReport: true },
  );
  t.pass();
});

test.serial('hostile bodies on the signed-in page actions, without the session CSRF token: refused, nothing revoked', async (t) => {
  const other = await loginToken(client(srv.url), 'form');
  const routeArb = fc.constantFrom('/logout', REVOKE_OTHERS_PATH, `/account/sessions/${other.handle}/revoke`, '/account/sessions/x/revoke');
  await fc.assert(
    fc.asyncProperty(routeArb, formBodyArb, async (path, body) => {
      const r = await rawRequest(srv.port, buildRequest('POST', path, [['Content-Type', FORM], ['Cookie', `sid=${real.token}`]], body));
      sane(r, `POST ${path} ${JSON.stringify(body).slice(0, 200)}`);
      if (r.status < 400) throw new Error(`POST ${path} without a CSRF token → ${r.status}`);
    }),
    { numRuns: 120, includeErrorInReport: true },
  );
  const req = client(srv.url);
  t.is((await req('GET', '/api/me', { cookie: real.token })).status, 200, 'the session was not logged out');
  t.is((await req('GET', '/api/me', { cookie: other.token })).status, 200, 'the other device was not revoked');
});
