/**
 * Provider identity → local user. An identity is linked to one account, made at its
 * first sign-in under a name derived from `preferred_username` or `email`, made unique
 * with a suffix. Never linked by name or e-mail to an account that already exists: a
 * provider that lets users pick either would otherwise hand over that account.
 *
 * The account gets the argon2id hash of a random password nobody knows, so it cannot
 * sign in with a password (and fails like any wrong password, in the same time) until
 * an administrator sets one (`user passwd`).
 */
import { randomBytes } from 'node:crypto';
import { AppError } from '../errors.js';
import { publicUser } from '../users/memory-user-store.js';
import type { User, UserStore } from '../users/types.js';
import { USERNAME_MAX } from '../users/username.js';
import type { IdentityStore } from './identity-store.js';

export interface ProviderIdentity {
  issuer: string;
  subject: string;
  preferredUsername?: unknown;
  email?: unknown;
  /**
   * The UserInfo claims, asked only when an account is created and the ID token names
   * neither (many providers put profile claims only there).
   */
  userInfo?: () => Promise<{ preferred_username?: unknown; email?: unknown }>;
}

export interface UserMappingDeps {
  users: UserStore;
  identities: IdentityStore;
  /** The hash of a fresh random password (PasswordHasher.hash). */
  hashPassword(password: string): Promise<string>;
}

/** Room for `-` and a suffix of up to 8 characters. */
const BASE_MAX = USERNAME_MAX - 9;

/** A valid user name from the provider's claims (NFKC, lower case, [a-z0-9._@-]). */
export function baseUsername(id: Pick<ProviderIdentity, 'preferredUsername' | 'email'>): string {
  for (const raw of [id.preferredUsername, id.email]) {
    if (typeof raw !== 'string') continue;
    const name = raw
      .slice(0, 256)
      .normalize('NFKC')
      .toLowerCase()
      .replace(/[^a-z0-9._@-]+/g, '-')
      .slice(0, BASE_MAX)
      .replace(/^[-.]+|[-.]+$/g, '');
    if (name) return name;
  }
  return 'user';
}

function* candidates(base: string): Generator<string> {
  yield base;
  for (let i = 2; i <= 9; i++) yield `${base}-${i}`;
  // A crowded name: random suffixes, which do not collide in practice.
  for (let i = 0; i < 5; i++) yield `${base}-${randomBytes(6).toString('base64url').toLowerCase().replace(/[^a-z0-9]/g, '0')}`;
}

async function nameFor(id: ProviderIdentity): Promise<string> {
  if (typeof id.preferredUsername === 'string' || typeof id.email === 'string' || !id.userInfo) return baseUsername(id);
  // Naming is a convenience: a provider whose UserInfo fails still signs the user in.
  const more = await id.userInfo().catch(() => ({ preferred_username: undefined, email: undefined }));
  return baseUsername({ preferredUsername: more.preferred_username, email: more.email });
}

async function createUnique(d: UserMappingDeps, base: string): Promise<User> {
  const hash = await d.hashPassword(randomBytes(32).toString('base64url'));
  for (const name of candidates(base)) {
    try {
      return await d.users.create(name, hash);
    } catch (err) {
      // 'bad_request' is "the name is taken"; a store failure goes up (503).
      if (!(err instanceof AppError) || err.code !== 'bad_request') throw err;
    }
  }
  throw new Error('no free user name');
}

export async function localUser(id: ProviderIdentity, d: UserMappingDeps): Promise<{ user: User; created: boolean }> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const link = await d.identities.find(id.issuer, id.subject);
    if (link) {
      const user = await d.users.find(link.username);
      if (user && user.tag === link.tag) return { user: publicUser(user), created: false };
      // The account was deleted (its name maybe reused since): the identity starts afresh.
      await d.identities.unlink(id.issuer, id.subject, link);
      continue;
    }
    const user = await createUnique(d, await nameFor(id));
    if (await d.identities.link(id.issuer, id.subject, { username: user.username, tag: user.tag })) {
      return { user, created: true };
    }
    // A first sign-in of the same identity in another tab won the link: its account stands.
    await d.users.delete(user.username);
  }
  throw new Error('the identity link keeps changing');
}
