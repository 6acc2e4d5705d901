/**
 * Back-channel logout when things go wrong: a token whose `sid` and `sub` disagree, a
 * Redis at `maxmemory` (noeviction) when the provider calls, and a Redis that refuses
 * the `sid` index entry in the middle of a sign-in. Against the real provider of
 * test/helpers/oidc-provider.ts and real redis-server processes.
 */
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import type { SessionStore } from '../../src/sessions/types.js';
import { fill, free, startSmallRedis } from '../faults/fill.js';
import { Browser, type OidcSetup, hasSession, isCallback, me, oidcSetup, postLogout, providerSid, signIn } from '../helpers/oidc-browser.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';

const test = anyTest as TestFn<{ redis: RedisProcess; memory: OidcSetup; redisSetup: OidcSetup }>;

const accounts = (s: OidcSetup) => {
  for (const who of ['alice', 'bob', 'carol', 'dave']) s.op.accounts.set(`sub-${who}`, { preferred_username: who });
  return s;
};

test.before(async (t) => {
  const redis = await startRedis();
  const [memory, redisSetup] = await Promise.all([oidcSetup(), oidcSetup({ redis })]);
  t.context = { redis, memory: accounts(memory), redisSetup: accounts(redisSetup) };
});

test.after.always(async (t) => {
  await t.context.memory?.close();
  await t.context.redisSetup?.close();
  await t.context.redis?.stop();
});

const each = (name: string, fn: (t: ExecutionContext<unknown>, s: OidcSetup) => Promise<void>) => {
  test.serial(`${name} (embedded)`, (t) => fn(t, t.context.memory));
  test.serial(`${name} (redis)`, (t) => fn(t, t.context.redisSetup));
};

each('a logout token with sid and sub revokes only when the sessions of that sid belong to the user linked to sub', async (t, s) => {
  const alice = new Browser();
  const bob = new Browser();
  await signIn(s, alice, 'sub-alice');
  await signIn(s, bob, 'sub-bob');
  const sid = await providerSid(s, alice);

  for (const [why, sub] of [['another linked user', 'sub-bob'], ['an identity linked to nobody', 'sub-nobody']] as const) {
    const res = await postLogout(s, await s.op.logoutToken({ sid, sub }));
    t.is(res.status, 400, why);
    t.is(((await res.json()) as { error: string }).error, 'invalid_request', why);
    t.is((await me(s, alice)).status, 200, `${why}: alice's session stays`);
    t.is((await me(s, bob)).status, 200, `${why}: bob's session stays`);
  }
  t.true(s.srv.logs.events('oidc.logout_refused').some((e) => e.reason === 'sid_sub_mismatch'));

  const res = await postLogout(s, await s.op.logoutToken({ sid, sub: 'sub-alice' }));
  t.is(res.status, 200);
  t.is((await me(s, alice)).status, 401, 'both agree: revoked');
  t.is((await me(s, bob)).status, 200);
});

each('a logout token with sid and sub for a provider session with no live session here is 200 and revokes nothing', async (t, s) => {
  const carol = new Browser();
  await signIn(s, carol, 'sub-carol');
  const sid = await providerSid(s, carol);
  t.is((await postLogout(s, await s.op.logoutToken({ sid, sub: 'sub-carol' }))).status, 200);
  t.is((await me(s, carol)).status, 401);
  // The same provider session again (another jti): nothing left to end, nothing refused.
  t.is((await postLogout(s, await s.op.logoutToken({ sid, sub: 'sub-carol' }))).status, 200);
});

