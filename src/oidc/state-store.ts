/**
 * One-time records of OpenID Connect sign-ins in flight, by the hash of their `state`.
 * `take` reads and deletes in one step (GETDEL), so a callback URL works once: a replay,
 * or a second tab racing the first, finds nothing. Records live at most STATE_TTL_MS.
 *
 * The record holds no secret: the PKCE code verifier is derived from the browser's
 * pre-session cookie (src/oidc/routes.ts), of which only a hash is kept here, so a copy
 * of Redis cannot finish someone's sign-in.
 *
 * Anyone can start a sign-in, so what that stores is bounded: `countStart` counts the
 * starts of one client address per STATE_TTL_MS window (at most twice the limit of
 * records alive at once, across a window boundary), and `returnTo` is capped.
 */
import { toStoreError } from '../store/connection.js';
import type { RedisClient } from '../store/connection.js';
import type { KeySpace } from '../store/keys.js';

/** Long enough for a sign-in at the provider, a password reset there included. */
export const STATE_TTL_MS = 5 * 60_000;

/** Longer paths are dropped (the sign-in ends at "/"): a record stays under 1 KB. */
export const MAX_RETURN_TO_CHARS = 512;

export interface PendingSignIn {
  /** Hash of the pre-session cookie that started it: the callback must carry the same. */
  pre: string;
  nonce: string;
  /** Already validated path, or null. */
  returnTo: string | null;
  /**
   * A re-authentication of a signed-in session rather than a sign-in: the session's
   * handle, and when it was asked for (ms; the provider's `auth_time` must not be older).
   */
  reauth?: { handle: string; at: number };
}

export interface StartCount {
  /** Starts from this address in the current window, this one included. */
  count: number;
  /** When the window ends (ms from now). */
  resetInMs: number;
}

export interface OidcStateStore {
  put(stateHash: string, rec: PendingSignIn, ttlMs?: number): Promise<void>;
  /** The record, deleted as it is read; null when unknown, used or expired. */
  take(stateHash: string): Promise<PendingSignIn | null>;
  /** Counts a start from `addressGroup` in its STATE_TTL_MS window. */
  countStart(addressGroup: string): Promise<StartCount>;
}

function decode(json: string | null): PendingSignIn | null {
  if (!json) return null;
  try {
    const r = JSON.parse(json) as Partial<PendingSignIn>;
    if (typeof r.pre !== 'string' || typeof r.nonce !== 'string') return null;
    const base = { pre: r.pre, nonce: r.nonce, returnTo: typeof r.returnTo === 'string' ? r.returnTo : null };
    const ra = r.reauth as Partial<PendingSignIn['reauth']> | undefined;
    if (ra === undefined) return base;
    // A re-authentication record that does not say which session must not pass for a sign-in.
    if (typeof ra?.handle !== 'string' || typeof ra.at !== 'number') return null;
    return { ...base, reauth: { handle: ra.handle, at: ra.at } };
  } catch {
    return null;
  }
}

const storeError = (err: unknown): never => {
  throw toStoreError(err);
};

export class RedisOidcStates implements OidcStateStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeySpace,
  ) {}

  async put(stateHash: string, rec: PendingSignIn, ttlMs = STATE_TTL_MS): Promise<void> {
    await this.client.set(this.keys.oidcState(stateHash), JSON.stringify(rec), 'PX', ttlMs).catch(storeError);
  }

  async take(stateHash: string): Promise<PendingSignIn | null> {
    return decode(await this.client.getdel(this.keys.oidcState(stateHash)).catch(storeError));
  }

  async countStart(addressGroup: string): Promise<StartCount> {
    const key = this.keys.oidcStarts(addressGroup);
    // A fixed window from the first start: the expiry is set once, never pushed back.
    const replies = await this.client.multi().set(key, '0', 'PX', STATE_TTL_MS, 'NX').incr(key).pttl(key).exec().catch(storeError);
    for (const [err] of replies ?? []) if (err) storeError(err);
    const count = Number(replies?.[1]?.[1]);
    const ttl = Number(replies?.[2]?.[1]);
    return { count, resetInMs: ttl > 0 ? ttl : STATE_TTL_MS };
  }
}

export class MemoryOidcStates implements OidcStateStore {
  readonly #recs = new Map<string, { json: string; until: number }>();
  readonly #starts = new Map<string, { count: number; until: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  async put(stateHash: string, rec: PendingSignIn, ttlMs = STATE_TTL_MS): Promise<void> {
    const now = this.now();
    // Expired records go on each write, so abandoned sign-ins cannot pile up.
    for (const [k, v] of this.#recs) if (v.until <= now) this.#recs.delete(k);
    this.#recs.set(stateHash, { json: JSON.stringify(rec), until: now + ttlMs });
  }

  async take(stateHash: string): Promise<PendingSignIn | null> {
    const r = this.#recs.get(stateHash);
    this.#recs.delete(stateHash);
    return r && r.until > this.now() ? decode(r.json) : null;
  }

  async countStart(addressGroup: string): Promise<StartCount> {
    const now = this.now();
    for (const [k, v] of this.#starts) if (v.until <= now) this.#starts.delete(k);
    const w = this.#starts.get(addressGroup) ?? { count: 0, until: now + STATE_TTL_MS };
    w.count++;
    this.#starts.set(addressGroup, w);
    return { count: w.count, resetInMs: w.until - now };
  }
}
