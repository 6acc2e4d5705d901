/**
 * What back-channel logout needs to remember: which of our sessions were signed in
 * under a provider session (`sid`), and which logout tokens were already used (`jti`:
 * a replayed token is refused). The sid index lives as long as a session can; the
 * handles in it are names, not secrets, and a revoked or expired one simply is gone.
 */
import { sha256 } from '../sessions/token.js';
import { toStoreError } from '../store/connection.js';
import type { RedisClient } from '../store/connection.js';
import type { KeySpace } from '../store/keys.js';
import { issuerHash } from './identity-store.js';

export interface OidcLogoutStore {
  addSession(issuer: string, sid: string, handle: string, ttlMs: number): Promise<void>;
  /** The handles under that provider session, forgotten as they are read. */
  takeSessions(issuer: string, sid: string): Promise<string[]>;
  /** true the first time this token id is seen (then remembered for ttlMs). */
  firstUse(issuer: string, jti: string, ttlMs: number): Promise<boolean>;
}

const storeError = (err: unknown): never => {
  throw toStoreError(err);
};

export class RedisOidcLogouts implements OidcLogoutStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeySpace,
  ) {}

  #sid(issuer: string, sid: string) {
    return this.keys.oidcSid(issuerHash(issuer), sha256(sid));
  }

  async addSession(issuer: string, sid: string, handle: string, ttlMs: number): Promise<void> {
    const key = this.#sid(issuer, sid);
    // Every session has the same absolute lifetime: the newest one outlives the others.
    await this.client.multi().sadd(key, handle).pexpire(key, ttlMs).exec().catch(storeError);
  }

  async takeSessions(issuer: string, sid: string): Promise<string[]> {
    const key = this.#sid(issuer, sid);
    const [[err, members] = []] = (await this.client.multi().smembers(key).del(key).exec().catch(storeError)) ?? [];
    if (err) storeError(err);
    return (members as string[] | undefined) ?? [];
  }

  async firstUse(issuer: string, jti: string, ttlMs: number): Promise<boolean> {
    const ok = await this.client.set(this.keys.oidcLogoutJti(sha256(`${issuer} ${jti}`)), '1', 'PX', ttlMs, 'NX').catch(storeError);
    return ok === 'OK';
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

  async takeSessions(issuer: string, sid: string): Promise<string[]> {
    const k = `${issuer} ${sid}`;
    const e = this.#sids.get(k);
    this.#sids.delete(k);
    return e && e.until > this.now() ? [...e.handles] : [];
  }

  async firstUse(issuer: string, jti: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    this.#sweep(now);
    const k = `${issuer} ${jti}`;
    if (this.#jtis.has(k)) return false;
    this.#jtis.set(k, now + ttlMs);
    return true;
  }
}
