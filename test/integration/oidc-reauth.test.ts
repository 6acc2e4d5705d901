/**
 * Re-authentication through the provider: an account made by an OpenID Connect sign-in
 * has a password nobody knows, so it renews the third clock (authenticatedAt) at the
 * provider instead: `prompt=login`, `max_age=0`, and an `auth_time` no older than the
 * request. Only the identity linked to the session's user can renew it. Over the JSON
 * API's `GET /auth/oidc/reauthenticate` and from the pages' "confirm" step, against the
 * real provider of test/helpers/oidc-provider.ts, on both stores. The app's clock is a
 * ManualClock: moving it past SESSION_REAUTH_WINDOW (10 minutes) makes a session stale
 * for the third clock without waiting; the provider keeps real time.
 */
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { ManualClock } from '../../src/clock.js';
import { Browser, type OidcSetup, isCallback, me, oidcSetup, signIn } from '../helpers/oidc-browser.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';

interface World extends OidcSetup {
  clock: ManualClock;
}
const test = anyTest as TestFn<{ redis: RedisProcess; memory: World; redisSetup: World }>;
const PASSWORD = 'correct horse battery staple';
const ELEVEN_MINUTES = 11 * 60_000;

async function world(redis?: RedisProcess): Promise<World> {
  const clock = new ManualClock(Date.now());
  const s = await oidcSetup({ redis, clock });
  for (const who of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'gina']) s.op.accounts.set(`sub-${who}`, { preferred_username: who });
  s.op.accounts.set('sub-stranger', { preferred_username: 'stranger' });
  return { ...s, clock };
}

test.before(async (t) => {
  const redis = await startRedis();
  const [memory, redisSetup] = await Promise.all([world(), world(redis)]);
  t.context = { redis, memory, redisSetup };
});

test.after.always(async (t) => {
  await t.context.memory?.close();
  await t.context.redisSetup?.close();
  await t.context.redis?.stop();
});

const each = (name: string, fn: (t: ExecutionContext<unknown>, w: World) => Promise<void>) => {
  test.serial(`${name} (embedded)`, (t) => fn(t, t.context.memory));
  test.serial(`${name} (redis)`, (t) => fn(t, t.context.redisSetup));
};

const sid = (w: World, b: Browser) => `sid=${b.jar(w.origin).get('sid') ?? ''}`;

async function sessions(w: World, b: Browser) {
  const res = await fetch(`${w.origin}/auth/sessions`, { headers: { cookie: sid(w, b) } });
  const body = (await res.json()) as { sessions: { handle: string; current: boolean; authenticatedAt: string }[] };
  return body.sessions;
}

const current = async (w: World, b: Browser) => (await sessions(w, b)).find((s) => s.current)!;

const revoke = async (w: World, b: Browser, handle: string) =>
  (await fetch(`${w.origin}/auth/sessions/${handle}`, { method: 'DELETE', headers: { cookie: sid(w, b), origin: w.origin } })).status;

/**
 * GET /auth/oidc/reauthenticate, the provider (signing in `as`), and the callback.
 * Another account than the browser's provider session starts a new provider session
 * (as in another browser profile): switching accounts within one would first log the
 * old one out at the provider, whose back-channel logout ends our session anyway.
 */
async function reauthenticate(w: World, b: Browser, as: string, o: { returnTo?: string; authTime?: number; freshProviderSession?: boolean } = {}) {
  if (o.freshProviderSession) b.jars.delete(w.op.issuer);
  const start = await b.get(`${w.origin}/auth/oidc/reauthenticate${o.returnTo ? `?returnTo=${encodeURIComponent(o.returnTo)}` : ''}`);
  if (start.status !== 302) throw new Error(`reauthenticate answered ${start.status}: ${start.body}`);
  w.op.signInAs(as, { authTime: o.authTime });
  const callback = await b.followUntil(start.location!, isCallback(w));
  return { start, callback, done: await b.get(callback) };
}

/** Two sessions of one user signed in through the provider, the third clock run out. */
async function twoSessions(w: World, sub: string) {
  const [one, two] = [new Browser(), new Browser()];
  await signIn(w, one, sub);
  await signIn(w, two, sub);
  const other = (await current(w, two)).handle;
  w.clock.advance(ELEVEN_MINUTES);
  return { one, two, other };
}

