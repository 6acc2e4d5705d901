/**
 * docs/design.md, invariants 5 and 6, at the login: an account change that lands while a login is in
 * flight (between looking the user up and creating the session) leaves no session minted
 * from the old credential. The race is forced deterministically: the user store runs the
 * admin's change right after the login's first lookup.
 */
import test from 'ava';
import { AuthService } from '../../src/auth/auth-service.js';
import { createLogger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { MemoryThrottle } from '../../src/throttle/memory-throttle.js';
import { PasswordHasher } from '../../src/users/password.js';
import { MemoryUserStore } from '../../src/users/memory-user-store.js';
import type { UserRecord } from '../../src/users/types.js';

const OLD = 'the old password, long enough';
const NEW = 'the brand new password, long enough';

async function setup(change: (ctx: { users: MemoryUserStore; store: MemoryStore; hasher: PasswordHasher; user: UserRecord }) => Promise<void>) {
  const users = new MemoryUserStore();
  const store = new MemoryStore();
  const hasher = new PasswordHasher({ concurrency: 2, queueLimit: 10 });
  await users.create('alice', await hasher.hash(OLD));
  let armed = true;
  // The first lookup of the login returns, then the admin's change runs before the
  // login goes on: exactly the window between find() and the epoch read.
  const racing = Object.create(users) as MemoryUserStore;
  racing.find = async (name: string) => {
    const found = await users.find(name);
    if (armed && found) {
      armed = false;
      await change({ users, store, hasher, user: found });
    }
    return found;
  };
  const auth = new AuthService({
    store,
    users: racing,
    hasher,
    throttle: new MemoryThrottle({ maxFailuresPerUserIp: 10, maxFailuresPerIp: 100, windowMs: 60_000 }),
    log: createLogger({ level: 'silent' }),
    passwordMinLength: 15,
  });
  const user = (await users.find('alice'))!;
  return { auth, store, user };
}

const login = (auth: AuthService) =>
  auth.login({ username: 'alice', password: OLD, ip: '192.0.2.1', userAgent: 'test' });

test('a password change racing a login with the old password leaves no session', async (t) => {
  const { auth, store, user } = await setup(async ({ users, store, hasher, user }) => {
    // What `user passwd` and the password route do: new hash, then revoke everything.
    await users.setPasswordHash('alice', await hasher.hash(NEW));
    await store.revokeAll(user.tag);
  });
  await t.throwsAsync(login(auth), { message: /Unknown user name or wrong password/ });
  t.deepEqual(await store.list(user.tag), []);
});

test('an account deleted while its login is in flight gets no session', async (t) => {
  const { auth, store, user } = await setup(async ({ users, store, user }) => {
    // What `user delete` does: remove the account, then revoke its sessions.
    await users.delete('alice');
    await store.revokeAll(user.tag);
  });
  await t.throwsAsync(login(auth), { message: /Unknown user name or wrong password/ });
  t.deepEqual(await store.list(user.tag), []);
});

test('without a racing change the same login succeeds (the harness itself lets logins through)', async (t) => {
  const { auth, store, user } = await setup(async () => {});
  const out = await login(auth);
  t.is(out.user.username, 'alice');
  t.is((await store.list(user.tag)).length, 1);
});
