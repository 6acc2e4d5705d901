/**
 * Login and password change: proving who the user is, shared by the JSON API and the
 * pages (one implementation of the throttle, the timing equalisation and the races).
 * What happens to sessions then is the SessionService's:
 * - unknown user and wrong password take the same path: an argon2 verify (against a
 *   dummy hash), a counted failure, the same 401;
 * - the throttle is asked before any password work, and the attempt is counted as a
 *   failure before the password is checked (taken back when it was right); over the
 *   limit even the right password gets 429;
 * - the user's revocation epoch is read BEFORE the password is verified and handed to
 *   create(): a logout-all or password change that lands meanwhile makes create() refuse
 *   (logout everywhere is complete), and the login answers 401 as if the password were wrong — with a
 *   password change it is;
 * - a session cookie the client already had is revoked (session fixation) and a
 *   fresh ID is always issued.
 */
import { type AuditEvent, type AuditLog, noAudit } from '../audit/types.js';
import { badRequest, invalidCredentials, loginRequired, tooManyAttempts } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../ops/metrics.js';
import { SessionService } from '../sessions/service.js';
import type { IssuedSession, SessionInfo, SessionStore } from '../sessions/types.js';
import type { LoginThrottle } from '../throttle/types.js';
import { type PasswordHasher, checkPasswordInput, checkPasswordStrength } from '../users/password.js';
import type { User, UserStore } from '../users/types.js';
import { normalizeUsername } from '../users/username.js';

export interface AuthDeps {
  /** The session lifecycle; or give `store` and one is made over it (with `log`, `audit`). */
  sessions?: SessionService;
  store?: SessionStore;
  users: UserStore;
  hasher: PasswordHasher;
  throttle: LoginThrottle;
  log: Logger;
  audit?: AuditLog;
  /** Counts logins by result (the store counts the session lifecycle itself). */
  metrics?: Metrics;
  passwordMinLength: number;
}

export interface LoginInput {
  username: unknown;
  password: unknown;
  remember?: unknown;
  ip: string;
  userAgent: string;
  /** The session token the client already holds, if any: revoked on success. */
  previousToken?: string;
  /** The throttle's device cookie this browser holds, if any: replaced on success. */
  device?: string;
}

export interface LoginOutcome {
  user: User;
  issued: IssuedSession;
  remember: boolean;
  /** The device cookie to hand this browser. */
  device: { token: string; maxAgeMs: number };
}

export interface PasswordChangeInput {
  session: SessionInfo;
  token: string;
  currentPassword: unknown;
  newPassword: unknown;
  ip: string;
  device?: string;
}

export interface ReauthenticateInput {
  session: SessionInfo;
  token: string;
  password: unknown;
  ip: string;
  device?: string;
}

export class AuthService {
  readonly #d: AuthDeps;
  readonly sessions: SessionService;

  constructor(deps: AuthDeps) {
    this.#d = deps;
    this.sessions = deps.sessions ??
      new SessionService({ store: deps.store!, log: deps.log, audit: deps.audit ?? noAudit, ...(deps.metrics ? { metrics: deps.metrics } : {}) });
  }

  /** Logs an event and appends it to the audit trail (best effort). */
  event(e: AuditEvent, msg: string): Promise<void> {
    return this.sessions.event(e, msg);
  }

  async login(input: LoginInput): Promise<LoginOutcome> {
    const { users, hasher, throttle } = this.#d;
    const sessions = this.sessions;
    if (typeof input.username !== 'string' || input.username.length === 0) throw badRequest('"username" must be a non-empty string.');
    const password = checkPasswordInput(input.password);
    if (input.remember !== undefined && typeof input.remember !== 'boolean') throw badRequest('"remember" must be true or false.');
    const remember = input.remember ?? true;
    const { ip } = input;
    // An impossible name is still throttled and hashed like an unknown one.
    const name = normalizeUsername(input.username) ?? input.username.slice(0, 256).toLowerCase();

    // Looked up first: the throttle trusts a device cookie only for the account the name
    // is now, not for an earlier account of that name.
    const user = (await users.find(name)) ?? undefined;
    // Named only when it is an account, as for failures.
    await this.#attempt(name, ip, input.device, user, undefined, 'login throttled');

    const epoch = user ? await sessions.epoch(user.tag) : 0;
    const ok = user ? await hasher.verify(user.passwordHash, password) : await hasher.verifyDummy(password);
    if (!user || !ok) {
      // The typed name is logged only when it is an account: a password typed into the
      // user name field must not end up in the logs.
      await this.event({ type: 'login.failed', username: user?.username, ip }, 'login failed');
      throw invalidCredentials();
    }
    const device = { token: await throttle.succeed(name, ip, input.device, user), maxAgeMs: throttle.limits.deviceLifetimeMs };

    // The epoch was read after the first lookup, so a password change or account deletion
    // that landed between the two could leave us holding a valid-looking epoch for a
    // credential that no longer exists. Looking again now closes that window: any change
    // after this read bumps the epoch we hold, and create() then refuses.
    const still = await users.find(name);
    if (!still || still.tag !== user.tag || still.passwordHash !== user.passwordHash) {
      await this.event({ type: 'login.failed', username: user.username, ip, reason: 'changed_meanwhile' }, 'login raced an account change');
      throw invalidCredentials();
    }

    if (hasher.needsRehash(user.passwordHash)) {
      const rehashed = await hasher.hash(password);
      // Only over the hash just verified: a password set meanwhile must stay.
      if (await users.replacePasswordHash(user.username, user.passwordHash, rehashed)) {
        this.#d.log.info({ event: 'password.rehashed', username: user.username }, 'password hash upgraded');
      }
    }

    const issued = await sessions.signIn({
      user, method: 'password', remember, ip, userAgent: input.userAgent, expectedEpoch: epoch,
      ...(input.previousToken ? { previousToken: input.previousToken } : {}),
    });
    if (!issued) throw invalidCredentials();
    const { passwordHash: _, ...publicUser } = user;
    return { user: publicUser, issued, remember, device };
  }

