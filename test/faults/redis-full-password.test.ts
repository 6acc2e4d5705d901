/**
 * A full Redis (maxmemory, noeviction) must not turn a password check into an
 * unthrottled oracle: every wrong password is counted while writes are refused, so N
 * wrong guesses meet the limit (429) and the right password afterwards changes nothing.
 * For each way a password is checked: the password change, the re-authentication, the
 * JSON login and the sign-in form. Each guesser has its own address (TRUST_PROXY=1), so
 * the per user + address limit (5 here) is the one met.
 */
import test, { type ExecutionContext } from 'ava';
import { type Reply, client } from '../helpers/http.js';
import { PASSWORD, login as signIn } from '../helpers/login.js';
import { PageClient, csrfOf } from '../helpers/pages-client.js';
import { startServer } from '../helpers/server.js';
import { fill, free, startSmallRedis } from './fill.js';

const NEW_PASSWORD = 'a brand new passphrase, long enough';
const WRONG = 'not the password, a guess';
const LIMIT = 5;

async function world(t: ExecutionContext) {
  const redis = await startSmallRedis();
  t.teardown(() => redis.stop());
  const srv = await startServer({ redis, env: { TRUST_PROXY: '1', LOGIN_MAX_FAILURES_PER_USER_IP: String(LIMIT) } });
  t.teardown(() => srv.close());
  const req = client(srv.url);
  await srv.addUser('alice', PASSWORD);
  const me = async (token: string) => (await req('GET', '/api/me', { cookie: token })).status;
  return { redis, admin: redis.client(), srv, req, me };
}

const from = (ip: string) => ({ 'x-forwarded-for': ip });

const throttled = (t: ExecutionContext, r: Reply, what: string) => {
  t.is(r.status, 429, `${what}: ${r.status} ${r.text}`);
  t.is(r.body?.error, 'too_many_attempts', what);
  t.deepEqual(r.setCookies, [], `${what}: no cookie`);
};

test('Redis full: wrong current passwords for POST /auth/password are counted (401 then 429); the right one afterwards changes nothing', async (t) => {
  const w = await world(t);
  const mine = await signIn(w.req, 'alice');
  const other = await signIn(w.req, 'alice');
  await fill(w.admin);

  const change = (currentPassword: string) =>
    w.req('POST', '/auth/password', { cookie: mine.token, headers: from('203.0.113.1'), json: { currentPassword, newPassword: NEW_PASSWORD } });
  for (let i = 0; i < LIMIT; i++) {
    const r = await change(WRONG);
    t.is(r.status, 401, `guess ${i + 1}: ${r.text}`);
    t.is(r.body?.error, 'invalid_credentials');
  }
  throttled(t, await change(WRONG), 'the next wrong guess');
  throttled(t, await change(PASSWORD), 'the right password after the limit');

  await free(w.admin);
  t.is(await w.me(mine.token), 200, 'the session was not rotated');
  t.is(await w.me(other.token), 200, 'the other session was not revoked');
  const old = await w.req('POST', '/auth/login', { headers: from('198.51.100.1'), json: { username: 'alice', password: PASSWORD } });
  t.is(old.status, 200, 'the password is still the old one');
  const next = await w.req('POST', '/auth/login', { headers: from('198.51.100.2'), json: { username: 'alice', password: NEW_PASSWORD } });
  t.is(next.status, 401);
});

test('Redis full: wrong passwords for POST /auth/reauthenticate are counted; the right one afterwards is 429 and renews nothing', async (t) => {
  const w = await world(t);
  const mine = await signIn(w.req, 'alice');
  await fill(w.admin);

  const reauth = (password: string) => w.req('POST', '/auth/reauthenticate', { cookie: mine.token, headers: from('203.0.113.2'), json: { password } });
  for (let i = 0; i < LIMIT; i++) {
    const r = await reauth(WRONG);
    t.is(r.status, 401, `guess ${i + 1}: ${r.text}`);
    t.is(r.body?.error, 'invalid_credentials');
  }
  throttled(t, await reauth(WRONG), 'the next wrong guess');
  throttled(t, await reauth(PASSWORD), 'the right password after the limit');
  t.is(await w.me(mine.token), 200, 'the session is the same, not rotated');
});

test('Redis full: wrong passwords at POST /auth/login and at the sign-in form are counted; the right one afterwards is 429', async (t) => {
  const w = await world(t);
  const browser = new PageClient(w.srv.url);
  await browser.get('/login', from('203.0.113.4')); // the form's key and pre-session, before the fill
  await fill(w.admin);

  const login = (password: string) =>
    w.req('POST', '/auth/login', { headers: from('203.0.113.3'), json: { username: 'alice', password } });
  for (let i = 0; i < LIMIT; i++) {
    const r = await login(WRONG);
    t.is(r.status, 401, `guess ${i + 1}: ${r.text}`);
  }
  throttled(t, await login(WRONG), 'the next wrong guess');
  throttled(t, await login(PASSWORD), 'the right password after the limit');

  const formLogin = async (password: string) => {
    const page = await browser.get('/login', from('203.0.113.4'));
    return browser.post('/login', { _csrf: csrfOf(page.body), username: 'alice', password }, from('203.0.113.4'));
  };
  for (let i = 0; i < LIMIT; i++) t.is((await formLogin(WRONG)).status, 401, `form guess ${i + 1}`);
  t.is((await formLogin(WRONG)).status, 429);
  const right = await formLogin(PASSWORD);
  t.is(right.status, 429);
  t.false(right.setCookies.some((c) => c.startsWith('sid=')), 'no session');
});
