/**
 * Account changes an administrator makes (the CLI's `user add | passwd | delete`): the
 * user store's change, then what it means for the user's sessions, each audited through
 * the session service like every other lifecycle event. A change to an account that
 * does not exist returns null (the caller says so in its own words).
 */
import type { Actor, SessionService } from '../sessions/service.js';
import type { LoginThrottle } from '../throttle/types.js';
import type { User, UserStore } from '../users/types.js';

export interface AccountsDeps {
  users: UserStore;
  sessions: SessionService;
  /** The login throttle, whose device cookies of a deleted account go with it. */
  throttle?: LoginThrottle;
  hashPassword(password: string): Promise<string>;
  actor: Actor;
}

export class Accounts {
  constructor(private readonly d: AccountsDeps) {}

  /** A new account; the user store refuses a taken name (400, atomically). */
  async add(username: string, password: string): Promise<User> {
    const { users, sessions, actor } = this.d;
    const user = await users.create(username, await this.d.hashPassword(password));
    // The store normalizes names (NFKC, lower case): the event names the one it kept.
    await sessions.event({ type: 'user.created', username: user.username, userId: user.id, by: actor.by }, 'user created');
    return user;
  }

  /** A new password, and every session of the account revoked; null when there is no such account. */
  async setPassword(username: string, password: string): Promise<{ user: User; revoked: number } | null> {
    const { users, sessions, actor } = this.d;
    const user = await users.find(username);
    if (!user || !(await users.setPasswordHash(user.username, await this.d.hashPassword(password)))) return null;
    // After the new hash is in place: a login on the old password that raced us either
    // failed verification or read the epoch before this bump, so its create() refuses.
    await sessions.event({ type: 'password.changed', username: user.username, userId: user.id, by: actor.by }, 'password changed');
    const revoked = await sessions.revokeAll({ tag: user.tag, userId: user.id, username: user.username }, 'password_change', actor);
    return { user, revoked };
  }

  /** The account deleted, then every session of it revoked; null when there is no such account. */
  async remove(username: string): Promise<{ user: User; revoked: number } | null> {
    const { users, sessions, actor } = this.d;
    const user = await users.find(username);
    // Delete first, so no new login can find the account; then revoke (bumping the epoch
    // also refuses logins that had already read it and are still hashing).
    if (!user || !(await users.delete(user.username))) return null;
    await sessions.event({ type: 'user.deleted', username: user.username, userId: user.id, by: actor.by }, 'user deleted');
    // A new account of the same name has another tag, so these would trust nobody; they
    // go now rather than linger for their lifetime.
    await this.d.throttle?.forget(user);
    const revoked = await sessions.revokeAll({ tag: user.tag, userId: user.id, username: user.username }, 'user_deleted', actor);
    return { user, revoked };
  }
}
