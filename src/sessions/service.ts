/**
 * The session lifecycle: every state change of a session goes through here, and so does
 * its audit event. Routes, pages, the CLI and library users call this; none of them
 * calls a store's refresh or revoke, or writes a lifecycle event, itself. The store
 * below keeps storage only (docs/design.md, "Layers").
 *
 * Audit appends are best effort: the AuditLog given here is expected to log and count
 * its own failures (src/audit/observed.ts), so a revocation that happened is never
 * reported as failed because its event could not be written.
 */
import { type AuditEvent, type AuditLog, noAudit } from '../audit/types.js';
import { reauthenticationRequired } from '../errors.js';
import type { Logger } from '../log.js';
import { parseHandle } from './token.js';
import type {
  BindResult, CreateInput, IssuedSession, RefreshResult, RotateOptions, SessionInfo, SessionPolicy, SessionRef, SessionStore, ValidateResult,
} from './types.js';

/**
 * Who asks for a change: the audit trail's `by` ('user', 'admin-cli', 'system', or an
 * identity provider: `oidc:<issuer>`), and the client address when there is one.
 */
export interface Actor {
  by: 'user' | 'admin-cli' | 'system' | `oidc:${string}`;
  ip?: string;
}

/** The owner of the sessions an operation may touch (a user's tag and id). */
export interface Owner {
  tag: string;
  userId: string;
  username?: string;
}

/** The owner whose sessions a session's holder may act on (bundled user stores: the id is the name). */
export const ownerOf = (s: SessionInfo): Owner => ({ tag: s.tag, userId: s.userId, username: s.userId });

/**
 * How the user proved who they are: this server's password check, the embedding app's
 * own check (library), or an identity provider.
 */
export type SignInMethod = 'password' | 'app' | `oidc:${string}`;

export interface SignInInput {
  user: { id: string; username?: string; tag: string };
  method: SignInMethod;
  remember: boolean;
  ip?: string;
  userAgent?: string;
  /** The session cookie the browser came with: checked and ended (fixation defence). */
  previousToken?: string;
  /**
   * The user's revocation epoch as read before the credential was checked (a password
   * login reads it first); unset: read now. A revoke-all after that read makes the
   * sign-in create nothing.
   */
  expectedEpoch?: number;
  /**
   * Runs between the creation and the cookie: what must exist for the session to be
   * ended later (a provider session index). When it throws, the session is revoked
   * again and the error goes on: no cookie for a session that could not be ended.
   */
  beforeIssue?: (handle: string) => Promise<void>;
}

export type RevokeAllReason = 'logout_all' | 'logout_others' | 'kill' | 'password_change' | 'user_deleted';

export interface SessionServiceDeps {
  store: SessionStore;
  log?: Logger;
  audit?: AuditLog;
  /**
   * The third clock (SESSION_REAUTH_WINDOW): ending *another* session needs a password
   * proved this recently (ms); 0 = off. Default 10 minutes.
   */
  reauthWindowMs?: number;
  /** The lifecycle counters event() moves with each event (src/ops/metrics.ts's). */
  metrics?: LifecycleCounters;
}

interface Counter {
  inc(value?: number): void;
}

/** The metrics of a session's lifecycle, moved by the events that record it. */
export interface LifecycleCounters {
  sessionsCreated: Counter;
  sessionsRefreshed: Counter;
  sessionsRevoked: Counter;
  sessionsExpired: { inc(labels: { reason: string }): void };
  replays: Counter;
  logins: { inc(labels: { result: 'ok' | 'failed' | 'throttled' }): void };
  /** Device binding events (optional: counters made before it existed lack it). */
  deviceBinding?: { inc(labels: { event: 'registered' | 'proved' | 'refused'; reason?: string }): void };
}

/** The caller's own session and the store time it was decided at (for the third clock). */
export interface Caller {
  session: SessionInfo;
  now: number;
}

export class SessionService {
  // Private: every read and change of a session goes through this class.
  readonly #store: SessionStore;
  readonly #log: Logger | undefined;
  readonly #audit: AuditLog;
  readonly #metrics: LifecycleCounters | undefined;
  readonly reauthWindowMs: number;

