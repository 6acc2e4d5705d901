/**
 * The Redis session store as the server and the admin CLI both build it: a RedisStore,
 * behind ReplicaAckedStore when REDIS_WAIT_REPLICAS asks that writes be confirmed by
 * replicas (with `writes`, a connection of their own, because WAIT blocks it).
 */
import { redisTime } from '../clock.js';
import { type Config, policyFromConfig } from '../config.js';
import type { RedisClient } from './connection.js';
import type { KeySpace } from './keys.js';
import { type RedisBackedStore, RedisStore } from './redis-store.js';
import { ReplicaAckedStore } from './replica-acks.js';

export interface StackOptions {
  client: RedisClient;
  /** The connection confirmed writes use; defaults to `client` (one command at a time). */
  writes?: RedisClient;
  keys: KeySpace;
  config: Readonly<Config>;
  /** close() leaves the connections to the caller. */
  ownsClient?: boolean;
}

export function redisSessionStore({ client, writes, keys, config, ownsClient }: StackOptions): RedisBackedStore {
  const opts = {
    client, keys, policy: policyFromConfig(config), clock: redisTime, retryBudgetMs: config.redisRetryBudgetMs,
    ...(ownsClient === undefined ? {} : { ownsClient }),
  };
  if (config.redisWaitReplicas === 0) return new RedisStore(opts);
  return new ReplicaAckedStore({
    reads: new RedisStore(opts),
    writes: new RedisStore({ ...opts, client: writes ?? client }),
    replicas: config.redisWaitReplicas,
    timeoutMs: config.redisWaitTimeoutMs,
  });
}
