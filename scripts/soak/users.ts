/**
 * Soak users: created in Redis with the app's own user store and argon2id hasher (the
 * servers read the same keys), each with a lock that keeps its logins and password
 * changes in order, so the driver always knows the current password.
 */
import type { Redis } from 'ioredis';
import { PasswordHasher } from '../../src/users/password.js';
import { RedisUserStore } from '../../src/users/redis-user-store.js';

export interface SessionUser {
  name: string;
  password: string;
  lock<T>(fn: () => Promise<T>): Promise<T>;
}

export async function createUsers(redis: Redis, keyPrefix: string, count: number): Promise<SessionUser[]> {
  const store = new RedisUserStore(redis, { keyPrefix });
  const hasher = new PasswordHasher({ concurrency: 2, queueLimit: 100 });
  const users: SessionUser[] = [];
  for (let i = 0; i < count; i++) {
    const name = `soak${i}`;
    const password = `${name}-initial-password-long`;
    await store.create(name, await hasher.hash(password));
    let chain: Promise<unknown> = Promise.resolve();
    users.push({
      name,
      password,
      lock<T>(fn: () => Promise<T>): Promise<T> {
        const run = chain.then(fn, fn);
        chain = run.catch(() => {});
        return run;
      },
    });
  }
  return users;
}
