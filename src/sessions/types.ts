/**
 * The session store contract (docs/design.md). Two implementations pass one contract
 * suite (test/contract): RedisStore (production, shared by every node) and MemoryStore
 * (embedded, one process). The HTTP layer and the admin CLI use only this interface.
 *
 * Every method either answers or throws StoreUnavailableError; "the store failed" is
 * never reported as "no session".
 */

/** Timing policy for new sessions and for the validate/refresh decisions. */
export interface SessionPolicy {
  /** Idle timeout (access-token analog), ms. */
  idleTimeoutMs: number;
  /** Absolute lifetime from creation (refresh-token analog), ms. */
  absoluteLifetimeMs: number;
  /** How long a rotated-away ID keeps answering as its successor, ms. */
  rotationGraceMs: number;
  /** lastActiveAt is rewritten only when older than this; 0 = on every request. */
  touchIntervalMs: number;
  /** 0 = no cap; N = at the N+1th session of a user the oldest one is revoked (default 100). */
  maxPerUser: number;
  /** false = SESSION_REFRESH=off: an idle lapse always ends the session. */
  refreshEnabled: boolean;
}

/** What the store knows about one session; never contains the secret. */
export interface SessionInfo {
  /** Stable public name (survives rotation). */
  handle: string;
  userId: string;
  /** The user's routing tag. */
  tag: string;
  createdAt: number;
  lastActiveAt: number;
  idleTimeoutMs: number;
  /** lastActiveAt + idleTimeoutMs (capped by the absolute deadline). */
  idleExpiresAt: number;
  absoluteExpiresAt: number;
  /** false for `remember: false` logins and with SESSION_REFRESH=off. */
  refreshable: boolean;
  /** When the user last proved a password for this session. */
  authAt: number;
  ip: string;
  userAgent: string;
  /** Small app data (JSON object), size-capped by the store. */
  data: Record<string, unknown>;
  /**
   * How the user signed in: `oidc:<issuer>`; absent = a password (records written
   * before the field existed, and password logins, which keep the record small).
   * Answered by list(), get() and refresh(); validate() may leave it out (the hot path
   * does not read it).
   */
  authMethod?: string;
  /**
   * Bound to a device key (DBSC): when the session last proved it (ms). Absent: not
   * bound. The proof clock does not slide; docs/security.md, "Device binding".
   */
  boundAt?: number;
}

export type LoginRequiredReason =
  | 'unknown' // malformed, never issued, or already removed
  | 'expired' // absolute lifetime passed
  | 'idle' // idle window lapsed and not refreshable
  | 'replay' // a rotated-away ID presented after the grace period: the session was revoked
  | 'unproven'; // a bound session whose last proof of its device key is older than the bound lifetime (RotateOptions.proofWithinMs)

export type ValidateResult =
  | {
      state: 'active';
      session: SessionInfo;
      /** Store's time of the decision (ms). */
      now: number;
      /** true when the ID was a rotated-away one inside its grace period. */
      viaGrace: boolean;
      /** Opaque reference to the current record, for updateData. */
      ref: SessionRef;
    }
  | { state: 'stale'; session: SessionInfo; now: number; ref: SessionRef }
  | {
      state: 'login_required';
      reason: LoginRequiredReason;
      now: number;
      handle?: string;
      /** For a replay: the user whose session it revoked (audit trail). */
      userId?: string;
    };

/** Names the current record of a session (tag + hash of its current ID); not a secret. */
export interface SessionRef {
  tag: string;
  idHash: string;
}

export interface CreateInput {
  userId: string;
  tag: string;
  /** false: no refresh window, browser-session cookie. Default true. */
  remember?: boolean;
  ip?: string;
  userAgent?: string;
  data?: Record<string, unknown>;
  /** How the user signed in (SessionInfo.authMethod); unset = a password. */
  authMethod?: string;
  /**
   * The user's revocation epoch read before the password was verified. When given and
   * the epoch moved since (a logout-all or password change ran meanwhile), nothing is
   * created: create() returns null (docs/design.md, invariant 5).
   */
  expectedEpoch?: number;
}

