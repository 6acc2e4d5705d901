/**
 * OpenID Connect sign-in (issue 15) against a real provider (node-oidc-provider on a
 * loopback port, test/helpers/oidc-provider.ts), with the browser driven over plain
 * HTTP: two cookie jars (the app's and the provider's), redirects followed by hand.
 * Every case runs on the embedded stores and on a real redis-server.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { detailPairs } from '../../src/cli/session-view.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { sha256 } from '../../src/sessions/token.js';
import { keySpace } from '../../src/store/keys.js';
import { Browser, hasSession, me, toCallback } from '../helpers/oidc-browser.js';
import { type TestProvider, startProvider } from '../helpers/oidc-provider.js';
import { freePort } from '../helpers/ports.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { type TestServer, startServer } from '../helpers/server.js';

interface Setup {
  srv: TestServer;
  op: TestProvider;
  origin: string;
}
const test = anyTest as TestFn<{ redis: RedisProcess; memory: Setup; redisSetup: Setup; plain: TestServer }>;
const ROOT = new URL('../../', import.meta.url).pathname;

async function setup(redis?: RedisProcess): Promise<Setup> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const op = await startProvider({
    redirectUri: `${origin}/auth/oidc/callback`,
    backchannelLogoutUri: `${origin}/auth/oidc/backchannel-logout`,
  });
  op.accounts.set('sub-alice', { preferred_username: 'Alice', email: 'alice@example.org' });
  op.accounts.set('sub-bob', { preferred_username: 'bob' });
  op.accounts.set('sub-mail', { email: 'Carol.Smith@Example.org' });
  for (const who of ['dave', 'erin', 'frank']) op.accounts.set(`sub-${who}`, { preferred_username: who });
  const srv = await startServer({
    redis,
    env: {
      PORT: String(port),
      PUBLIC_ORIGIN: origin,
      OIDC_ISSUER: op.issuer,
      OIDC_CLIENT_ID: op.clientId,
      OIDC_CLIENT_SECRET: op.clientSecret,
      OIDC_NAME: 'Test IdP',
    },
  });
  return { srv, op, origin };
}

test.before(async (t) => {
  const redis = await startRedis();
  const [memory, redisSetup, plain] = await Promise.all([setup(), setup(redis), startServer()]);
  t.context = { redis, memory, redisSetup, plain };
});

test.after.always(async (t) => {
  for (const s of [t.context.memory, t.context.redisSetup]) {
    await s?.srv.close();
    await s?.op.close();
  }
  await t.context.plain?.close();
  await t.context.redis?.stop();
});

async function signIn(s: Setup, b: Browser, sub: string, returnTo?: string) {
  const callback = await toCallback(s, b, sub, returnTo);
  const done = await b.get(callback);
  return { callback, done };
}

const each = (name: string, fn: (t: ExecutionContext<unknown>, s: Setup) => Promise<void>) => {
  test.serial(`${name} (embedded)`, (t) => fn(t, t.context.memory));
  test.serial(`${name} (redis)`, (t) => fn(t, t.context.redisSetup));
};

each('the login page offers "Sign in with <OIDC_NAME>", carrying returnTo', async (t, s) => {
  const page = await new Browser().get(`${s.origin}/login?returnTo=%2Faccount%2Fsessions`);
  t.is(page.status, 200);
  t.regex(page.body, /<a class="button" href="\/auth\/oidc\/login\?returnTo=%2Faccount%2Fsessions">Sign in with Test IdP<\/a>/);
});

each('login redirects to the provider with the code flow, PKCE S256, state and nonce', async (t, s) => {
  const r = await new Browser().get(`${s.origin}/auth/oidc/login`);
  t.is(r.status, 302);
  const u = new URL(r.location!);
  t.is(u.origin, s.op.issuer);
  t.is(u.searchParams.get('response_type'), 'code');
  t.is(u.searchParams.get('code_challenge_method'), 'S256');
  t.regex(u.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
  t.regex(u.searchParams.get('state') ?? '', /^[A-Za-z0-9_-]{43}$/);
  t.regex(u.searchParams.get('nonce') ?? '', /^[A-Za-z0-9_-]{43}$/);
  t.is(u.searchParams.get('redirect_uri'), `${s.origin}/auth/oidc/callback`);
  t.is(u.searchParams.get('scope'), 'openid email profile');
  t.true(r.setCookies.some((c) => /^oidc=[^;]+;.*HttpOnly; SameSite=Lax; Max-Age=300/.test(c)));
});

each('first sign-in creates the user and a session; the second maps to the same user', async (t, s) => {
  const b1 = new Browser();
  const first = await signIn(s, b1, 'sub-alice', '/account/sessions');
  t.is(first.done.status, 303);
  t.is(first.done.location, `${s.origin}/account/sessions`);
  t.true(hasSession(first.done));
  // The session cookie is a remembered one, like a password login with "keep me signed in".
  t.true(first.done.setCookies.some((c) => /^sid=.*Expires=/.test(c)));
  const m1 = await me(s, b1);
  t.is(m1.status, 200);
  t.is((m1.body.user as { username: string }).username, 'alice');
  const user = await s.srv.users.find('alice');
  t.truthy(user);

  const b2 = new Browser();
  const second = await signIn(s, b2, 'sub-alice');
  t.is(second.done.location, `${s.origin}/`);
  const m2 = await me(s, b2);
  t.is((m2.body.user as { username: string }).username, 'alice');
  t.is((await s.srv.users.find('alice'))?.tag, user!.tag, 'the same account');
  t.is((await s.srv.users.list()).filter((u) => u.username.startsWith('alice')).length, 1);

  // Both sessions say how they were authenticated, on the devices page too.
  const sessions = await s.srv.store.list(user!.tag);
  t.true(sessions.length >= 2);
  for (const x of sessions) t.is(x.authMethod, `oidc:${s.op.issuer}`);
  const devices = await b2.get(`${s.origin}/account/sessions`);
  t.is(devices.status, 200);
  t.true(devices.body.includes(`signed in with oidc:${s.op.issuer}`));
  t.deepEqual(detailPairs(sessions[0]!, 'active', Date.now()).find(([k]) => k === 'signed in with'), ['signed in with', `oidc:${s.op.issuer}`]);
});

each('a replayed callback URL is refused: no session', async (t, s) => {
  const b = new Browser();
  const callback = await toCallback(s, b, 'sub-alice');
  const pre = b.jar(s.origin).get('oidc');
  t.truthy(pre);
  const first = await b.get(callback);
  t.true(hasSession(first));
  // The replay carries everything the browser had when it first opened the URL.
  const replayer = new Browser();
  replayer.jar(s.origin).set('oidc', pre!);
  const again = await replayer.get(callback);
  t.is(again.status, 303);
  t.is(again.location, `${s.origin}/login?notice=oidc_expired`);
  t.false(hasSession(again));
  t.is((await me(s, replayer)).status, 401);
});

each('a forged or missing state is refused, and the real one still works once', async (t, s) => {
  const b = new Browser();
  const callback = await toCallback(s, b, 'sub-alice');
  const forged = new URL(callback);
  forged.searchParams.set('state', 'A'.repeat(43));
  const r1 = await b.get(forged.href);
  t.is(r1.location, `${s.origin}/login?notice=oidc_expired`);
  t.false(hasSession(r1));
  const missing = new URL(callback);
  missing.searchParams.delete('state');
  const r2 = await b.get(missing.href);
  t.is(r2.location, `${s.origin}/login?notice=oidc_expired`);
  t.false(hasSession(r2));
  t.is((await me(s, b)).status, 401);
  const ok = await b.get(callback);
  t.is(ok.location, `${s.origin}/`);
  t.true(hasSession(ok));
});

each('a callback opened in another browser (login CSRF) is refused', async (t, s) => {
  const attacker = new Browser();
  const callback = await toCallback(s, attacker, 'sub-bob');
  const victim = new Browser();
  const r = await victim.get(callback);
  t.is(r.location, `${s.origin}/login?notice=oidc_expired`);
  t.false(hasSession(r));
});

each('a provider error (access_denied) and an iss mismatch end with a notice and no session', async (t, s) => {
  const b = new Browser();
  const start = await b.get(`${s.origin}/auth/oidc/login`);
  const state = new URL(start.location!).searchParams.get('state')!;
  const denied = await b.get(`${s.origin}/auth/oidc/callback?error=access_denied&state=${state}&iss=${encodeURIComponent(s.op.issuer)}`);
  t.is(denied.location, `${s.origin}/login?notice=oidc_denied`);
  t.false(hasSession(denied));

  const callback = new URL(await toCallback(s, b, 'sub-alice'));
  t.is(callback.searchParams.get('iss'), s.op.issuer, 'the provider sends iss (RFC 9207)');
  callback.searchParams.set('iss', 'https://evil.example.org');
  const wrong = await b.get(callback.href);
  t.is(wrong.location, `${s.origin}/login?notice=oidc_failed`);
  t.regex(String(s.srv.logs.events('oidc.failed').at(-1)?.cause), /"iss"/);
  t.false(hasSession(wrong));
  t.is((await me(s, b)).status, 401);
});

test.serial('an ID token whose nonce is not the one sent is refused (redis)', async (t) => {
  const s = t.context.redisSetup;
  const b = new Browser();
  const callback = await toCallback(s, b, 'sub-alice');
  // The pending record is the only place the expected nonce lives: change it.
  const key = keySpace(s.srv.keyPrefix).oidcState(sha256(new URL(callback).searchParams.get('state')!));
  const rec = JSON.parse((await s.srv.redisClient!.get(key))!) as Record<string, unknown>;
  await s.srv.redisClient!.set(key, JSON.stringify({ ...rec, nonce: 'another-nonce' }), 'PX', 60_000);
  const r = await b.get(callback);
  t.is(r.location, `${s.origin}/login?notice=oidc_failed`);
  t.false(hasSession(r));
  t.regex(String(s.srv.logs.events('oidc.failed').at(-1)?.cause), /nonce/);
});

test.serial('the state record holds no secret and expires within 5 minutes (redis)', async (t) => {
  const s = t.context.redisSetup;
  const b = new Browser();
  const start = await b.get(`${s.origin}/auth/oidc/login?returnTo=%2Fx`);
  const u = new URL(start.location!);
  const key = keySpace(s.srv.keyPrefix).oidcState(sha256(u.searchParams.get('state')!));
  const ttl = await s.srv.redisClient!.pttl(key);
  t.true(ttl > 0 && ttl <= 300_000);
  const stored = (await s.srv.redisClient!.get(key))!;
  const pre = b.jar(s.origin).get('oidc')!;
  for (const secret of [pre, u.searchParams.get('state')!, u.searchParams.get('code_challenge')!]) t.false(stored.includes(secret));
  t.deepEqual(Object.keys(JSON.parse(stored)).sort(), ['nonce', 'pre', 'returnTo']);
});

each('user names come from preferred_username or email, never taking over an existing account', async (t, s) => {
  if (!(await s.srv.users.find('bob'))) await s.srv.addUser('bob', 'correct horse battery staple');
  const b = new Browser();
  await signIn(s, b, 'sub-bob');
  const name = ((await me(s, b)).body.user as { username: string }).username;
  t.regex(name, /^bob-\d$/);
  t.true(await s.srv.hasher.verify((await s.srv.users.find('bob'))!.passwordHash, 'correct horse battery staple'));
  const c = new Browser();
  await signIn(s, c, 'sub-mail');
  t.is(((await me(s, c)).body.user as { username: string }).username, 'carol.smith@example.org');
});

/** Signs out at the provider (RP-independent logout page), which sends back-channel logouts. */
async function providerSignOut(s: Setup, b: Browser): Promise<void> {
  const page = await b.get(`${s.op.issuer}/session/end`);
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(page.body)?.[1];
  if (!xsrf) throw new Error(`no logout form: ${page.status} ${page.body.slice(0, 200)}`);
  const done = await b.post(`${s.op.issuer}/session/end/confirm`, { xsrf, logout: 'yes' });
  if (done.status !== 303) throw new Error(`logout answered ${done.status}`);
}

