/**
 * Property-based fuzzing of the HTTP surface (fast-check, bounded runs): hostile
 * cookies, headers and JSON bodies. For every input: no 5xx other than 503
 * store_unavailable, the server stays up, no session for anything but the exact issued
 * cookie, nothing written to Redis for a forged one, and no prototype pollution of the
 * (in-process) server.
 */
import test from 'ava';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { client } from '../helpers/http.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { type TestServer, startServer } from '../helpers/server.js';
import {
  cookieHeaderArb, cookieValueArb, forgedTokenArb, headersArb, jsonBodyTextArb, loginLikeBodyArb, mutateTokenArb,
} from '../helpers/arbitraries.js';
import { PASSWORD, login as loginToken } from '../helpers/login.js';
import { type RawResponse, buildRequest, header, rawRequest } from './raw-http.js';

let redis: RedisProcess;
let srv: TestServer;
let direct: Redis;
let real: { token: string; handle: string };

test.before(async () => {
  redis = await startRedis();
  // Throttle limits high enough that fuzzed logins keep reaching the login code.
  srv = await startServer({ redis, env: { LOGIN_MAX_FAILURES_PER_USER_IP: '100000', LOGIN_MAX_FAILURES_PER_IP: '100000' } });
  await srv.addUser('fuzz', PASSWORD);
  real = await loginToken(client(srv.url), 'fuzz');
  direct = redis.client();
});
test.after.always(async () => {
  await srv?.close();
  await redis?.stop();
});

const protoKeys = () => Object.getOwnPropertyNames(Object.prototype).sort();

/** The answer is an allowed one: never a 5xx but store_unavailable, always nosniff. */
function sane(r: RawResponse): string | null {
  if (r.noResponse) return 'no HTTP answer at all';
  if (r.status >= 500 && !(r.status === 503 && r.body.includes('store_unavailable'))) return `${r.status} ${r.body.slice(0, 120)}`;
  // Node's own parser answers 400/431 before the app runs (no app headers then).
  if (r.status !== 400 && r.status !== 431 && header(r, 'x-content-type-options')[0] !== 'nosniff') return 'no nosniff';
  return null;
}

const sidPairs = (h: string) => (h.match(/(^|;\s*)sid=/g) ?? []).length;

test.serial('hostile Cookie headers: never a 5xx, and a session only for the exact issued cookie, sent once', async (t) => {
  const dbBefore = await direct.dbsize();
  const valueArb = fc.oneof(cookieValueArb, mutateTokenArb(real.token), fc.constant(real.token));
  const headerArb = fc.oneof(
    cookieHeaderArb('sid'),
    fc.array(fc.tuple(fc.constantFrom('sid', 'SID', 'sid ', 'Sid', 'other', '__Host-sid'), valueArb), { minLength: 1, maxLength: 3 })
      .map((ps) => ps.map(([n, v]) => `${n}=${v}`).join('; ')),
  );
  let served = 0;
  await fc.assert(
    fc.asyncProperty(headerArb, async (cookie) => {
      const r = await rawRequest(srv.port, buildRequest('GET', '/api/me', [['Cookie', cookie]]));
      const problem = sane(r);
      if (problem) throw new Error(`${JSON.stringify(cookie)} → ${problem}`);
      if (r.status === 200) {
        served++;
        if (!cookie.includes(real.token)) throw new Error(`session for a cookie never issued: ${JSON.stringify(cookie)}`);
        if (sidPairs(cookie) > 1) throw new Error(`session despite duplicate sid cookies: ${JSON.stringify(cookie)}`);
        if (!r.body.includes(real.handle)) throw new Error('served as some other session');
      }
      if (header(r, 'set-cookie').some((c) => /^sid=[^;]/.test(c) && !c.includes(real.token))) {
        throw new Error(`a cookie was minted for ${JSON.stringify(cookie)}`);
      }
    }),
    { numRuns: 300, includeErrorInReport: true },
  );
  t.log(`${served} of 300 inputs carried the issued cookie correctly and were served`);
  t.is(await direct.dbsize(), dbBefore, 'no key written for any of them');
  t.is((await client(srv.url)('GET', '/api/me', { cookie: real.token })).status, 200, 'the real session is intact');
});