each('GET /auth/oidc/reauthenticate asks the provider for a fresh login (prompt=login, max_age=0); the callback renews authenticatedAt and rotates the ID', async (t, w) => {
  const { one, two, other } = await twoSessions(w, 'sub-alice');
  t.is(await revoke(w, one, other), 403, 'the third clock ran out');
  const before = await current(w, one);
  const cookie = one.jar(w.origin).get('sid');

  const { start, done } = await reauthenticate(w, one, 'sub-alice', { returnTo: '/account/sessions' });
  const u = new URL(start.location!);
  t.is(u.origin, w.op.issuer);
  t.is(u.searchParams.get('prompt'), 'login');
  t.is(u.searchParams.get('max_age'), '0');
  t.is(u.searchParams.get('code_challenge_method'), 'S256');
  t.is(done.status, 303);
  t.is(done.location, `${w.origin}/account/sessions`);
  t.not(one.jar(w.origin).get('sid'), cookie, 'a new ID, as a password re-authentication gives');

  const after = await current(w, one);
  t.is(after.handle, before.handle, 'the same session');
  t.is(Date.parse(after.authenticatedAt), w.clock.now(), 'authenticatedAt renewed');
  t.true(w.srv.logs.events('session.reauthenticated').some((e) => e.handle === before.handle));
  t.is(await revoke(w, one, other), 204, 'ending another session is allowed again');
  t.is((await me(w, two)).status, 401);
});

each('another account at the provider does not renew the session', async (t, w) => {
  const { one, other } = await twoSessions(w, 'sub-bob');
  await signIn(w, new Browser(), 'sub-carol');
  const before = await current(w, one);
  const cookie = one.jar(w.origin).get('sid');
  const { done } = await reauthenticate(w, one, 'sub-carol', { returnTo: '/account/sessions', freshProviderSession: true });
  t.is(done.status, 303);
  t.is(done.location, `${w.origin}/account/confirm?notice=oidc_other_account&returnTo=%2Faccount%2Fsessions`);
  t.false(done.setCookies.some((c) => c.startsWith('sid=')), 'no new cookie');
  t.is(one.jar(w.origin).get('sid'), cookie);
  t.is((await current(w, one)).authenticatedAt, before.authenticatedAt, 'authenticatedAt unchanged');
  t.is(((await me(w, one)).body.user as { username: string }).username, 'bob', 'still bob, not carol');
  t.is(await revoke(w, one, other), 403);
  t.true(w.srv.logs.events('oidc.failed').some((e) => e.reason === 'other_identity'));
});

each('an identity linked to no account does not renew the session, and no account is made for it', async (t, w) => {
  const { one, other } = await twoSessions(w, 'sub-dave');
  const { done } = await reauthenticate(w, one, 'sub-stranger', { freshProviderSession: true });
  t.is(done.location, `${w.origin}/account/confirm?notice=oidc_other_account`);
  t.false(done.setCookies.some((c) => c.startsWith('sid=')));
  t.is(await w.srv.users.find('stranger'), null);
  t.is(await revoke(w, one, other), 403);
});

each('an auth_time older than the request (a provider that did not ask again) does not renew the session', async (t, w) => {
  const { one, other } = await twoSessions(w, 'sub-erin');
  const { done } = await reauthenticate(w, one, 'sub-erin', { authTime: Math.floor(Date.now() / 1000) - 3600 });
  t.is(done.location, `${w.origin}/account/confirm?notice=oidc_not_fresh`);
  t.false(done.setCookies.some((c) => c.startsWith('sid=')));
  t.is(await revoke(w, one, other), 403);
});

each('the re-authentication renews only the session that asked for it, once', async (t, w) => {
  const { one, two, other } = await twoSessions(w, 'sub-frank');
  const start = await one.get(`${w.origin}/auth/oidc/reauthenticate`);
  w.op.signInAs('sub-frank');
  const callback = await one.followUntil(start.location!, isCallback(w));
  // The browser now presents another session of the same user.
  const own = one.jar(w.origin).get('sid')!;
  one.jar(w.origin).set('sid', two.jar(w.origin).get('sid')!);
  const swapped = await one.get(callback);
  t.is(swapped.location, `${w.origin}/account/confirm?notice=oidc_expired`);
  t.false(swapped.setCookies.some((c) => c.startsWith('sid=')));
  one.jar(w.origin).set('sid', own);
  const replayed = await one.get(callback);
  t.is(replayed.location, `${w.origin}/account/confirm?notice=oidc_expired`, 'the state was used');
  t.is(await revoke(w, one, other), 403);
  // Read as a sign-in (the state without its prefix, as a node that knows only sign-ins
  // reads it), a re-authentication's record is not found, and stays for the real callback.
  const again = await one.get(`${w.origin}/auth/oidc/reauthenticate`);
  w.op.signInAs('sub-frank');
  const real = new URL(await one.followUntil(again.location!, isCallback(w)));
  const state = real.searchParams.get('state')!;
  t.regex(state, /^r\./);
  const asSignIn = new URL(real);
  asSignIn.searchParams.set('state', state.slice(2));
  const refused = await one.get(asSignIn.href);
  t.is(refused.location, `${w.origin}/login?notice=oidc_expired`);
  t.false(refused.setCookies.some((c) => c.startsWith('sid=')));
  t.is((await one.get(real.href)).location, `${w.origin}/`);
  t.is(await revoke(w, one, other), 204);
});

