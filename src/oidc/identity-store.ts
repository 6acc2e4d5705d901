/**
 * Links from a provider identity (issuer, `sub`) to a local user. The link names the
 * user AND its routing tag: user names are freed when an account is deleted, so a link
 * whose user has another tag now (deleted, and the name reused) is stale and must not
 * sign anyone into the new account.
 *
 * Redis: `keys.oidcIdentity(hash(issuer), sub)` → `<tag> <username>` (SET NX, so two
 * first sign-ins racing end on one account), and `keys.oidcUserIdentities(username)`,
 * a set of `<issuer> <sub>` for the CLI.
 */
import { createHash } from 'node:crypto';
import { toStoreError } from '../store/connection.js';
import type { RedisClient } from '../store/connection.js';
import type { KeySpace } from '../store/keys.js';

export interface IdentityLink {
  username: string;
  tag: string;
}

export interface IdentityStore {
  find(issuer: string, subject: string): Promise<IdentityLink | null>;
  /** false: the identity is already linked (to the link `find` now returns). */
  link(issuer: string, subject: string, to: IdentityLink): Promise<boolean>;
  /** Removes a stale link (only while it still points at `was`). */
  unlink(issuer: string, subject: string, was: IdentityLink): Promise<void>;
  /** `<issuer> <sub>` of each identity linked to the user. */
  identities(username: string): Promise<string[]>;
}

/** Issuer URLs are long and may hold any character: keys carry a hash of them. */
export const issuerHash = (issuer: string): string => createHash('sha256').update(issuer).digest('base64url').slice(0, 22);

const encode = (l: IdentityLink) => `${l.tag} ${l.username}`;
function decode(v: string | null): IdentityLink | null {
  if (!v) return null;
  const at = v.indexOf(' ');
  return at > 0 ? { tag: v.slice(0, at), username: v.slice(at + 1) } : null;
}

const storeError = (err: unknown): never => {
  throw toStoreError(err);
};

export class RedisIdentityStore implements IdentityStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeySpace,
  ) {}

  #key(issuer: string, subject: string) {
    return this.keys.oidcIdentity(issuerHash(issuer), subject);
  }

  async find(issuer: string, subject: string): Promise<IdentityLink | null> {
    return decode(await this.client.get(this.#key(issuer, subject)).catch(storeError));
  }

  async link(issuer: string, subject: string, to: IdentityLink): Promise<boolean> {
    const ok = await this.client.set(this.#key(issuer, subject), encode(to), 'NX').catch(storeError);
    if (ok !== 'OK') return false;
    // A separate key (another Cluster slot): the reverse index is for display only.
    await this.client.sadd(this.keys.oidcUserIdentities(to.username), `${issuer} ${subject}`).catch(storeError);
    return true;
  }

  async unlink(issuer: string, subject: string, was: IdentityLink): Promise<void> {
    const key = this.#key(issuer, subject);
    // Compare-and-delete: a link a racing sign-in just made must stay.
    await this.client
      .eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", 1, key, encode(was))
      .catch(storeError);
    await this.client.srem(this.keys.oidcUserIdentities(was.username), `${issuer} ${subject}`).catch(storeError);
  }

  async identities(username: string): Promise<string[]> {
    return (await this.client.smembers(this.keys.oidcUserIdentities(username)).catch(storeError)).sort();
  }
}

export class MemoryIdentityStore implements IdentityStore {
  readonly #links = new Map<string, IdentityLink>();

  async find(issuer: string, subject: string): Promise<IdentityLink | null> {
    const l = this.#links.get(`${issuer} ${subject}`);
    return l ? { ...l } : null;
  }

  async link(issuer: string, subject: string, to: IdentityLink): Promise<boolean> {
    const k = `${issuer} ${subject}`;
    if (this.#links.has(k)) return false;
    this.#links.set(k, { ...to });
    return true;
  }

  async unlink(issuer: string, subject: string, was: IdentityLink): Promise<void> {
    const k = `${issuer} ${subject}`;
    const l = this.#links.get(k);
    if (l && l.tag === was.tag && l.username === was.username) this.#links.delete(k);
  }

  async identities(username: string): Promise<string[]> {
    return [...this.#links].filter(([, l]) => l.username === username).map(([k]) => k).sort();
  }
}