  constructor(deps: SessionServiceDeps) {
    this.#store = deps.store;
    this.#log = deps.log;
    this.#audit = deps.audit ?? noAudit;
    this.#metrics = deps.metrics;
    this.reauthWindowMs = deps.reauthWindowMs ?? 600_000;
  }

  /**
   * Whether the session's owner proved the password within `windowMs` of `now` (the
   * store's time of the request's one validate: no extra round trip). 0 = always.
   */
  isFresh(session: SessionInfo, now: number, windowMs = this.reauthWindowMs): boolean {
    return windowMs === 0 || now - session.authAt <= windowMs;
  }

  /** Throws 403 reauthentication_required unless the caller is fresh; nothing changes. */
  requireFresh(caller: Caller, windowMs = this.reauthWindowMs): void {
    if (!this.isFresh(caller.session, caller.now, windowMs)) throw reauthenticationRequired();
  }

  #count(e: AuditEvent): void {
    const m = this.#metrics;
    if (!m) return;
    switch (e.type) {
      case 'session.created': m.sessionsCreated.inc(); break;
      case 'session.refreshed': m.sessionsRefreshed.inc(); break;
      case 'session.revoked': if ((e.count ?? 1) > 0) m.sessionsRevoked.inc(e.count ?? 1); break;
      case 'session.reuse_detected': m.replays.inc(); break;
      case 'login.ok': m.logins.inc({ result: 'ok' }); break;
      case 'login.failed': m.logins.inc({ result: 'failed' }); break;
      case 'session.bound': m.deviceBinding?.inc({ event: 'registered' }); break;
      case 'session.proved': m.deviceBinding?.inc({ event: 'proved' }); break;
      case 'session.proof_refused': m.deviceBinding?.inc({ event: 'refused', reason: e.reason ?? 'unknown' }); break;
      default: break;
    }
  }

  get policy(): Readonly<SessionPolicy> {
    return this.#store.policy;
  }

  /**
   * The one place a lifecycle event is recorded: its log line, its audit entry and its
   * metric together. (Refused sign-ins are counted where they happen: their events are
   * aggregated, src/auth/auth-service.ts.)
   */
  async event(e: AuditEvent, msg: string): Promise<void> {
    this.#count(e);
    this.#log?.info({ ...e, type: undefined, event: e.type }, msg);
    await this.#audit.append(e).catch((err: unknown) => this.#log?.warn({ err, event: e.type }, 'audit append failed'));
  }

  /**
   * Whether a rotated cookie keeps an Expires: a `remember` session's does. Without
   * SESSION_REFRESH no session is refreshable and `remember` is not recorded, so the
   * cookie keeps the absolute deadline.
   */
  persistent(s: SessionInfo): boolean {
    return s.refreshable || !this.#store.policy.refreshEnabled;
  }

  /**
   * The one round trip of an authenticated request. A replay (the store revoked the
   * whole session) is audited; a timeout is logged. Nothing else is written.
   */
  async validate(token: string | undefined, actor?: Actor): Promise<ValidateResult> {
    return this.settle(await this.#store.validate(token), actor?.ip);
  }

  /**
   * What a validation decided, noted: a replay is audited, a timeout logged. For the
   * request path, which awaits the store's answer itself (one promise step less on
   * every authenticated request) and hands it here.
   */
  settle(r: ValidateResult, ip?: string): ValidateResult {
    if (r.state === 'login_required') this.#gone(r, { by: 'user', ip });
    return r;
  }

  #gone(r: { reason: string; handle?: string; userId?: string }, actor: Actor | undefined): void {
    if (r.reason === 'replay') void this.#replayed(r, actor);
    else if (r.reason === 'expired' || r.reason === 'idle') {
      this.#metrics?.sessionsExpired.inc({ reason: r.reason });
      this.#log?.info({ event: 'session.timeout', reason: r.reason, handle: r.handle }, 'session ended by timeout');
    }
  }

  #replayed(r: { handle?: string; userId?: string }, actor: Actor | undefined): Promise<void> {
    return this.event(
      { type: 'session.reuse_detected', userId: r.userId, handle: r.handle, ip: actor?.ip, reason: 'replay', by: 'system' },
      'rotated-away session ID replayed: session revoked',
    );
  }

  /**
   * The one sign-in, whoever proved the user's identity (password, provider, the
   * embedding app): the session cookie the browser came with is checked and ended, the
   * epoch is the one read before the credential was checked (or now), a fresh session is
   * created, and `login.ok` (user, handle, method) is audited and counted. null: a
   * revocation of all the user's sessions landed meanwhile (audited as a failed login);
   * the caller answers as for a wrong credential.
   */
  async signIn(i: SignInInput): Promise<IssuedSession | null> {
    const actor: Actor = { by: 'user', ...(i.ip === undefined ? {} : { ip: i.ip }) };
    const { user } = i;
    if (i.previousToken) {
      const before = await this.validate(i.previousToken, actor);
      if (before.state !== 'login_required') await this.logout(i.previousToken, before.session, actor, 'login');
    }
    // Read before create(): a logout-everywhere or account deletion after this read
    // bumps the epoch, and create() refuses.
    const expectedEpoch = i.expectedEpoch ?? (await this.epoch(user.tag));
    const issued = await this.start(
      {
        userId: user.id, username: user.username, tag: user.tag, remember: i.remember, ip: i.ip, userAgent: i.userAgent,
        expectedEpoch, ...(i.method.startsWith('oidc:') ? { authMethod: i.method } : {}),
      },
      actor,
    );
    if (!issued) {
      await this.event({ type: 'login.failed', username: user.username, ip: i.ip, reason: 'revoked_meanwhile' }, 'login raced a revocation');
      return null;
    }
    const { handle } = issued.session;
    if (i.beforeIssue) {
      try {
        await i.beforeIssue(handle);
      } catch (err) {
        // A revocation is admitted by a full Redis; if even that fails, nobody holds the
        // session's ID (no cookie was sent) and it lapses at its idle deadline.
        const by: Actor['by'] = i.method.startsWith('oidc:') ? (i.method as `oidc:${string}`) : 'user';
        await this.revokeHandles([handle], 'sign_in_incomplete', { ...actor, by }, user.id).catch(() => {});
        throw err;
      }
    }
    await this.event(
      { type: 'login.ok', username: user.username, userId: user.id, handle, ip: i.ip, ...(i.method === 'password' ? {} : { reason: i.method }) },
      'login',
    );
    return issued;
  }

  /** A new session for a user the caller has authenticated (fresh ID; null: the user's epoch moved). */
  async start(input: CreateInput & { username?: string }, actor: Actor = { by: 'user' }): Promise<IssuedSession | null> {
    const { username, ...create } = input;
    const issued = await this.#store.create(create);
    if (!issued) return null;
    const { userId } = input;
    await this.event({ type: 'session.created', username, userId, handle: issued.session.handle, ip: actor.ip }, 'session created');
    for (const old of issued.revokedHandles ?? []) {
      await this.event({ type: 'session.revoked', username, userId, handle: old, reason: 'max_sessions', by: 'system' }, 'session revoked');
    }
    return issued;
  }

  /** Rotates the ID of a stale or active session (a new idle window). */
  async refresh(token: string | undefined, actor: Actor = { by: 'user' }, opts: Pick<RotateOptions, 'proofWithinMs'> = {}): Promise<RefreshResult> {
    const r = await this.#store.refresh(token, opts);
    if (!r.ok) {
      if (r.reason === 'replay') await this.#replayed(r, actor);
      else this.#gone(r, actor);
      return r;
    }
    await this.event({ type: 'session.refreshed', userId: r.session.userId, handle: r.session.handle, ip: actor.ip }, 'session refreshed');
    return r;
  }

  /**
   * The password changed: rotate the presented session (its old IDs die at once, it is
   * freshly authenticated) and revoke every other one. Presented with an ID inside its
   * grace, this acts on the session the ID leads to. When the session died meanwhile
   * the others go all the same, and the answer says so.
   */
  async passwordChanged(token: string, owner: Owner, actor: Actor): Promise<RefreshResult> {
    const r = await this.#store.refresh(token, { grace: false, revokeOthers: true, reauthenticated: true });
    const base = { username: owner.username, userId: owner.userId, by: actor.by, ip: actor.ip };
    if (!r.ok) {
      const count = await this.#store.revokeAll(owner.tag);
      await this.event({ type: 'session.revoked', ...base, reason: 'password_change', count }, 'sessions revoked (password change)');
      return r;
    }
    await this.event({ type: 'password.changed', ...base, handle: r.session.handle }, 'password changed');
    await this.event({ type: 'session.revoked', ...base, reason: 'password_change', count: r.revoked ?? 0 }, 'other sessions revoked');
    return r;
  }

  /**
   * Logout: revokes the session the token names (also through a grace alias); idempotent.
   * `login`: the session a browser held when it signed in again (fixation defence).
   */
  async logout(
    token: string | undefined,
    session: SessionInfo | undefined,
    actor: Actor = { by: 'user' },
    reason: 'logout' | 'login' = 'logout',
  ): Promise<void> {
    if (!token) return;
    const done = await this.#store.revoke(token);
    if (done || session) {
      await this.event(
        { type: 'session.revoked', userId: session?.userId, handle: session?.handle, ip: actor.ip, reason, by: actor.by, count: done ? 1 : 0 },
        reason === 'login' ? 'previous session revoked at login' : 'logout',
      );
    }
  }

  /**
   * The password was proved again: rotate the session (its privilege changed: new ID,
   * same handle, same absolute deadline) and renew its authenticatedAt. Through an ID
   * inside its grace this rotates the session the ID leads to.
   */
  async reauthenticated(token: string, actor: Actor): Promise<RefreshResult> {
    const r = await this.#store.refresh(token, { reauthenticated: true });
    if (!r.ok) {
      if (r.reason === 'replay') await this.#replayed(r, actor);
      return r;
    }
    await this.event({ type: 'session.reauthenticated', userId: r.session.userId, handle: r.session.handle, ip: actor.ip }, 'password confirmed');
    return r;
  }

  /**
   * Revokes one session of `owner` by handle. false: no such session among the owner's
   * (another user's handle answers exactly like one that does not exist). With a
   * `caller` (a user acting from a session), ending another session than the caller's
   * own needs a recent password (403 reauthentication_required, nothing changed);
   * the admin CLI has no caller.
   */
  async revokeOne(owner: Owner | null, handle: string, actor: Actor, caller?: Caller): Promise<boolean> {
    const target = parseHandle(handle);
    if (!target || (owner && target.tag !== owner.tag)) return false;
    if (caller && target.handle !== caller.session.handle) this.requireFresh(caller);
    if (!(await this.#store.revokeHandle(target.handle))) return false;
    await this.event(
      { type: 'session.revoked', username: owner?.username, userId: owner?.userId, handle: target.handle, ip: actor.ip, reason: 'kill', by: actor.by, count: 1 },
      'session revoked',
    );
    return true;
  }

  /**
   * Revokes every session of a user but `exceptHandle`; returns how many were live.
   * `caller`: the handle of the session that asked (audit trail).
   */
  async revokeAll(owner: Owner, reason: RevokeAllReason, actor: Actor, opts: { exceptHandle?: string; caller?: string } = {}): Promise<number> {
    const count = await this.#store.revokeAll(owner.tag, opts.exceptHandle ? { exceptHandle: opts.exceptHandle } : {});
    await this.event(
      { type: 'session.revoked', username: owner.username, userId: owner.userId, handle: opts.caller ?? opts.exceptHandle, ip: actor.ip, reason, by: actor.by, count },
      reason === 'logout_others' ? 'sign out everywhere else' : 'sessions revoked',
    );
    return count;
  }

  /**
   * Revokes the sessions named by handle on someone else's word (an identity provider's
   * back-channel logout): one audit event with the count.
   */
  async revokeHandles(handles: readonly string[], reason: string, actor: Actor, userId?: string): Promise<number> {
    let count = 0;
    for (const h of handles) if (await this.#store.revokeHandle(h)) count++;
    await this.event({ type: 'session.revoked', userId, reason, by: actor.by, ip: actor.ip, count }, 'sessions revoked');
    return count;
  }

  /**
   * "Sign out everywhere else": every session of the caller's user but the caller's own.
   * It could lock the owner out when a thief does it, so it needs a recent password.
   */
  async signOutOthers(caller: Caller, actor: Actor): Promise<number> {
    this.requireFresh(caller);
    const s = caller.session;
    return this.revokeAll(ownerOf(s), 'logout_others', actor, { exceptHandle: s.handle });
  }

  /**
   * Device binding (DBSC registration): binds the caller's live session to the public key
   * its browser proved, once. 'already': another key is bound and stays.
   */
  async bind(ref: SessionRef, key: string, session: SessionInfo, actor: Actor): Promise<BindResult> {
    const r = await this.#store.bind(ref, key);
    if (r.result === 'bound' && session.boundAt === undefined) {
      await this.event({ type: 'session.bound', userId: session.userId, handle: session.handle, ip: actor.ip, by: 'user' }, 'session bound to a device key');
    }
    return r;
  }

  /** The device public key a session is bound to, or null. */
  boundKey(ref: SessionRef): Promise<string | null> {
    return this.#store.boundKey(ref);
  }

  /**
   * A signed refresh (DBSC): the device proved its key for the challenge issued at proof
   * time `provedAt`. Rotates the ID (its family's replay detection covers the old one) and
   * starts the proof clock again; 'proof_used' when a racing proof got there first.
   */
  async proved(token: string, provedAt: number, actor: Actor): Promise<RefreshResult> {
    const r = await this.#store.refresh(token, { proof: provedAt });
    if (!r.ok) {
      if (r.reason === 'replay') await this.#replayed(r, actor);
      return r;
    }
    await this.event({ type: 'session.proved', userId: r.session.userId, handle: r.session.handle, ip: actor.ip, by: 'user' }, 'device proved its key: session renewed');
    return r;
  }

  /** A refresh proof refused (nothing changed): audited with why, so a thief's attempts show. */
  proofRefused(session: SessionInfo | undefined, reason: string, actor: Actor): Promise<void> {
    return this.event(
      { type: 'session.proof_refused', userId: session?.userId, handle: session?.handle, ip: actor.ip, reason, by: 'user' },
      'device proof refused',
    );
  }

  /**
   * A request of a bound session past its proof (a copied cookie, or a device that has
   * not renewed yet): counted and logged, not audited one by one (a thief could flood the trail).
   */
  unproven(session: SessionInfo, ip: string | undefined): void {
    this.#metrics?.deviceBinding?.inc({ event: 'refused', reason: 'unproven' });
    this.#log?.info({ event: 'session.unproven', handle: session.handle, ip }, 'bound session past its proof refused');
  }

  /**
   * The request path's validation: the store's own promise, with no async frame of its
   * own (one per authenticated request); hand the answer to settle().
   */
  lookup(token: string): Promise<ValidateResult> {
    return this.#store.validate(token);
  }

  /** A cache hit for `token` (SESSION_CACHE), synchronously; undefined: call lookup(). */
  peek(token: string): Extract<ValidateResult, { state: 'active' }> | undefined {
    return this.#store.peek?.(token);
  }

  /** Whether this node can answer some validations without a round trip. */
  get peeks(): boolean {
    return this.#store.peek !== undefined;
  }

  /** Replaces a live session's app data (the ctx.session layer); false once it is gone. */
  updateData(ref: SessionRef, data: Record<string, unknown>): Promise<boolean> {
    return this.#store.updateData(ref, data);
  }

  list(tag: string): Promise<SessionInfo[]> {
    return this.#store.list(tag);
  }

  get(handle: string): Promise<SessionInfo | null> {
    return this.#store.get(handle);
  }

  epoch(tag: string): Promise<number> {
    return this.#store.epoch(tag);
  }
}