/** A store that runs `during` once, in the middle of the next revocation by handle. */
function revokeHook(inner: SessionStore, hook: { during?: () => Promise<void> }): SessionStore {
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'revokeHandle') {
        return async (handle: string) => {
          const during = hook.during;
          hook.during = undefined;
          if (during) await during();
          return target.revokeHandle(handle);
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

for (const kind of ['embedded', 'redis'] as const) {
  test(`a session signed in under a provider session while its logout runs stays in that session's index (${kind})`, async (t) => {
    const hook: { during?: () => Promise<void> } = {};
    const s = accounts(await oidcSetup({ redis: kind === 'redis' ? t.context.redis : undefined, wrapStore: (inner) => revokeHook(inner, hook) }));
    t.teardown(() => s.close());
    const first = new Browser();
    await signIn(s, first, 'sub-alice');
    const sid = await providerSid(s, first);
    // The same provider session (its cookies), another browser profile here.
    const late = new Browser();
    late.jars.set(new URL(s.op.issuer).origin, new Map(first.jar(s.op.issuer)));
    hook.during = async () => {
      await signIn(s, late, 'sub-alice');
    };
    t.is((await postLogout(s, await s.op.logoutToken({ sid }))).status, 200);
    t.is((await me(s, first)).status, 401);
    t.is(await providerSid(s, late), sid, 'signed in under the same provider session');
    t.is((await me(s, late)).status, 200, 'signed in after the index was read');
    // The provider sends the logout again: that session is found by its sid.
    t.is((await postLogout(s, await s.op.logoutToken({ sid }))).status, 200);
    t.is((await me(s, late)).status, 401);
  });
}

test('Redis full: a back-channel logout by sub and by sid still revokes, and the used token stays refused', async (t) => {
  const redis = await startSmallRedis();
  t.teardown(() => redis.stop());
  const s = accounts(await oidcSetup({ redis }));
  t.teardown(() => s.close());
  const admin = redis.client();
  const bySub = [new Browser(), new Browser()];
  for (const b of bySub) await signIn(s, b, 'sub-alice');
  const bySid = new Browser();
  await signIn(s, bySid, 'sub-bob');
  const other = new Browser();
  await signIn(s, other, 'sub-bob');
  const sid = await providerSid(s, bySid);
  const subToken = await s.op.logoutToken({ sub: 'sub-alice' });
  await fill(admin);

  const r1 = await postLogout(s, subToken);
  t.is(r1.status, 200, await r1.text());
  for (const b of bySub) t.is((await me(s, b)).status, 401, 'every session of the sub is dead');

  const r2 = await postLogout(s, await s.op.logoutToken({ sid }));
  t.is(r2.status, 200, await r2.text());
  t.is((await me(s, bySid)).status, 401, 'the session of that provider session is dead');
  t.is((await me(s, other)).status, 200, 'another provider session of the same user stays');

  t.is((await postLogout(s, subToken)).status, 400, 'the used token is refused while Redis is full');
  await free(admin);
  t.is((await postLogout(s, subToken)).status, 400, 'and afterwards');
});

test('Redis full between the new session and its sid index entry: 503 without Set-Cookie, and no session is left behind', async (t) => {
  const redis = await startSmallRedis();
  t.teardown(() => redis.stop());
  const admin = redis.client();
  let fillAfterCreate = false;
  // The moment the issue names: the session exists, its sid index entry is not yet written.
  const wrapStore = (inner: SessionStore): SessionStore =>
    new Proxy(inner, {
      get(target, prop) {
        if (prop === 'create') {
          return async (...args: Parameters<SessionStore['create']>) => {
            const issued = await target.create(...args);
            if (fillAfterCreate) {
              fillAfterCreate = false;
              await fill(admin);
            }
            return issued;
          };
        }
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  const s = accounts(await oidcSetup({ redis, wrapStore }));
  t.teardown(() => s.close());

  const first = new Browser();
  await signIn(s, first, 'sub-dave');
  const user = (await s.srv.users.find('dave'))!;
  t.is((await s.srv.store.list(user.tag)).length, 1);

  const b = new Browser();
  s.op.signInAs('sub-dave');
  const start = await b.get(`${s.origin}/auth/oidc/login`);
  const callback = await b.followUntil(start.location!, isCallback(s));
  fillAfterCreate = true;
  const r = await b.get(callback);
  t.is(r.status, 503);
  t.false(hasSession(r), `no session cookie on the 503: ${r.setCookies.join(' | ')}`);
  t.is((await s.srv.store.list(user.tag)).length, 1, 'the session made for this callback was rolled back');

  await free(admin);
  const again = new Browser();
  const ok = await signIn(s, again, 'sub-dave');
  t.true(hasSession(ok));
  t.is((await postLogout(s, await s.op.logoutToken({ sid: await providerSid(s, again) }))).status, 200);
  t.is((await me(s, again)).status, 401, 'a session that was issued can be ended by its sid');
  t.is((await me(s, first)).status, 200);
});
