/**
 * THE session store contract (docs/design.md), registered once per implementation
 * (memory-store.test.ts, redis-store.test.ts). Time moves only through a ManualClock.
 */
import test, { type ExecutionContext } from 'ava';
import { ManualClock } from '../../src/clock.js';
import { AppError } from '../../src/errors.js';
import { newSecret, newTag, parseHandle, parseToken } from '../../src/sessions/token.js';
import type { IssuedSession, SessionPolicy, SessionStore } from '../../src/sessions/types.js';

export interface StoreUnderTest {
  store: SessionStore;
  /** A second handle on the same backend (another app node); the store itself for memory. */
  peer: SessionStore;
  close(): Promise<void>;
}
export type StoreFactory = (opts: { clock: ManualClock; policy: Partial<SessionPolicy> }) => Promise<StoreUnderTest>;

export const POLICY: SessionPolicy = {
  idleTimeoutMs: 60_000,
  absoluteLifetimeMs: 3_600_000,
  rotationGraceMs: 10_000,
  touchIntervalMs: 10_000,
  maxPerUser: 0,
  refreshEnabled: true,
};

export function sessionStoreContract(label: string, factory: StoreFactory): void {
  const setup = async (t: ExecutionContext, policy: Partial<SessionPolicy> = {}) => {
    const clock = new ManualClock();
    const sut = await factory({ clock, policy: { ...POLICY, ...policy } });
    t.teardown(() => sut.close());
    const tag = newTag();
    const login = async (extra: { remember?: boolean; data?: Record<string, unknown>; authMethod?: string } = {}) => {
      const issued = await sut.store.create({ userId: 'u1', tag, ip: '203.0.113.7', userAgent: 'Firefox on Linux', ...extra });
      if (!issued) throw new Error('create returned null');
      return issued;
    };
    return { ...sut, clock, tag, login };
  };
  const it = (title: string, fn: (t: ExecutionContext) => Promise<void>) => test(`[${label}] ${title}`, fn);

  it('how the user signed in is listed, and kept through a rotation; a password login has none', async (t) => {
    const { store, peer, login, tag } = await setup(t);
    const method = 'oidc:https://idp.example.org/realms/a';
    const pw = await login();
    const oidc = await login({ authMethod: method });
    t.is(oidc.session.authMethod, method);
    t.false('authMethod' in pw.session);
    const rotated = await store.refresh(oidc.token);
    t.true(rotated.ok);
    if (rotated.ok) t.is(rotated.session.authMethod, method);
    const listed = await peer.list(tag);
    t.is(listed.find((s) => s.handle === oidc.session.handle)?.authMethod, method);
    t.is(listed.find((s) => s.handle === pw.session.handle)?.authMethod, undefined);
    t.is((await peer.get(oidc.session.handle))?.authMethod, method);
  });

  it('every stored string comes back from validate exactly as written: quotes, backslashes, slashes, control escapes, non-ASCII', async (t) => {
    const { store, tag } = await setup(t);
    const awkward = 'é "q" \\ / \u2028 \t 𝄞 false null [1]';
    const issued = await store.create({
      userId: `u-${awkward}`, tag, ip: '2001:db8::1', userAgent: `UA ${awkward}`, data: { note: awkward, nested: { list: [1, 'two', null] } },
    });
    if (!issued) throw new Error('create returned null');
    const v = await store.validate(issued.token);
    t.is(v.state, 'active');
    if (v.state !== 'active') return;
    t.deepEqual(v.session, issued.session);
    t.is(v.session.userId, `u-${awkward}`);
    t.is(v.session.userAgent, `UA ${awkward}`);
    t.deepEqual(v.session.data, { note: awkward, nested: { list: [1, 'two', null] } });
  });

  it('a login issues a fresh <tag>.<secret> ID whose session is active at once', async (t) => {
    const { store, login, tag, clock } = await setup(t);
    const a = await login();
    const b = await login();
    t.regex(a.token, /^[A-Za-z0-9]{12}\.[A-Za-z0-9_-]{43}$/);
    t.not(a.token, b.token);
    t.not(a.session.handle, b.session.handle);
    t.deepEqual(parseHandle(a.session.handle)?.tag, tag);
    t.like(a.session, {
      userId: 'u1', tag, createdAt: clock.now(), lastActiveAt: clock.now(), authAt: clock.now(),
      idleExpiresAt: clock.now() + POLICY.idleTimeoutMs, absoluteExpiresAt: clock.now() + POLICY.absoluteLifetimeMs,
      refreshable: true, ip: '203.0.113.7', userAgent: 'Firefox on Linux',
    });
    const v = await store.validate(a.token);
    t.is(v.state, 'active');
    if (v.state !== 'active') return;
    t.false(v.viaGrace);
    t.deepEqual(v.session, a.session);
    t.deepEqual(v.ref, { tag, idHash: parseToken(a.token)!.idHash });
    t.false(JSON.stringify(v).includes(a.token.slice(13)), 'the secret is never echoed');
  });

  it('malformed, unknown and absent IDs are login_required/unknown and change nothing', async (t) => {
    const { store, login, tag } = await setup(t);
    await login();
    const forged = `${tag}.${'A'.repeat(43)}`;
    for (const bad of [undefined, '', '*', '{x}', 'a'.repeat(5000), `${tag}.short`, forged]) {
      const v = await store.validate(bad);
      t.like(v, { state: 'login_required', reason: 'unknown' });
      t.like(await store.refresh(bad), { ok: false, reason: 'unknown' });
      t.false(await store.revoke(bad));
    }
    t.is((await store.list(tag)).length, 1);
    t.deepEqual(await store.list('not a tag'), []);
    t.is(await store.get('nope'), null);
  });

  it('activity slides the idle window only once the touch interval has passed', async (t) => {
    const { store, login, clock } = await setup(t);
    const a = await login();
    const t0 = clock.now();
    clock.advance(9_999);
    const early = await store.validate(a.token);
    t.like(early, { state: 'active', session: { lastActiveAt: t0, idleExpiresAt: t0 + 60_000 } });
    clock.advance(1);
    const slid = await store.validate(a.token);
    t.like(slid, { state: 'active', session: { lastActiveAt: t0 + 10_000, idleExpiresAt: t0 + 70_000 } });
    // Used every 50 s, a 60 s idle window keeps the session active for as long as we like.
    for (let i = 0; i < 5; i++) {
      clock.advance(50_000);
      t.is((await store.validate(a.token)).state, 'active');
    }
  });

  it('with a touch interval of 0 every request slides', async (t) => {
    const { store, login, clock } = await setup(t, { touchIntervalMs: 0 });
    const a = await login();
    clock.advance(1);
    t.like(await store.validate(a.token), { session: { lastActiveAt: clock.now() } });
  });

  it('a refreshable session whose idle window lapsed is stale, and validating it does not slide', async (t) => {
    const { store, login, clock } = await setup(t);
    const a = await login();
    clock.advance(60_000);
    const v1 = await store.validate(a.token);
    t.like(v1, { state: 'stale', session: { lastActiveAt: a.session.createdAt } });
    clock.advance(600_000);
    t.like(await store.validate(a.token), { state: 'stale', session: { lastActiveAt: a.session.createdAt } });
    t.is((await store.list(a.session.tag)).length, 1, 'stale sessions are listed');
  });

  it('refreshing a stale session rotates the ID, opens a new idle window and keeps the absolute deadline', async (t) => {
    const { store, login, clock } = await setup(t);
    const a = await login();
    clock.advance(120_000);
    const r = await store.refresh(a.token);
    t.true(r.ok);
    if (!r.ok) return;
    t.not(r.token, a.token);
    t.like(r.session, {
      handle: a.session.handle, lastActiveAt: clock.now(), idleExpiresAt: clock.now() + 60_000,
      absoluteExpiresAt: a.session.absoluteExpiresAt, createdAt: a.session.createdAt,
    });
    t.like(await store.validate(r.token), { state: 'active', viaGrace: false, session: { handle: a.session.handle } });
    t.is((await store.list(a.session.tag)).length, 1);
  });

  it('an active session may be refreshed too (it rotates)', async (t) => {
    const { store, login, clock } = await setup(t);
    const a = await login();
    clock.advance(1_000);
    const r = await store.refresh(a.token);
    t.true(r.ok);
    if (r.ok) t.like(await store.validate(r.token), { state: 'active' });
  });

  it('after the absolute lifetime both validate and refresh say expired, and the record is gone', async (t) => {
    const { store, login, clock } = await setup(t);
    const a = await login();
    const b = await login();
    // Activity never extends the absolute lifetime.
    for (let i = 0; i < 71; i++) {
      clock.advance(50_000);
      t.is((await store.validate(a.token)).state, 'active');
    }
    clock.advance(50_000);
    t.true(clock.now() >= a.session.absoluteExpiresAt);
    t.like(await store.validate(a.token), { state: 'login_required', reason: 'expired', handle: a.session.handle });
    t.like(await store.validate(a.token), { state: 'login_required', reason: 'unknown' });
    t.like(await store.refresh(b.token), { ok: false, reason: 'expired', handle: b.session.handle });
    t.like(await store.refresh(b.token), { ok: false, reason: 'unknown' });
    t.deepEqual(await store.list(a.session.tag), []);
  });

  it('a refreshed session still ends at the original absolute deadline', async (t) => {
    const { store, login, clock } = await setup(t);
    const a = await login();
    clock.advance(3_599_000);
    const r = await store.refresh(a.token);
    t.true(r.ok);
    if (!r.ok) return;
    t.is(r.session.idleExpiresAt, a.session.absoluteExpiresAt, 'the idle deadline is capped by the absolute one');
    clock.advance(1_000);
    t.like(await store.validate(r.token), { state: 'login_required', reason: 'expired' });
  });

  it('a remember:false session ends when its idle window lapses (no refresh window)', async (t) => {
    const { store, login, clock } = await setup(t);
    const a = await login({ remember: false });
    const b = await login({ remember: false });
    t.false(a.session.refreshable);
    clock.advance(30_000);
    t.like(await store.validate(a.token), { state: 'active', session: { idleExpiresAt: clock.now() + 60_000 } });
    clock.advance(60_000);
    t.like(await store.validate(a.token), { state: 'login_required', reason: 'idle', handle: a.session.handle });
    t.like(await store.refresh(b.token), { ok: false, reason: 'idle' });
    t.like(await store.validate(a.token), { state: 'login_required', reason: 'unknown' });
  });

  it('with refresh disabled an idle lapse ends every session', async (t) => {
    const { store, login, clock } = await setup(t, { refreshEnabled: false });
    const a = await login();
    t.false(a.session.refreshable);
    clock.advance(60_000);
    t.like(await store.validate(a.token), { state: 'login_required', reason: 'idle' });
  });

  it('the old ID answers as its successor during the grace period without being extended', async (t) => {
    const { store, login, clock } = await setup(t);
    const a = await login();
    clock.advance(61_000);
    const r = await store.refresh(a.token);
    if (!r.ok) return t.fail();
    clock.advance(9_999);
    const v = await store.validate(a.token);
    t.like(v, { state: 'active', viaGrace: true, session: { handle: a.session.handle } });
    if (v.state === 'active') t.deepEqual(v.ref, { tag: a.session.tag, idHash: parseToken(r.token)!.idHash });
    const again = await store.refresh(a.token);
    t.like(again, { ok: true, token: r.token }, 'a late refresh with the old ID gets the same successor');
    clock.advance(1);
    t.like(await store.validate(a.token), { state: 'login_required', reason: 'replay' }, 'grace is counted from the rotation');
  });

  it('20 parallel refreshes of one stale ID rotate it exactly once and all get the same token', async (t) => {
    const { store, peer, login, clock } = await setup(t);
    const a = await login();
    const other = await login();
    clock.advance(61_000);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? peer : store).refresh(a.token)));
    t.true(results.every((r) => r.ok));
    const tokens = new Set(results.map((r) => (r.ok ? r.token : '')));
    t.is(tokens.size, 1);
    const [token] = tokens;
    t.like(await store.validate(token), { state: 'active', viaGrace: false });
    t.like(await store.validate(a.token), { state: 'active', viaGrace: true });
    const handles = (await store.list(a.session.tag)).map((s) => s.handle).sort();
    t.deepEqual(handles, [a.session.handle, other.session.handle].sort(), 'one live successor, no false replay');
  });

  it('an old ID presented after the grace period is a replay that revokes the whole session', async (t) => {
    const { store, login, clock } = await setup(t);
    const a = await login();
    const bystander = await login();
    clock.advance(61_000);
    const b = await store.refresh(a.token);
    if (!b.ok) return t.fail();
    clock.advance(10_000);
    t.like(await store.validate(a.token), { state: 'login_required', reason: 'replay', handle: a.session.handle });
    t.like(await store.validate(b.token), { state: 'login_required' }, 'the successor is revoked too');
    t.like(await store.refresh(b.token), { ok: false });
    t.is((await store.validate(bystander.token)).state, 'stale', 'other sessions of the user are untouched');
    // The revoked session took its replay markers with it (bounded footprint): its old
    // IDs are now simply unknown, and still let nobody in.
    t.like(await store.refresh(a.token), { ok: false, reason: 'unknown' });
  });

  it('a password change through an ID inside its grace acts on the session it leads to', async (t) => {
    const { store, login, clock } = await setup(t);
    const a = await login();
    const other = await login();
    clock.advance(61_000);
    const b = await store.refresh(a.token); // e.g. a single-page app's refresh racing the form
    if (!b.ok) return t.fail();
    const epoch = await store.epoch(a.session.tag);
    const c = await store.refresh(a.token, { grace: false, revokeOthers: true, reauthenticated: true });
    if (!c.ok) return t.fail();
    t.not(c.token, b.token, 'a fresh ID, not the one the racing refresh made');
    t.is(c.session.handle, a.session.handle);
    t.is(c.session.authAt, clock.now());
    t.is(c.revoked, 1);
    t.like(await store.validate(other.token), { state: 'login_required' }, 'the other session is revoked');
    t.like(await store.validate(a.token), { state: 'login_required' }, 'the presented ID is dead at once');
    t.like(await store.validate(b.token), { state: 'login_required' }, 'the racing refresh\'s ID is dead too');
    t.like(await store.validate(c.token), { state: 'active', viaGrace: false });
    t.true((await store.epoch(a.session.tag)) > epoch, 'logins that read the epoch before are refused');
    t.deepEqual((await store.list(a.session.tag)).map((s) => s.handle), [a.session.handle]);
  });

  it('a plain refresh through an ID inside its grace still answers the same successor', async (t) => {
    const { store, login } = await setup(t);
    const a = await login();
    const b = await store.refresh(a.token);
    const again = await store.refresh(a.token);
    t.true(b.ok && again.ok && b.token === again.token);
  });

  it('a password change racing a refresh never leaves another session or an old ID alive', async (t) => {
    const { store, login, clock } = await setup(t);
    for (let trial = 0; trial < 200; trial++) {
      const a = await login();
      const other = await login();
      if (trial % 2) clock.advance(61_000);
      const change = () => store.refresh(a.token, { grace: false, revokeOthers: true, reauthenticated: true });
      // Either may reach the store first.
      const [plain, strong] = trial % 3
        ? await Promise.all([store.refresh(a.token), change()])
        : (await Promise.all([change(), store.refresh(a.token)])).reverse();
      if (!plain || !strong) return t.fail();
      if (!strong.ok) return t.fail(`trial ${trial}: the password change's rotation failed: ${strong.reason}`);
      const alive = async (token: string) => (await store.validate(token)).state !== 'login_required';
      t.false(await alive(other.token), `trial ${trial}: other session`);
      t.false(await alive(a.token), `trial ${trial}: the old ID or its alias`);
      if (plain.ok && plain.token !== strong.token) t.false(await alive(plain.token), `trial ${trial}: the racing refresh's ID`);
      t.true(await alive(strong.token), `trial ${trial}: the changed session`);
      await store.revokeAll(a.session.tag);
    }
  });

  it('revoke-all except one handle keeps that session through later validations', async (t) => {
    const { store, login } = await setup(t);
    const keep = await login();
    const gone = await login();
    t.is(await store.revokeAll(keep.session.tag, { exceptHandle: keep.session.handle }), 1);
    t.like(await store.validate(keep.token), { state: 'active' });
    t.like(await store.validate(gone.token), { state: 'login_required' });
    const later = await login();
    t.like(await store.validate(later.token), { state: 'active' }, 'a login after the revocation is stamped anew');
    t.like(await store.validate(keep.token), { state: 'active' });
  });

  it('a replay through refresh revokes the session as well', async (t) => {
    const { store, login, clock } = await setup(t);
    const a = await login();
    const b = await store.refresh(a.token);
    if (!b.ok) return t.fail();
    clock.advance(10_000);
    t.like(await store.refresh(a.token), { ok: false, reason: 'replay', handle: a.session.handle });
    t.like(await store.validate(b.token), { state: 'login_required' });
  });

  it('within the grace only the immediate predecessor is accepted: A→B→C, then A is a replay', async (t) => {
    const { store, login, clock } = await setup(t);
    const a = await login();
    const b = await store.refresh(a.token);
    clock.advance(1_000);
    if (!b.ok) return t.fail();
    const c = await store.refresh(b.token);
    if (!c.ok) return t.fail();
    clock.advance(1_000);
    t.like(await store.validate(b.token), { state: 'active', viaGrace: true }, 'B is C’s immediate predecessor');
    t.like(await store.validate(a.token), { state: 'login_required', reason: 'replay', handle: a.session.handle });
    t.like(await store.validate(c.token), { state: 'login_required' });
    t.like(await store.validate(b.token), { state: 'login_required' });
  });

  it('a password-change rotation kills the old ID at once, revokes the others and bumps the epoch', async (t) => {
    const { store, login, clock, tag } = await setup(t);
    const a = await login();
    const others = [await login(), await login()];
    const epoch = await store.epoch(tag);
    clock.advance(5_000);
    const r = await store.refresh(a.token, { grace: false, revokeOthers: true, reauthenticated: true });
    if (!r.ok) return t.fail();
    t.is(r.session.authAt, clock.now());
    t.like(await store.validate(a.token), { state: 'login_required', reason: 'unknown' }, 'no grace, no replay alarm');
    for (const o of others) t.like(await store.validate(o.token), { state: 'login_required', reason: 'unknown' });
    t.is((await store.validate(r.token)).state, 'active');
    t.is(await store.epoch(tag), epoch + 1);
    t.deepEqual((await store.list(tag)).map((s) => s.handle), [a.session.handle]);
    t.is(await store.create({ userId: 'u1', tag, expectedEpoch: epoch }), null, 'a login that read the old epoch creates nothing');
  });

  it('updateData writes only while the session exists', async (t) => {
    const { store, login } = await setup(t);
    const a = await login({ data: { theme: 'dark' } });
    t.deepEqual(a.session.data, { theme: 'dark' });
    const v = await store.validate(a.token);
    if (v.state !== 'active') return t.fail();
    t.true(await store.updateData(v.ref, { cart: [1, 2] }));
    t.like(await store.validate(a.token), { session: { data: { cart: [1, 2] } } });
    t.true(await store.updateData(v.ref, {}));
    t.like(await store.validate(a.token), { session: { data: {} } });
    t.true(await store.revoke(a.token));
    t.false(await store.updateData(v.ref, { cart: [3] }));
    t.like(await store.validate(a.token), { state: 'login_required' });
  });

  it('session data is capped and must be a JSON object', async (t) => {
    const { store, login } = await setup(t);
    const a = await login();
    const v = await store.validate(a.token);
    if (v.state !== 'active') return t.fail();
    const big = { blob: 'x'.repeat(2100) };
    const err = await t.throwsAsync(store.updateData(v.ref, big));
    t.true(err instanceof AppError && err.code === 'bad_request');
    await t.throwsAsync(login({ data: big }), { instanceOf: AppError });
    await t.throwsAsync(store.updateData(v.ref, [] as unknown as Record<string, unknown>), { instanceOf: AppError });
  });

  it('revoke is idempotent and also works through a grace alias', async (t) => {
    const { store, login } = await setup(t);
    const a = await login();
    t.true(await store.revoke(a.token));
    t.false(await store.revoke(a.token));
    const b = await login();
    const c = await store.refresh(b.token);
    if (!c.ok) return t.fail();
    t.true(await store.revoke(b.token), 'the old ID inside its grace names the successor');
    t.like(await store.validate(c.token), { state: 'login_required' });
    t.like(await store.validate(b.token), { state: 'login_required', reason: 'unknown' }, 'a logout is no replay');
    t.deepEqual(await store.list(a.session.tag), []);
  });

  it('a logout presenting a rotated-away ID after the grace still ends the session', async (t) => {
    const { store, login, clock } = await setup(t);
    const a = await login();
    const b = await store.refresh(a.token);
    if (!b.ok) return t.fail();
    clock.advance(10_000);
    t.true(await store.revoke(a.token));
    t.like(await store.validate(b.token), { state: 'login_required' });
    t.false(await store.revoke(a.token));
  });

  it('a refresh racing revoke-all never leaves a live successor', async (t) => {
    const { store, peer, tag, login, clock } = await setup(t);
    for (let round = 0; round < 20; round++) {
      const a = await login();
      clock.advance(61_000);
      const [r] = await Promise.all([store.refresh(a.token), peer.revokeAll(tag)]);
      if (r.ok) t.like(await store.validate(r.token), { state: 'login_required' });
      else t.is(r.reason, 'unknown');
      t.deepEqual(await store.list(tag), []);
    }
  });

  it('a session can be found and revoked by its handle, which survives rotation', async (t) => {
    const { store, login } = await setup(t);
    const a = await login();
    const keep = await login();
    const r = await store.refresh(a.token);
    if (!r.ok) return t.fail();
    t.like(await store.get(a.session.handle), { handle: a.session.handle, userId: 'u1' });
    t.true(await store.revokeHandle(a.session.handle));
    t.false(await store.revokeHandle(a.session.handle));
    t.false(await store.revokeHandle('garbage'));
    t.is(await store.get(a.session.handle), null);
    t.like(await store.validate(r.token), { state: 'login_required' });
    t.is((await store.validate(keep.token)).state, 'active');
  });

  it('list shows the live sessions oldest first, stale included, dead pruned', async (t) => {
    const { store, login, clock, tag } = await setup(t);
    const first = await login({ remember: false });
    clock.advance(1_000);
    const second = await login();
    clock.advance(1_000);
    const third = await login();
    t.deepEqual((await store.list(tag)).map((s) => s.handle), [first, second, third].map((s) => s.session.handle));
    clock.advance(60_000);
    const listed = await store.list(tag);
    t.deepEqual(listed.map((s) => s.handle), [second, third].map((s) => s.session.handle), 'the idle remember:false one is gone');
    t.like(listed[0], { ip: '203.0.113.7', userAgent: 'Firefox on Linux', createdAt: second.session.createdAt });
  });

  it('revoke-all ends every session of the user except the one kept, and bumps the epoch', async (t) => {
    const { store, login, tag } = await setup(t);
    const [a, b, c] = [await login(), await login(), await login()];
    const other = await store.create({ userId: 'u2', tag: newTag() });
    t.is(await store.epoch(tag), 0);
    t.is(await store.revokeAll(tag, { exceptHandle: a.session.handle }), 2);
    t.is(await store.epoch(tag), 1);
    t.is((await store.validate(a.token)).state, 'active');
    for (const s of [b, c]) t.like(await store.validate(s.token), { state: 'login_required' });
    t.is((await store.validate(other!.token)).state, 'active', 'other users are untouched');
    t.is(await store.revokeAll(tag), 1);
    t.is(await store.epoch(tag), 2);
    t.deepEqual(await store.list(tag), []);
  });

  it('a create with an outdated expected epoch creates nothing', async (t) => {
    const { store, tag } = await setup(t);
    const e = await store.epoch(tag);
    t.truthy(await store.create({ userId: 'u1', tag, expectedEpoch: e }));
    await store.revokeAll(tag);
    t.is(await store.create({ userId: 'u1', tag, expectedEpoch: e }), null);
    t.is((await store.list(tag)).length, 0);
  });

  it('revoke-all racing concurrent logins: nothing created before the revoke survives it', async (t) => {
    const { store, peer, tag } = await setup(t);
    for (let round = 0; round < 10; round++) {
      const before = await store.epoch(tag);
      const logins = Array.from({ length: 30 }, async (_, i) => {
        const s = i % 2 ? store : peer;
        const expectedEpoch = await s.epoch(tag);
        return { expectedEpoch, issued: await s.create({ userId: 'u1', tag, expectedEpoch }) };
      });
      const [, ...results] = await Promise.all([peer.revokeAll(tag), ...logins]);
      for (const { expectedEpoch, issued } of results) {
        if (expectedEpoch !== before || !issued) continue;
        t.like(await store.validate(issued.token), { state: 'login_required' }, 'a pre-revoke login was revoked');
      }
      const survivors = (await store.list(tag)).length;
      const postRevoke = results.filter((r) => r.expectedEpoch === before + 1 && r.issued).length;
      t.is(survivors, postRevoke);
      await store.revokeAll(tag);
    }
  });

  it('a revoked session stays revoked while 200 requests race the revoke', async (t) => {
    const { store, peer, login } = await setup(t);
    for (let round = 0; round < 20; round++) {
      const a: IssuedSession = await login();
      const v = await store.validate(a.token);
      if (v.state !== 'active') return t.fail();
      let revoked: Promise<boolean> | undefined;
      const racers = Array.from({ length: 200 }, (_, i) => {
        if (i === 100) revoked = store.revoke(a.token);
        const s = i % 2 ? peer : store;
        return i % 3 ? s.validate(a.token) : s.updateData(v.ref, { i });
      });
      await Promise.all(racers);
      t.true(await revoked!);
      t.like(await store.validate(a.token), { state: 'login_required' });
      t.like(await peer.validate(a.token), { state: 'login_required' });
      t.false(await store.updateData(v.ref, { late: true }));
      t.is(await store.get(a.session.handle), null);
    }
  });

  it('a cap on sessions per user revokes the oldest at the N+1th login', async (t) => {
    const { store, login, clock, tag } = await setup(t, { maxPerUser: 2 });
    const a = await login();
    clock.advance(1);
    const b = await login();
    clock.advance(1);
    const c = await login();
    t.deepEqual(c.revokedHandles, [a.session.handle]);
    t.like(await store.validate(a.token), { state: 'login_required' });
    t.deepEqual((await store.list(tag)).map((s) => s.handle), [b.session.handle, c.session.handle]);
    const d = await store.create({ userId: 'u1', tag }, { maxPerUser: 0 });
    t.deepEqual(d?.revokedHandles, [], 'a per-call policy may lift the cap');
  });

  it('a per-call policy sets the clocks of one session', async (t) => {
    const { store, clock, tag } = await setup(t);
    const s = await store.create({ userId: 'u1', tag }, { idleTimeoutMs: 5_000, absoluteLifetimeMs: 20_000 });
    if (!s) return t.fail();
    t.like(s.session, { idleTimeoutMs: 5_000, absoluteExpiresAt: clock.now() + 20_000 });
    clock.advance(2_500);
    t.like(await store.validate(s.token), { state: 'active', session: { lastActiveAt: clock.now() } }, 'slides before a short idle lapses');
    clock.advance(5_000);
    t.is((await store.validate(s.token)).state, 'stale');
  });

  // Replay detection for the whole family: any ID the session ever had, presented after
  // its grace, revokes the session, however many rotations ago it was rotated away.
  for (const thiefRefreshes of [3, 8]) {
    it(`a thief who refreshes a copied cookie ${thiefRefreshes} times loses the session when the owner comes back`, async (t) => {
      const { store, peer, login, clock } = await setup(t);
      const owner = await login();
      const bystander = await login();
      let thief = owner.token;
      for (let i = 0; i < thiefRefreshes; i++) {
        clock.advance(1_000);
        const r = await (i % 2 ? peer : store).refresh(thief);
        if (!r.ok) return t.fail(`thief refresh ${i}: ${r.reason}`);
        thief = r.token;
      }
      clock.advance(POLICY.rotationGraceMs);
      t.like(await store.validate(owner.token), { state: 'login_required', reason: 'replay', handle: owner.session.handle, userId: 'u1' });
      t.like(await store.validate(thief), { state: 'login_required' }, 'the thief\'s current ID is dead');
      t.like(await peer.refresh(thief), { ok: false });
      t.is(await store.get(owner.session.handle), null);
      t.not((await store.validate(bystander.token)).state, 'login_required', 'the user\'s other sessions are untouched');
    });
  }

  it('the owner refreshes 5 times, then a copy of the first cookie is replayed: the owner\'s current session dies', async (t) => {
    const { store, login, clock } = await setup(t);
    const first = await login();
    let owner = first.token;
    for (let i = 0; i < 5; i++) {
      clock.advance(61_000);
      const r = await store.refresh(owner);
      if (!r.ok) return t.fail(`refresh ${i}: ${r.reason}`);
      owner = r.token;
      t.like(await store.validate(owner), { state: 'active' });
    }
    t.like(await store.refresh(first.token), { ok: false, reason: 'replay', handle: first.session.handle });
    t.like(await store.validate(owner), { state: 'login_required' });
    t.like(await store.validate(first.token), { state: 'login_required', reason: 'unknown' }, 'the revoked session took its family with it');
  });

  it('10 parallel refreshes of one cookie, each result used after the grace: no false alarm', async (t) => {
    const { store, peer, login, clock } = await setup(t);
    const a = await login();
    clock.advance(61_000);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? peer : store).refresh(a.token)));
    clock.advance(POLICY.rotationGraceMs);
    for (const r of results) {
      if (!r.ok) return t.fail(r.reason);
      t.like(await store.validate(r.token), { state: 'active', viaGrace: false, session: { handle: a.session.handle } });
    }
    let next = results[0]!.ok ? results[0]!.token : '';
    for (let i = 0; i < 3; i++) {
      clock.advance(1_000);
      const r = await store.refresh(next);
      if (!r.ok) return t.fail(r.reason);
      next = r.token;
    }
    t.like(await store.validate(next), { state: 'active' });
  });

  it('a forged cookie with a session\'s tag but no secret of its family revokes nothing', async (t) => {
    const { store, login, clock } = await setup(t);
    const a = await login();
    const b = await store.refresh(a.token);
    if (!b.ok) return t.fail();
    clock.advance(POLICY.rotationGraceMs);
    for (let i = 0; i < 20; i++) {
      const forged = `${a.session.tag}.${newSecret()}`;
      t.like(await store.validate(forged), { state: 'login_required', reason: 'unknown' });
      t.like(await store.refresh(forged), { ok: false, reason: 'unknown' });
      t.false(await store.revoke(forged));
    }
    t.like(await store.validate(b.token), { state: 'active' });
  });

  it('a cookie of the session\'s family with a corrupted ID part is unknown, not a replay: the session lives', async (t) => {
    const { store, login, clock } = await setup(t);
    const a = await login();
    const b = await store.refresh(a.token);
    if (!b.ok) return t.fail();
    clock.advance(POLICY.rotationGraceMs);
    const at = a.token.indexOf('.') + 1;
    for (const i of [0, 5, 18, 19, 21]) {
      const c = a.token[at + i] === 'A' ? 'B' : 'A';
      const corrupted = a.token.slice(0, at + i) + c + a.token.slice(at + i + 1);
      t.like(await store.validate(corrupted), { state: 'login_required', reason: 'unknown' }, `character ${i}`);
      t.false(await store.revoke(corrupted));
    }
    t.like(await store.validate(b.token), { state: 'active' });
    t.like(await store.validate(a.token), { state: 'login_required', reason: 'replay' }, 'the real past ID still is one');
  });

  it('after a password change the IDs from before it are unknown, not replays: the changed session lives', async (t) => {
    const { store, login, clock } = await setup(t);
    const first = await login();
    let token = first.token;
    for (let i = 0; i < 3; i++) {
      clock.advance(1_000);
      const r = await store.refresh(token);
      if (!r.ok) return t.fail();
      token = r.token;
    }
    const changed = await store.refresh(token, { grace: false, revokeOthers: true, reauthenticated: true });
    if (!changed.ok) return t.fail();
    clock.advance(POLICY.rotationGraceMs);
    t.like(await store.validate(first.token), { state: 'login_required', reason: 'unknown' });
    t.like(await store.validate(token), { state: 'login_required', reason: 'unknown' });
    t.like(await store.validate(changed.token), { state: 'active' });
    // …and the family the change started is watched like any other.
    const after = await store.refresh(changed.token);
    if (!after.ok) return t.fail();
    clock.advance(POLICY.rotationGraceMs);
    t.like(await store.validate(changed.token), { state: 'login_required', reason: 'replay' });
    t.like(await store.validate(after.token), { state: 'login_required' });
  });

  it('the current ID of a session that ended on its idle clock is unknown, not a replay', async (t) => {
    const { store, login, clock } = await setup(t);
    const a = await login({ remember: false });
    const b = await store.refresh(a.token);
    if (!b.ok) return t.fail();
    clock.advance(61_000);
    t.like(await store.validate(b.token), { state: 'login_required', reason: 'idle' });
    t.like(await store.validate(b.token), { state: 'login_required', reason: 'unknown' });
  });

  it('ping answers while the store is up', async (t) => {
    const { store } = await setup(t);
    await t.notThrowsAsync(store.ping());
  });
}
