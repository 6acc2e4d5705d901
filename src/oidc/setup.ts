/**
 * Assembling OpenID Connect sign-in for an app: discovery (at start, so a wrong or
 * unreachable issuer stops the start) and the stores matching the session store's.
 */
import type { RedisClient } from '../store/connection.js';
import { keySpace } from '../store/keys.js';
import { discoverOidc } from './client.js';
import type { OidcConfig } from './config.js';
import { MemoryIdentityStore, RedisIdentityStore } from './identity-store.js';
import { MemoryOidcLogouts, RedisOidcLogouts } from './logout-store.js';
import type { OidcDeps } from './routes.js';
import { MemoryOidcStates, RedisOidcStates } from './state-store.js';

/** Redis: shared by every node under `keyPrefix`; no client: the embedded store's twins. */
export function oidcStores(redis: RedisClient | undefined, keyPrefix: string): Omit<OidcDeps, 'client'> {
  if (!redis) return { states: new MemoryOidcStates(), identities: new MemoryIdentityStore(), logouts: new MemoryOidcLogouts() };
  const keys = keySpace(keyPrefix);
  return {
    states: new RedisOidcStates(redis, keys),
    identities: new RedisIdentityStore(redis, keys),
    logouts: new RedisOidcLogouts(redis, keys),
  };
}

/** Throws OidcDiscoveryError when the provider cannot be discovered. */
export async function setupOidc(settings: OidcConfig, redis: RedisClient | undefined, keyPrefix: string): Promise<OidcDeps> {
  return { client: await discoverOidc(settings), ...oidcStores(redis, keyPrefix) };
}