const postLogout = (s: Setup, token: string) =>
  fetch(`${s.origin}/auth/oidc/backchannel-logout`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ logout_token: token }).toString(),
  });

each('a sign-out at the provider ends, on the next request, the session of that provider session only', async (t, s) => {
  const a = new Browser();
  const b = new Browser();
  await signIn(s, a, 'sub-dave');
  await signIn(s, b, 'sub-dave');
  t.is((await me(s, a)).status, 200);
  t.is((await me(s, b)).status, 200);
  await providerSignOut(s, a);
  t.is((await me(s, a)).status, 401);
  t.is((await me(s, b)).status, 200, 'another provider session of the same user stays');
  t.true(s.srv.logs.events('session.revoked').some((e) => e.reason === 'oidc_backchannel_logout' && e.count === 1));
});

each('a logout token with sub alone ends every session made through the provider, not password ones', async (t, s) => {
  const a = new Browser();
  const b = new Browser();
  await signIn(s, a, 'sub-erin');
  await signIn(s, b, 'sub-erin');
  const name = ((await me(s, a)).body.user as { username: string }).username;
  const password = 'correct horse battery staple';
  await s.srv.users.setPasswordHash(name, await s.srv.hasher.hash(password));
  const login = await fetch(`${s.origin}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: s.origin },
    body: JSON.stringify({ username: name, password }),
  });
  t.is(login.status, 200);
  const pw = /^sid=([^;]+)/.exec(login.headers.getSetCookie().find((c) => c.startsWith('sid=')) ?? '')?.[1];
  const res = await postLogout(s, await s.op.logoutToken({ sub: 'sub-erin' }));
  t.is(res.status, 200);
  t.is((await me(s, a)).status, 401);
  t.is((await me(s, b)).status, 401);
  t.is((await fetch(`${s.origin}/api/me`, { headers: { cookie: `sid=${pw}` } })).status, 200, 'the password session stays');
});

each('a bad logout token is 400 and revokes nothing; a replayed one too', async (t, s) => {
  const b = new Browser();
  await signIn(s, b, 'sub-frank');
  const good = await s.op.logoutToken({ sub: 'sub-frank' });
  const [head, body, sig] = good.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
  const forged = `${head}.${Buffer.from(JSON.stringify({ ...claims, sub: 'sub-dave' })).toString('base64url')}.${sig}`;
  const bad: [string, string][] = [
    ['not a JWT', 'garbage'],
    ['another client', await s.op.logoutToken({ sub: 'sub-frank', clientId: s.op.otherClientId })],
    ['with a nonce', await s.op.logoutToken({ sub: 'sub-frank', nonce: 'n' })],
    ['neither sub nor sid', await s.op.logoutToken({})],
    ['a forged payload', forged],
    ['unsigned', `${Buffer.from('{"alg":"none"}').toString('base64url')}.${body}.`],
  ];
  for (const [why, token] of bad) {
    const res = await postLogout(s, token);
    t.is(res.status, 400, why);
    t.is(((await res.json()) as { error: string }).error, 'invalid_request', why);
    t.is((await me(s, b)).status, 200, why);
  }
  const empty = await fetch(`${s.origin}/auth/oidc/backchannel-logout`, { method: 'POST' });
  t.is(empty.status, 400);

  t.is((await postLogout(s, good)).status, 200);
  t.is((await me(s, b)).status, 401);
  const c = new Browser();
  await signIn(s, c, 'sub-frank');
  t.is((await postLogout(s, good)).status, 400, 'the same jti again');
  t.is((await me(s, c)).status, 200);
});

test.serial('a back-channel logout is seen at once by a second node with SESSION_CACHE=on (redis)', async (t) => {
  const s = t.context.redisSetup;
  const node2 = await startServer({ redis: t.context.redis, keyPrefix: s.srv.keyPrefix, env: { SESSION_CACHE: 'on' } });
  t.teardown(() => node2.close());
  const b = new Browser();
  await signIn(s, b, 'sub-dave');
  const cookie = `sid=${b.jar(s.origin).get('sid')}`;
  // Twice: the second answer comes from node 2's cache.
  for (let i = 0; i < 2; i++) t.is((await fetch(`${node2.url}/api/me`, { headers: { cookie } })).status, 200);
  t.is((await postLogout(s, await s.op.logoutToken({ sub: 'sub-dave' }))).status, 200);
  t.is((await fetch(`${node2.url}/api/me`, { headers: { cookie } })).status, 401);
});

test('a provider that is down at the callback: a notice, no session, never a 500', async (t) => {
  const s = await setup();
  t.teardown(() => s.srv.close());
  const b = new Browser();
  const callback = await toCallback(s, b, 'sub-alice');
  await s.op.close();
  const r = await b.get(callback);
  t.is(r.status, 303);
  t.is(r.location, `${s.origin}/login?notice=oidc_failed`);
  t.false(hasSession(r));
  // The login page still answers, and the start of a sign-in still redirects (discovery is cached).
  const page = await b.get(`${s.origin}/login?notice=oidc_failed`);
  t.is(page.status, 200);
  t.true(page.body.includes('Sign-in with your provider did not succeed.'));
  t.is((await b.get(`${s.origin}/auth/oidc/login`)).status, 302);
});

test('without OIDC_ISSUER the OIDC paths are 404 and the login page has no button', async (t) => {
  const url = t.context.plain.url;
  t.is((await fetch(`${url}/auth/oidc/login`, { redirect: 'manual' })).status, 404);
  t.is((await fetch(`${url}/auth/oidc/callback?state=x&code=y`, { redirect: 'manual' })).status, 404);
  t.false((await (await fetch(`${url}/login`)).text()).includes('/auth/oidc/login'));
});

test('OIDC_ISSUER without PUBLIC_ORIGIN (or without a client) is a configuration error naming it', (t) => {
  const oidc = { OIDC_ISSUER: 'https://idp.example.org', OIDC_CLIENT_ID: 'app', OIDC_CLIENT_SECRET: 'secret' };
  const e1 = t.throws(() => loadConfig(oidc), { instanceOf: ConfigError });
  t.is(e1?.variable, 'PUBLIC_ORIGIN');
  const e2 = t.throws(() => loadConfig({ ...oidc, OIDC_CLIENT_ID: '', PUBLIC_ORIGIN: 'https://app.example.org' }), { instanceOf: ConfigError });
  t.is(e2?.variable, 'OIDC_CLIENT_ID');
  const e3 = t.throws(() => loadConfig({ ...oidc, OIDC_ISSUER: 'http://idp.example.org', PUBLIC_ORIGIN: 'https://app.example.org' }), { instanceOf: ConfigError });
  t.is(e3?.variable, 'OIDC_ISSUER');
  const c = loadConfig({ ...oidc, PUBLIC_ORIGIN: 'https://app.example.org' });
  t.is(c.oidc?.redirectUri, 'https://app.example.org/auth/oidc/callback');
  t.is(c.oidc?.scopes, 'openid email profile');
});

test('an unreachable issuer stops the start with exit 1 and a message', async (t) => {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: '0',
      OIDC_ISSUER: `http://127.0.0.1:${port}`,
      OIDC_CLIENT_ID: 'app',
      OIDC_CLIENT_SECRET: 'secret',
      PUBLIC_ORIGIN: 'http://127.0.0.1:3000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d;
  });
  const [code] = await once(child, 'exit');
  t.is(code, 1);
  t.regex(err, new RegExp(`^Cannot start: OpenID Connect discovery at http://127\\.0\\.0\\.1:${port} failed`, 'm'));
  t.false(err.includes('secret'));
});