export interface IssuedSession {
  /** The cookie value `<tag>.<secret>`: give it to the client, never log or store it. */
  token: string;
  session: SessionInfo;
  now: number;
  /** Handles of older sessions revoked to honour SESSION_MAX_PER_USER (for the audit log). */
  revokedHandles?: string[];
}

export type RefreshResult =
  | {
      ok: true;
      token: string;
      session: SessionInfo;
      now: number;
      /** With `revokeOthers`: how many other live sessions the rotation ended. */
      revoked?: number;
    }
  | { ok: false; reason: LoginRequiredReason; now: number; handle?: string; userId?: string }
  /** A proof's rotation found the session proved since its challenge was issued: nothing changed. */
  | { ok: false; reason: 'proof_used'; now: number; handle?: string; userId?: string };

export interface RotateOptions {
  /**
   * Keep the old ID as a grace alias + replay marker (refresh) or kill it at once with
   * no marker (password change, docs/design.md, "Decisions"). Default true.
   */
  grace?: boolean;
  /** Also revoke every other session of the user (password change). */
  revokeOthers?: boolean;
  /** Mark the session as freshly authenticated (authAt = now). */
  reauthenticated?: boolean;
  /**
   * A device-key proof (DBSC refresh): the session's last proof time its challenge was
   * issued for. The rotation happens only while the record still has it (so a challenge
   * answers once) and records now as the new proof time.
   */
  proof?: number;
  /**
   * SESSION_BOUND_COOKIE_LIFETIME: a bound session whose last proof is older is not
   * rotated (reason 'unproven'), in the same step that judges it; only a proof renews it.
   */
  proofWithinMs?: number;
}

/** What binding a session to a device key did (SessionStore.bind). */
export type BindResult = { result: 'bound' | 'already' | 'gone'; now: number };

export interface SessionStore {
  /** Issues a fresh random ID (never one the client chose). null: epoch moved. */
  create(input: CreateInput, policy?: Partial<SessionPolicy>): Promise<IssuedSession | null>;
  /** Validate and slide in one round trip. Malformed tokens answer without a round trip. */
  validate(token: string | undefined): Promise<ValidateResult>;
  /**
   * The answer validate would give, when this node has it without a round trip (a
   * SESSION_CACHE hit); undefined means "ask validate". Synchronous, so a cached request
   * awaits nothing before its handler runs. Only an active session is ever answered.
   */
  peek?(token: string): Extract<ValidateResult, { state: 'active' }> | undefined;
  /**
   * Rotate the ID of a stale or active session (refresh). Exactly one rotation happens;
   * racing callers presenting the same old ID inside the grace period all get ok with
   * the SAME successor token: the successor secret is derived from the old secret and
   * a random nonce kept only for the grace period (so the store never holds a usable
   * secret, and a dump plus an old cookie is useless once the grace is over).
   */
  refresh(token: string | undefined, opts?: RotateOptions): Promise<RefreshResult>;
  /** Replace the app data of a session, only if it still exists. */
  updateData(ref: SessionRef, data: Record<string, unknown>): Promise<boolean>;
  /**
   * Binds the live session `ref` names to a device public key (DBSC registration), once:
   * 'already' when it is bound, 'gone' when the record is not there. Its proof time is now.
   */
  bind(ref: SessionRef, key: string): Promise<BindResult>;
  /** The device public key a session is bound to, or null (unbound or gone). */
  boundKey(ref: SessionRef): Promise<string | null>;
  /** Revoke the session this token names (also via a grace alias). Idempotent. */
  revoke(token: string | undefined): Promise<boolean>;
  /** Revoke one session of a user by handle. false: no such session. */
  revokeHandle(handle: string): Promise<boolean>;
  /** Revoke every session of the user (bumps the epoch). Returns how many were live. */
  revokeAll(tag: string, opts?: { exceptHandle?: string }): Promise<number>;
  /** One session by handle, or null. */
  get(handle: string): Promise<SessionInfo | null>;
  /** The user's live sessions (stale ones included), oldest first. */
  list(tag: string): Promise<SessionInfo[]>;
  /** The user's revocation epoch (0 when never revoked). */
  epoch(tag: string): Promise<number>;
  /** Round trip to the store; throws StoreUnavailableError when it does not answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
  readonly policy: Readonly<SessionPolicy>;
}
