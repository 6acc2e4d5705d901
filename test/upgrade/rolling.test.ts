/**
 * A rolling upgrade: during a deploy, nodes of the previous release (the newest one in
 * CHANGELOG.md, built from its commit by test/helpers/previous-release.ts) and of this
 * checkout serve the same users from one Redis, and a browser's requests land on either.
 * Whatever one version writes (session records, grace aliases, replay markers, the
 * user index and epoch, user records) the other must read and act on, in both
 * directions: a change to the layout, the keys or the Lua scripts that breaks this
 * breaks users mid-deploy.
 *
 * Real processes, real Redis time: the grace period is short and the replay check
 * sleeps past it.
 */
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import test, { type ExecutionContext } from 'ava';
import { PasswordHasher } from '../../src/users/password.js';
import { RedisUserStore } from '../../src/users/redis-user-store.js';
import { type Reply, client } from '../helpers/http.js';
import { type BuiltRelease, buildPreviousRelease } from '../helpers/previous-release.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { Device, challengeOf } from '../helpers/dbsc-device.js';

/** Long enough for a handful of requests right after a refresh on a loaded machine. */
const GRACE_MS = 2000;
/**
 * Short, so a session can be let go stale; still well above the longest gap between two
 * uses of one session in the other tests (a few logins).
 */
const IDLE_MS = 5000;
const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a different horse, battery and staple';

type Side = 'old' | 'new';
const SIDES: readonly Side[] = ['old', 'new'];
const DIRECTIONS: ReadonlyArray<readonly [Side, Side]> = [
  ['old', 'new'],
  ['new', 'old'],
];

let release: BuiltRelease | undefined;
let redis: RedisProcess | undefined;
const nodes: Partial<Record<Side, AppProcess>> = {};
const users: Partial<Record<Side, RedisUserStore>> = {};
const hasher = new PasswordHasher({ concurrency: 1, queueLimit: 8 });
let userSeq = 0;

test.before(async (t) => {
  release = await buildPreviousRelease();
  t.log(
    `previous release ${release.version} (${release.sha.slice(0, 12)}): ` +
      (release.built ? `built in ${release.ms} ms, dependencies ${release.deps}` : `cached, ${release.ms} ms`),
  );
  redis = await startRedis({ args: ['--maxmemory-policy', 'noeviction'] });
  const env = { REDIS_URL: redis.url, SESSION_ROTATION_GRACE: `${GRACE_MS}ms`, SESSION_IDLE_TIMEOUT: `${IDLE_MS}ms` };
  // allSettled: a node that started must be recorded (and so stopped) even if the other failed.
  const [oldNode, newNode] = await Promise.allSettled([startApp({ env, main: release.main }), startApp({ env })]);
  if (oldNode.status === 'fulfilled') nodes.old = oldNode.value;
  if (newNode.status === 'fulfilled') nodes.new = newNode.value;
  for (const r of [oldNode, newNode]) if (r.status === 'rejected') throw r.reason;
  // Each version's own user store: an account created by either must work on both.
  const previous = (await import(pathToFileURL(`${release.dir}/dist/src/users/redis-user-store.js`).href)) as {
    RedisUserStore: typeof RedisUserStore;
  };
  users.old = new previous.RedisUserStore(redis.client());
  users.new = new RedisUserStore(redis.client());
});

test.after.always(async () => {
  await Promise.all(SIDES.map((s) => nodes[s]?.stop('SIGKILL')));
  await redis?.stop();
});

const node = (side: Side): AppProcess => {
  const n = nodes[side];
  if (!n) throw new Error(`the ${side} node did not start`);
  return n;
};
const call = (side: Side, method: string, path: string, token?: string, json?: unknown): Promise<Reply> =>
  client(node(side).url)(method, path, { ...(token === undefined ? {} : { cookie: token }), ...(json === undefined ? {} : { json }) });

/** A fresh account, created through `side`'s user store. */
async function newUser(side: Side): Promise<string> {
  const name = `user${++userSeq}-${side}`;
  const store = users[side];
  if (!store) throw new Error(`no ${side} user store`);
  await store.create(name, await hasher.hash(PASSWORD));
  return name;
}

async function login(t: ExecutionContext, side: Side, username: string, password = PASSWORD): Promise<string> {
  const r = await call(side, 'POST', '/auth/login', undefined, { username, password });
  t.is(r.status, 200, `login on ${side}: ${r.text}`);
  const token = r.cookie();
  if (!token) throw new Error(`login on ${side} set no cookie: ${r.text}`);
  return token;
}

