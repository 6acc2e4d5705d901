/**
 * A login's hash upgrade must not undo a password change that lands while the login is
 * in flight. The interleaving is forced: the login verifies the old password against
 * the old hash, then — while it computes the upgraded hash — the password is changed
 * (as `user passwd` and POST /auth/password do: new hash, then revoke every session),
 * then the login stores its upgrade. The new password must stay, the old one must not
 * work again. On both user stores.
 */
import test from 'ava';
import { AuthService } from '../../src/auth/auth-service.js';
import { createLogger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { MemoryThrottle } from '../../src/throttle/memory-throttle.js';
import { MemoryUserStore } from '../../src/users/memory-user-store.js';
import { OWASP_ARGON2ID, PasswordHasher } from '../../src/users/password.js';
import { RedisUserStore } from '../../src/users/redis-user-store.js';
import type { UserStore } from '../../src/users/types.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';

const OLD = 'the old password, long enough';
const NEW = 'the brand new password, long enough';

let redis: RedisProcess;
test.before(async () => {
  redis = await startRedis();
});
test.after.always(async () => {
  await redis?.stop();
});

// The account was hashed at the minimum; the server now asks for more, so a login upgrades it.
const weak = new PasswordHasher({ concurrency: 2, queueLimit: 10 });
const strong = new PasswordHasher({ concurrency: 2, queueLimit: 10, params: { ...OWASP_ARGON2ID, timeCost: 3 } });

let n = 0;
const factories: [string, () => UserStore][] = [
  ['memory', () => new MemoryUserStore()],
  ['redis', () => new RedisUserStore(redis.client(), { keyPrefix: `rr${n++}:` })],
];

for (const [kind, make] of factories) {
  test(`${kind}: a password change between the login's verify and its rehash is kept`, async (t) => {
    const users = make();
    const store = new MemoryStore();
    await users.create('alice', await weak.hash(OLD));
    const tag = (await users.find('alice'))!.tag;
    let changed = false;
    // The rehash is the only hash() of a login: the change lands after the verify and
    // the re-check, before the upgrade is written.
    const racing = new (class extends PasswordHasher {
      override async hash(password: string): Promise<string> {
        const upgraded = await super.hash(password);
        if (!changed) {
          changed = true;
          await users.setPasswordHash('alice', await weak.hash(NEW));
          await store.revokeAll(tag);
        }
        return upgraded;
      }
    })({ concurrency: 2, queueLimit: 10, params: strong.params });
    const auth = new AuthService({
      store,
      users,
      hasher: racing,
      throttle: new MemoryThrottle({ maxFailuresPerUserIp: 10, maxFailuresPerIp: 100, windowMs: 60_000 }),
      log: createLogger({ level: 'silent' }),
      passwordMinLength: 15,
    });
    // The login itself loses to the revocation (its epoch is stale): no session.
    await t.throwsAsync(auth.login({ username: 'alice', password: OLD, ip: '192.0.2.1', userAgent: 'test' }));
    t.true(changed, 'the race was run');
    const hash = (await users.find('alice'))!.passwordHash;
    t.true(await strong.verify(hash, NEW), 'the new password works');
    t.false(await strong.verify(hash, OLD), 'the old password does not work again');
    t.deepEqual(await store.list(tag), []);
  });

  test(`${kind}: without a racing change the login still upgrades the hash`, async (t) => {
    const users = make();
    await users.create('alice', await weak.hash(OLD));
    const auth = new AuthService({
      store: new MemoryStore(),
      users,
      hasher: strong,
      throttle: new MemoryThrottle({ maxFailuresPerUserIp: 10, maxFailuresPerIp: 100, windowMs: 60_000 }),
      log: createLogger({ level: 'silent' }),
      passwordMinLength: 15,
    });
    const out = await auth.login({ username: 'alice', password: OLD, ip: '192.0.2.1', userAgent: 'test' });
    t.is(out.user.username, 'alice');
    const hash = (await users.find('alice'))!.passwordHash;
    t.false(strong.needsRehash(hash), 'stored at the new parameters');
    t.true(await strong.verify(hash, OLD));
  });
}

const H1 = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
const H2 = '$argon2id$v=19$m=19456,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
const H3 = '$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0$b3RoZXJoYXNob3RoZXJoYXNo';

for (const [kind, make] of factories) {
  test(`${kind}: replacePasswordHash writes only over the hash that was verified`, async (t) => {
    const users = make();
    await users.create('bob', H1);
    t.false(await users.replacePasswordHash('bob', H3, H2), 'another hash is stored: refused');
    t.is((await users.find('bob'))?.passwordHash, H1);
    t.true(await users.replacePasswordHash('BOB', H1, H2), 'the verified one: replaced (any spelling of the name)');
    t.is((await users.find('bob'))?.passwordHash, H2);
    t.false(await users.replacePasswordHash('bob', H1, H3), 'a second upgrade from the old hash is refused');
    t.is((await users.find('bob'))?.passwordHash, H2);
    await users.delete('bob');
    t.false(await users.replacePasswordHash('bob', H2, H3), 'a deleted user is not brought back');
    t.is(await users.find('bob'), null);
    t.false(await users.replacePasswordHash('<bad name>', H2, H3));
  });
}