test.serial('hostile headers on every kind of route: never a 5xx, the ID only ever taken from the cookie', async (t) => {
  const routeArb = fc.constantFrom(
    { method: 'GET', path: '/api/me' },
    { method: 'GET', path: '/auth/sessions' },
    { method: 'GET', path: `/api/me?sid=${real.token}` },
    { method: 'POST', path: '/auth/login', body: JSON.stringify({ username: 'fuzz', password: 'wrong password here' }) },
    { method: 'DELETE', path: '/auth/sessions/nothing-here' },
    { method: 'GET', path: '/readyz' },
    { method: 'OPTIONS', path: '/api/me' },
    { method: 'PUT', path: '/auth/login' },
  );
  const smuggleArb = fc.constantFrom<Array<[string, string]>>(
    [], [['X-Session-Id', real.token]], [['Authorization', `Bearer ${real.token}`]], [['Cookie', `SID=${real.token}`]],
  );
  await fc.assert(
    fc.asyncProperty(routeArb, headersArb, smuggleArb, async (route, headers, smuggle) => {
      const hs: Array<[string, string]> = [...headers, ...smuggle];
      if (route.body) hs.push(['Content-Type', 'application/json']);
      const r = await rawRequest(srv.port, buildRequest(route.method, route.path, hs, route.body));
      const problem = sane(r);
      if (problem) throw new Error(`${route.method} ${route.path} ${JSON.stringify(hs)} → ${problem}`);
      const cookieSent = hs.some(([k, v]) => k.toLowerCase() === 'cookie' && new RegExp(`(^|;\\s*)sid=${real.token}`).test(v));
      if (!cookieSent && r.status === 200 && route.path.startsWith('/api/me')) {
        throw new Error(`session taken from outside the cookie: ${JSON.stringify(hs)}`);
      }
    }),
    { numRuns: 150, includeErrorInReport: true },
  );
  t.is((await client(srv.url)('GET', '/api/me', { cookie: real.token })).status, 200);
});

test.serial('hostile JSON bodies: never a 5xx, never a session, no prototype pollution', async (t) => {
  const before = protoKeys();
  const routeArb = fc.constantFrom(
    { path: '/auth/login', cookie: undefined },
    { path: '/auth/password', cookie: 'real' },
    { path: '/auth/logout-all', cookie: 'forged' },
    { path: '/auth/refresh', cookie: 'forged' },
    { path: '/auth/logout', cookie: undefined },
  );
  const ctArb = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/json; charset=latin1');
  await fc.assert(
    fc.asyncProperty(routeArb, jsonBodyTextArb, ctArb, forgedTokenArb, async (route, body, ct, forged) => {
      const hs: Array<[string, string]> = [['Content-Type', ct]];
      if (route.cookie) hs.push(['Cookie', `sid=${route.cookie === 'real' ? real.token : forged}`]);
      const r = await rawRequest(srv.port, buildRequest('POST', route.path, hs, body));
      const problem = sane(r);
      if (problem) throw new Error(`POST ${route.path} ${JSON.stringify(body).slice(0, 200)} → ${problem}`);
      if (route.path === '/auth/login' && r.status === 200) throw new Error(`login accepted: ${body.slice(0, 200)}`);
      if (route.cookie === 'forged' && r.status < 300) throw new Error(`forged cookie accepted on ${route.path}`);
      if (route.path === '/auth/password' && r.status === 204) throw new Error('password changed without the password');
    }),
    { numRuns: 200, includeErrorInReport: true },
  );
  t.deepEqual(protoKeys(), before, 'Object.prototype untouched');
  t.false('polluted' in {} || 'isAdmin' in {});
  t.is((await client(srv.url)('GET', '/api/me', { cookie: real.token })).status, 200, 'the real session survived');
});

test.serial('login-shaped objects with wrong types: 400/401, never a 5xx or a session', async (t) => {
  const req = client(srv.url);
  await fc.assert(
    fc.asyncProperty(loginLikeBodyArb, async (b) => {
      const r = await req('POST', '/auth/login', { json: b });
      if (![400, 401, 413, 429].includes(r.status)) throw new Error(`${JSON.stringify(b).slice(0, 200)} → ${r.status} ${r.text}`);
      if (r.setCookies.some((c) => /^sid=[^;]/.test(c))) throw new Error('a cookie was issued');
    }),
    { numRuns: 100, includeErrorInReport: true },
  );
  t.pass();
});