/** GET /api/me on both nodes answers 200 for this user and session handle. */
async function worksOnBoth(t: ExecutionContext, token: string, username: string, handle: string | undefined, what: string) {
  for (const side of SIDES) {
    const r = await call(side, 'GET', '/api/me', token);
    t.is(r.status, 200, `${what} on ${side}: ${r.text}`);
    t.like(r.body, { user: { username } }, `${what} on ${side}`);
    if (handle !== undefined) t.like(r.body, { session: { handle } }, `${what} on ${side}`);
  }
}

/** GET /api/me on both nodes answers 401 login_required. */
async function deadOnBoth(t: ExecutionContext, token: string, what: string) {
  for (const side of SIDES) {
    const r = await call(side, 'GET', '/api/me', token);
    t.is(r.status, 401, `${what} on ${side}: ${r.text}`);
    t.like(r.body, { error: 'login_required' }, `${what} on ${side}`);
  }
}

const handleOf = async (side: Side, token: string): Promise<string> => {
  const r = await call(side, 'GET', '/api/me', token);
  const handle = (r.body?.session as { handle?: string } | undefined)?.handle;
  if (r.status !== 200 || !handle) throw new Error(`GET /api/me on ${side}: ${r.status} ${r.text}`);
  return handle;
};

for (const [from, to] of DIRECTIONS) {
  test.serial(`login on ${from}, refresh on ${to}: both IDs work on both inside the grace, a replay after it ends the session on both`, async (t) => {
    const username = await newUser(from);
    const first = await login(t, from, username);
    const handle = await handleOf(to, first);
    await worksOnBoth(t, first, username, handle, 'the login cookie');

    const refreshed = await call(to, 'POST', '/auth/refresh', first);
    t.is(refreshed.status, 200, refreshed.text);
    const second = refreshed.cookie();
    t.truthy(second);
    t.not(second, first, 'the refresh rotated the ID');
    t.like(refreshed.body, { session: { handle } }, 'the handle stays across the rotation');
    // Right after the rotation, well inside the grace period.
    await worksOnBoth(t, first, username, handle, 'the rotated-away ID inside the grace');
    await worksOnBoth(t, second!, username, handle, 'the rotated cookie');

    await sleep(GRACE_MS + 300);
    // The rotating node wrote the replay marker; the other version must honour it.
    const replay = await call(from, 'GET', '/api/me', first);
    t.is(replay.status, 401, `replay on ${from}: ${replay.text}`);
    t.like(replay.body, { error: 'login_required' });
    await deadOnBoth(t, first, 'the replayed ID');
    await deadOnBoth(t, second!, 'the current ID after a replay of its predecessor');
    for (const side of SIDES) {
      const r = await call(side, 'POST', '/auth/refresh', second);
      t.is(r.status, 403, `refresh after the replay on ${side}: ${r.text}`);
      t.like(r.body, { error: 'login_required' });
    }
  });

  test.serial(`a session from ${from}: refreshed again on ${from} after a refresh on ${to}, the chain holds on both`, async (t) => {
    const username = await newUser(to);
    const first = await login(t, from, username);
    const handle = await handleOf(from, first);
    const a = await call(to, 'POST', '/auth/refresh', first);
    t.is(a.status, 200, a.text);
    const b = await call(from, 'POST', '/auth/refresh', a.cookie());
    t.is(b.status, 200, b.text);
    t.like(b.body, { session: { handle } });
    await worksOnBoth(t, b.cookie()!, username, handle, 'the cookie after two rotations by both versions');
  });

  test.serial(`login on ${from}, logout on ${to}: the session is dead on both`, async (t) => {
    const username = await newUser(from);
    const token = await login(t, from, username);
    await worksOnBoth(t, token, username, undefined, 'before the logout');
    const r = await call(to, 'POST', '/auth/logout', token);
    t.is(r.status, 204, r.text);
    await deadOnBoth(t, token, 'after the logout');
  });

  test.serial(`logout-all on ${to} by a session from ${from} ends sessions created on both`, async (t) => {
    const username = await newUser(to);
    const caller = await login(t, from, username);
    const onOld = await login(t, 'old', username);
    const onNew = await login(t, 'new', username);
    for (const side of SIDES) {
      const list = await call(side, 'GET', '/auth/sessions', caller);
      t.is(list.status, 200, list.text);
      t.is((list.body?.sessions as unknown[] | undefined)?.length, 3, `both versions' sessions listed on ${side}`);
    }
    const r = await call(to, 'POST', '/auth/logout-all', caller);
    t.is(r.status, 204, r.text);
    await deadOnBoth(t, caller, 'the caller after logout-all');
    await deadOnBoth(t, onOld, 'a session created on old, after logout-all');
    await deadOnBoth(t, onNew, 'a session created on new, after logout-all');
    // The revocation epoch does not hold back a login made after it, on either version.
    for (const side of SIDES) {
      await worksOnBoth(t, await login(t, side, username), username, undefined, `a login on ${side} after logout-all`);
    }
  });

  test.serial(`password change on ${to} by a session from ${from} ends the others on both and keeps the caller`, async (t) => {
    const username = await newUser(from);
    const caller = await login(t, from, username);
    const handle = await handleOf(from, caller);
    const onOld = await login(t, 'old', username);
    const onNew = await login(t, 'new', username);
    const r = await call(to, 'POST', '/auth/password', caller, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
    t.is(r.status, 204, r.text);
    const rotated = r.cookie();
    t.truthy(rotated);
    await worksOnBoth(t, rotated!, username, handle, 'the caller’s rotated cookie');
    await deadOnBoth(t, caller, 'the caller’s old ID (no grace after a password change)');
    await deadOnBoth(t, onOld, 'another session created on old');
    await deadOnBoth(t, onNew, 'another session created on new');
    // The hash written by one version is read by the other.
    for (const side of SIDES) {
      const bad = await call(side, 'POST', '/auth/login', undefined, { username, password: PASSWORD });
      t.is(bad.status, 401, `the old password on ${side}: ${bad.text}`);
      await worksOnBoth(t, await login(t, side, username, NEW_PASSWORD), username, undefined, `the new password on ${side}`);
    }
  });
}

/** Refreshes `token` `times` times on `side`, each within the grace of the one before. */
async function refreshTimes(t: ExecutionContext, side: Side, token: string, times: number): Promise<string> {
  let current = token;
  for (let i = 0; i < times; i++) {
    const r = await call(side, 'POST', '/auth/refresh', current);
    t.is(r.status, 200, `refresh ${i + 1} on ${side}: ${r.text}`);
    current = r.cookie()!;
  }
  return current;
}

// Replay detection for the whole family is the new node's: a 0.2.0 node knows only the
// marker of the immediate predecessor. Once the new node has created or rotated a session,
// a past ID replayed on it ends the session everywhere, whichever version rotated since.
// (A session that only 0.2.0 nodes ever touched has no family yet: the new node starts
// one at its first rotation there.)
for (const [creator, rotator] of [['old', 'new'], ['new', 'old'], ['new', 'new']] as const) {
  test.serial(`login on ${creator}, a thief refreshes the copy 3 times on ${rotator}: the owner's cookie replayed on new ends the session on both`, async (t) => {
    const username = await newUser(creator);
    const owner = await login(t, creator, username);
    const thief = await refreshTimes(t, rotator, owner, 3);
    await worksOnBoth(t, thief, username, undefined, 'the thief\'s cookie before the replay');
    await sleep(GRACE_MS + 300);
    const replay = await call('new', 'GET', '/api/me', owner);
    t.is(replay.status, 401, replay.text);
    t.like(replay.body, { error: 'login_required' });
    await deadOnBoth(t, thief, 'the thief\'s cookie after the replay');
  });
}

// A 0.2.0 node's rotation draws a random successor, which starts a new family; the
// cookies of the family before it stay replays on the new node.
for (const probe of ['first', 'second'] as const) {
  test.serial(`rotated on new, old, new: a cookie of the ${probe} family replayed on new ends the session on both`, async (t) => {
    const username = await newUser('old');
    const first = await login(t, 'old', username);
    const a = await refreshTimes(t, 'new', first, 2);
    const b = await refreshTimes(t, 'old', a, 1);
    const c = await refreshTimes(t, 'new', b, 2);
    await worksOnBoth(t, c, username, undefined, 'the current cookie');
    await sleep(GRACE_MS + 300);
    const r = await call('new', 'GET', '/api/me', probe === 'first' ? first : b);
    t.is(r.status, 401, r.text);
    t.like(r.body, { error: 'login_required' });
    await deadOnBoth(t, c, 'the current cookie after the replay');
  });
}

test.serial('a session gone stale is refreshed by the other version, in both directions', async (t) => {
  const sessions = await Promise.all(
    DIRECTIONS.map(async ([from, to]) => {
      const username = await newUser(from);
      const token = await login(t, from, username);
      return { from, to, username, token, handle: await handleOf(from, token) };
    }),
  );
  await sleep(IDLE_MS + 500);
  for (const { from, to, username, token, handle } of sessions) {
    for (const side of SIDES) {
      const r = await call(side, 'GET', '/api/me', token);
      t.is(r.status, 401, `a stale session from ${from} on ${side}: ${r.text}`);
      t.like(r.body, { error: 'refresh_required' }, `a stale session from ${from} on ${side}`);
    }
    const refreshed = await call(to, 'POST', '/auth/refresh', token);
    t.is(refreshed.status, 200, `refresh on ${to} of a stale session from ${from}: ${refreshed.text}`);
    t.like(refreshed.body, { session: { handle } });
    await worksOnBoth(t, refreshed.cookie()!, username, handle, `a stale session from ${from} refreshed on ${to}`);
  }
});

test.serial('a device-bound session stays bound across a rotation on 0.2.0 and usable on both; the new node checks its proof clock', async (t) => {
  // Both versions behind TLS (Secure cookies: binding is offered only there); the new
  // node with a 10 s bound lifetime, so the proof clock runs out within the test.
  const env = { REDIS_URL: redis!.url, COOKIE_SECURE: 'on', SESSION_IDLE_TIMEOUT: '1m', SESSION_BOUND_COOKIE_LIFETIME: '10s' };
  const [oldNode, newNode] = await Promise.all([startApp({ env, main: release!.main }), startApp({ env })]);
  t.teardown(() => Promise.all([oldNode.stop('SIGKILL'), newNode.stop('SIGKILL')]));
  const at = (n: AppProcess) => client(n.url, '__Host-sid');
  const origin = (n: AppProcess) => ({ origin: `https://${new URL(n.url).host}` });
  const username = await newUser('new');
  const signIn = await at(newNode)('POST', '/auth/login', { json: { username, password: PASSWORD }, headers: origin(newNode) });
  t.is(signIn.status, 200, signIn.text);
  const token = signIn.cookie()!;
  const device = new Device();
  const registered = await at(newNode)('POST', '/auth/dbsc/register', {
    cookie: token,
    headers: { 'secure-session-response': device.registration(challengeOf(signIn.headers.get('secure-session-registration'))!) },
  });
  t.is(registered.status, 200, registered.text);
  const boundAt = Date.now();

  // The old node serves and rotates it (RENAME keeps the key and the proof time).
  t.is((await at(oldNode)('GET', '/api/me', { cookie: token })).status, 200);
  const rotated = await at(oldNode)('POST', '/auth/refresh', { cookie: token, headers: origin(oldNode) });
  t.is(rotated.status, 200, rotated.text);
  const next = rotated.cookie()!;
  const listed = await at(newNode)('GET', '/auth/sessions', { cookie: next });
  t.true((listed.body!.sessions as { current: boolean; bound: boolean }[]).find((s) => s.current)!.bound, 'still bound after the old node rotated it');

  await sleep(Math.max(0, boundAt + 10_500 - Date.now()));
  t.is((await at(newNode)('GET', '/api/me', { cookie: next })).body?.error, 'device_proof_required', 'the new node checks the proof clock the old one kept');
  t.is((await at(oldNode)('GET', '/api/me', { cookie: next })).status, 200, 'the old node does not (docs/security.md, "Device binding": deploy with binding off, then turn it on)');

  // The device's signed refresh on the new node renews it for both.
  const refresh = (jwt?: string) =>
    at(newNode)('POST', '/auth/dbsc/refresh', { cookie: next, headers: jwt ? { 'secure-session-response': jwt } : {} });
  const asked = await refresh();
  t.is(asked.status, 403);
  const proved = await refresh(device.refresh(challengeOf(asked.headers.get('secure-session-challenge'))!));
  t.is(proved.status, 200, proved.text);
  for (const n of [newNode, oldNode]) t.is((await at(n)('GET', '/api/me', { cookie: proved.cookie()! })).status, 200);
});