each('without a session GET /auth/oidc/reauthenticate is 401 login_required; a long returnTo is dropped', async (t, w) => {
  const res = await fetch(`${w.origin}/auth/oidc/reauthenticate`, { redirect: 'manual' });
  t.is(res.status, 401);
  t.is(((await res.json()) as { error: string }).error, 'login_required');
  const { one } = await twoSessions(w, 'sub-gina');
  const { done } = await reauthenticate(w, one, 'sub-gina', { returnTo: `/${'x'.repeat(600)}` });
  t.is(done.location, `${w.origin}/`);
});

const csrfOf = (body: string) => /name="_csrf" value="([^"]+)"/.exec(body)?.[1] ?? '';

each('pages: "Confirm with <provider>" on the confirm step renews the session, then the pending sign-out is one click', async (t, w) => {
  const { one, two } = await twoSessions(w, 'sub-alice');
  const devices = await one.get(`${w.origin}/account/sessions`);
  const asked = await one.post(`${w.origin}/account/sessions/revoke-others`, { _csrf: csrfOf(devices.body) });
  t.is(asked.location, `${w.origin}/account/confirm?action=revoke-others`);
  const confirm = await one.get(asked.location!);
  const link = /<a class="button" href="([^"]+)">Confirm with Test IdP<\/a>/.exec(confirm.body)?.[1];
  t.is(link, `/auth/oidc/reauthenticate?returnTo=${encodeURIComponent('/account/confirm?action=revoke-others')}`);

  const start = await one.get(`${w.origin}${link!.replaceAll('&amp;', '&')}`);
  w.op.signInAs('sub-alice');
  const done = await one.get(await one.followUntil(start.location!, isCallback(w)));
  t.is(done.location, `${w.origin}/account/confirm?action=revoke-others`);
  const next = await one.get(done.location!);
  t.is(next.status, 200);
  t.regex(next.body, /<form method="post" action="\/account\/sessions\/revoke-others"/);
  t.notRegex(next.body, /type="password"/, 'no password asked any more');
  const signedOut = await one.post(`${w.origin}/account/sessions/revoke-others`, { _csrf: csrfOf(next.body) });
  t.is(signedOut.location, `${w.origin}/account/sessions?done=revoked_others`);
  t.is((await me(w, two)).status, 401);
  t.is((await me(w, one)).status, 200);
});

each('pages: a failed confirmation at the provider says why on the confirm step', async (t, w) => {
  const { one } = await twoSessions(w, 'sub-bob');
  const { done } = await reauthenticate(w, one, 'sub-carol', { returnTo: '/account/confirm?action=revoke-others', freshProviderSession: true });
  const page = await one.get(done.location!);
  t.is(page.status, 200);
  t.regex(page.body, /That account at Test IdP is not the one linked to yours/);
  t.regex(page.body, /Confirm with Test IdP/, 'and offers it again');
});

each('pages: a password session is not offered the provider', async (t, w) => {
  const user = await w.srv.addUser(`pw-${w.srv.redisClient ? 'r' : 'm'}`, PASSWORD);
  const b = new Browser();
  const form = await b.get(`${w.origin}/login`);
  const login = await b.post(`${w.origin}/login`, { _csrf: csrfOf(form.body), username: user.username, password: PASSWORD, remember: 'on' });
  t.is(login.status, 303);
  w.clock.advance(ELEVEN_MINUTES);
  const page = await b.get(`${w.origin}/account/confirm?action=revoke-others`);
  t.is(page.status, 200);
  t.notRegex(page.body, /Confirm with/);
  t.regex(page.body, /type="password"/);
});

each('odd input on the re-authentication paths is a 4xx or a notice, never a 500', async (t, w) => {
  const { one } = await twoSessions(w, 'sub-dave');
  for (const path of [
    '/auth/oidc/reauthenticate?returnTo=%2F%2Fevil.example.org',
    '/auth/oidc/reauthenticate?returnTo=a&returnTo=b',
    '/auth/oidc/reauthenticate?returnTo=%E0%A4%A',
    '/account/confirm?notice=__proto__&action=revoke-others',
    '/account/confirm?notice=oidc_other_account&notice=oidc_failed',
    '/account/confirm?notice=oidc_not_fresh&returnTo=%2F%2Fevil.example.org',
  ]) {
    const r = await one.get(`${w.origin}${path}`);
    t.true(r.status < 500, `${path}: ${r.status}`);
    if (r.location) t.true(r.location.startsWith(w.op.issuer) || r.location.startsWith(w.origin), `${path} → ${r.location}`);
  }
  for (const state of ['r.', 'r.x', `r.${'A'.repeat(43)}`, `r.${'A'.repeat(300)}`]) {
    const r = await one.get(`${w.origin}/auth/oidc/callback?state=${encodeURIComponent(state)}&code=c`);
    t.is(r.status, 303, state);
    t.true(r.location!.startsWith(`${w.origin}/account/confirm?notice=oidc_expired`) || r.location!.startsWith(`${w.origin}/login?notice=oidc_expired`), `${state} → ${r.location}`);
    t.false(r.setCookies.some((c) => c.startsWith('sid=')));
  }
});
