/**
 * What back-channel logout needs to remember: which of our sessions were signed in
 * under a provider session (`sid`), and which logout tokens were already used (`jti`:
 * a replayed token is refused). The sid index lives as long as a session can; the
 * handles in it are names, not secrets, and a revoked or expired one simply is gone.
 *
 * A logout must work when Redis is full (maxmemory, noeviction), as every other way of
 * ending a session does: reading the index, removing from it and checking a `jti` need no
 * memory, and the `jti` is recorded by a script allowed past the limit. Only the
 * provider can mint a token that gets that far, so what it may add is a few bytes per
 * real logout, gone after LOGOUT_TOKEN_MAX_AGE_MS.
 */
import { sha256 } from '../sessions/token.js';
import { toStoreError } from '../store/connection.js';
import type { RedisClient } from '../store/connection.js';
import type { KeySpace } from '../store/keys.js';
import { issuerHash } from './identity-store.js';

export interface OidcLogoutStore {
  /** Adds a session to the index of its provider session; throws when it was not stored. */
  addSession(issuer: string, sid: string, handle: string, ttlMs: number): Promise<void>;
  /** The handles signed in under that provider session. */
  sessions(issuer: string, sid: string): Promise<string[]>;
  /**
   * Drops revoked handles from a provider session's index: only those, so a session
   * signed in under it while its logout ran stays findable by a later logout.
   */
  forget(issuer: string, sid: string, handles: readonly string[]): Promise<void>;
  /** Whether this token id was already used. */
  used(issuer: string, jti: string): Promise<boolean>;
  /** Remembers a used token id for ttlMs, even when Redis is full. */
  markUsed(issuer: string, jti: string, ttlMs: number): Promise<void>;
}

const storeError = (err: unknown): never => {
  throw toStoreError(err);
};

// allow-oom: see the header. NX keeps the first record's expiry when two deliveries race.
const MARK_USED = "#!lua flags=allow-oom\nreturn redis.call('SET', KEYS[1], '1', 'PX', ARGV[1], 'NX')";

export class RedisOidcLogouts implements OidcLogoutStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeySpace,
  ) {}

  #sid(issuer: string, sid: string) {
    return this.keys.oidcSid(issuerHash(issuer), sha256(sid));
  }

  #jti(issuer: string, jti: string) {
    return this.keys.oidcLogoutJti(sha256(`${issuer} ${jti}`));
  }

  async addSession(issuer: string, sid: string, handle: string, ttlMs: number): Promise<void> {
    const key = this.#sid(issuer, sid);
    // Every session has the same absolute lifetime: the newest one outlives the others.
    const replies = await this.client.multi().sadd(key, handle).pexpire(key, ttlMs).exec().catch(storeError);
    // EXEC succeeds with a failed command inside (a wrong type, say): that is no entry either.
    for (const [err] of replies ?? []) if (err) storeError(err);
  }

  async sessions(issuer: string, sid: string): Promise<string[]> {
    return this.client.smembers(this.#sid(issuer, sid)).catch(storeError);
  }

  async forget(issuer: string, sid: string, handles: readonly string[]): Promise<void> {
    // SREM needs no memory; Redis deletes the set with its last member.
    if (handles.length > 0) await this.client.srem(this.#sid(issuer, sid), ...handles).catch(storeError);
  }

  async used(issuer: string, jti: string): Promise<boolean> {
    return (await this.client.exists(this.#jti(issuer, jti)).catch(storeError)) === 1;
  }

  async markUsed(issuer: string, jti: string, ttlMs: number): Promise<void> {
    await this.client.eval(MARK_USED, 1, this.#jti(issuer, jti), String(ttlMs)).catch(storeError);
  }
}

export class MemoryOidcLogouts implements OidcLogoutStore {
  readonly #sids = new Map<string, { handles: Set<string>; until: number }>();
  readonly #jtis = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  #sweep(now: number) {
    for (const [k, v] of this.#sids) if (v.until <= now) this.#sids.delete(k);
    for (const [k, until] of this.#jtis) if (until <= now) this.#jtis.delete(k);
  }

  async addSession(issuer: string, sid: string, handle: string, ttlMs: number): Promise<void> {
    const now = this.now();
    this.#sweep(now);
    const k = `${issuer} ${sid}`;
    const e = this.#sids.get(k) ?? { handles: new Set<string>(), until: 0 };
    e.handles.add(handle);
    e.until = Math.max(e.until, now + ttlMs);
    this.#sids.set(k, e);
  }

  async sessions(issuer: string, sid: string): Promise<string[]> {
    const e = this.#sids.get(`${issuer} ${sid}`);
    return e && e.until > this.now() ? [...e.handles] : [];
  }

  async forget(issuer: string, sid: string, handles: readonly string[]): Promise<void> {
    const k = `${issuer} ${sid}`;
    const e = this.#sids.get(k);
    if (!e) return;
    for (const h of handles) e.handles.delete(h);
    if (e.handles.size === 0) this.#sids.delete(k);
  }

  async used(issuer: string, jti: string): Promise<boolean> {
    const until = this.#jtis.get(`${issuer} ${jti}`);
    return until !== undefined && until > this.now();
  }

  async markUsed(issuer: string, jti: string, ttlMs: number): Promise<void> {
    const now = this.now();
    this.#sweep(now);
    const k = `${issuer} ${jti}`;
    if (!((this.#jtis.get(k) ?? 0) > now)) this.#jtis.set(k, now + ttlMs);
  }
}