  /**
   * Asks the throttle, then counts the attempt as failed before any password is checked:
   * a failure that could not be counted (Redis full, the process gone) must not be a
   * free guess, and attempts sent all at once must not all pass the limits before the
   * first is counted. A success takes the count back (throttle.succeed). Throws 429.
   */
  async #attempt(
    name: string,
    ip: string,
    device: string | undefined,
    user: User | undefined,
    reason: string | undefined,
    msg: string,
  ): Promise<void> {
    const { throttle } = this.#d;
    let verdict = await throttle.check(name, ip, device, user);
    if (!verdict.blocked) verdict = await throttle.fail(name, ip, device, user);
    if (!verdict.blocked) return;
    await this.#throttled(user, ip, reason, msg);
    throw tooManyAttempts(verdict.retryAfterMs / 1000);
  }

  /**
   * A refused attempt reaches the log and the audit trail aggregated: the 1st, 10th,
   * 100th… refusal of one account from one address in a throttle window, with the count
   * so far. One event each would let anyone flush real events (a replay, a password
   * change) out of the capped stream by hammering the login; the metric counts them all.
   */
  async #throttled(user: { id: string; username: string } | undefined, ip: string, reason: string | undefined, msg: string): Promise<void> {
    this.#d.metrics?.logins.inc({ result: 'throttled' });
    const count = await this.#d.throttle.refused(user?.id, ip).catch(() => 1);
    if (!/^10*$/.test(String(count))) return;
    await this.event({ type: 'login.throttled', username: user?.username, ip, ...(reason ? { reason } : {}), count }, msg);
  }

  /**
   * Re-authentication (the third clock): the owner of a session proves the password
   * again. Counted by the login throttle like a sign-in (a stolen session must not give
   * unlimited guesses); on success the session rotates and its authenticatedAt renews.
   */
  async reauthenticate(input: ReauthenticateInput): Promise<{ token: string; session: SessionInfo; device: LoginOutcome['device'] }> {
    const { users, hasher, throttle } = this.#d;
    const password = checkPasswordInput(input.password);
    const username = input.session.userId;
    const user = await users.find(username);
    if (!user || user.tag !== input.session.tag) throw loginRequired(401);
    await this.#attempt(username, input.ip, input.device, user, 'reauthenticate', 'reauthentication throttled');
    if (!(await hasher.verify(user.passwordHash, password))) {
      await this.event({ type: 'login.failed', username, ip: input.ip, reason: 'reauthenticate' }, 'wrong password (reauthentication)');
      throw invalidCredentials();
    }
    const device = { token: await throttle.succeed(username, input.ip, input.device, user), maxAgeMs: throttle.limits.deviceLifetimeMs };
    const rotated = await this.sessions.reauthenticated(input.token, { by: 'user', ip: input.ip });
    if (!rotated.ok) throw loginRequired(401);
    return { token: rotated.token, session: rotated.session, device };
  }

  /**
   * Changes the password, rotates the current session (its old ID dies at once, no
   * grace) and revokes every other session. The new hash is stored first: a login with
   * the old password racing the change then either fails the verify, or read the epoch
   * before the revocation bumped it and is refused by create().
   */
  async changePassword(input: PasswordChangeInput): Promise<{ token: string; session: SessionInfo }> {
    const { users, hasher, throttle } = this.#d;
    const current = checkPasswordInput(input.currentPassword, 'currentPassword');
    const next = checkPasswordInput(input.newPassword, 'newPassword');
    checkPasswordStrength(next, this.#d.passwordMinLength);
    const username = input.session.userId;
    // A session is no exemption: a stolen one must not give unlimited guesses at the
    // current password, so this counts like a sign-in, device cookie included.
    const user = await users.find(username);
    if (!user || user.tag !== input.session.tag) throw loginRequired(401);
    await this.#attempt(username, input.ip, input.device, user, 'password_change', 'password change throttled');
    if (!(await hasher.verify(user.passwordHash, current))) {
      await this.event({ type: 'login.failed', username, ip: input.ip, reason: 'password_change' }, 'wrong current password');
      throw invalidCredentials();
    }
    await throttle.passed(username, input.ip, input.device, user);
    const hash = await hasher.hash(next);
    if (!(await users.setPasswordHash(username, hash))) throw loginRequired(401);
    const rotated = await this.sessions.passwordChanged(
      input.token,
      { tag: user.tag, userId: user.id, username },
      { by: 'user', ip: input.ip },
    );
    // The session died meanwhile (the others went all the same).
    if (!rotated.ok) throw loginRequired(401);
    return { token: rotated.token, session: rotated.session };
  }
}
