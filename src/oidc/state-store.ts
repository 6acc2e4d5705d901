/**
 * One-time records of OpenID Connect sign-ins in flight, by the hash of their `state`.
 * `take` reads and deletes in one step (GETDEL), so a callback URL works once: a replay,
 * or a second tab racing the first, finds nothing. Records live at most STATE_TTL_MS.
 *
 * The record holds no secret: the PKCE code verifier is derived from the browser's
 * pre-session cookie (src/oidc/flow.ts), of which only a hash is kept here, so a copy
 * of Redis cannot finish someone's sign-in.
 */
import { toStoreError } from '../store/connection.js';
import type { RedisClient } from '../store/connection.js';
import type { KeySpace } from '../store/keys.js';

export const STATE_TTL_MS = 10 * 60_000;

export interface PendingSignIn {
  /** Hash of the pre-session cookie that started it: the callback must carry the same. */
  pre: string;
  nonce: string;
  /** Already validated path, or null. */
  returnTo: string | null;
}

export interface OidcStateStore {
  put(stateHash: string, rec: PendingSignIn, ttlMs?: number): Promise<void>;
  /** The record, deleted as it is read; null when unknown, used or expired. */
  take(stateHash: string): Promise<PendingSignIn | null>;
}

function decode(json: string | null): PendingSignIn | null {
  if (!json) return null;
  try {
    const r = JSON.parse(json) as Partial<PendingSignIn>;
    if (typeof r.pre !== 'string' || typeof r.nonce !== 'string') return null;
    return { pre: r.pre, nonce: r.nonce, returnTo: typeof r.returnTo === 'string' ? r.returnTo : null };
  } catch {
    return null;
  }
}

export class RedisOidcStates implements OidcStateStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeySpace,
  ) {}

  async put(stateHash: string, rec: PendingSignIn, ttlMs = STATE_TTL_MS): Promise<void> {
    await this.client.set(this.keys.oidcState(stateHash), JSON.stringify(rec), 'PX', ttlMs).catch((err: unknown) => {
      throw toStoreError(err);
    });
  }

  async take(stateHash: string): Promise<PendingSignIn | null> {
    const json = await this.client.getdel(this.keys.oidcState(stateHash)).catch((err: unknown) => {
      throw toStoreError(err);
    });
    return decode(json);
  }
}

export class MemoryOidcStates implements OidcStateStore {
  readonly #recs = new Map<string, { json: string; until: number }>();

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
}
