/**
 * What a Redis must be before sessions are kept in it, checked at start by the server
 * and by the library's ready(): a policy that never evicts (an evicted revocation marker
 * or session index would silently undo a revocation), and the database the URL names
 * (ioredis reports a failed SELECT as a connection error and then carries on in
 * database 0, mixing this deployment's keys with whatever lives there).
 */
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../log.js';
import { describeConnectError, isAccessError, type RedisClient } from './connection.js';

/** A Redis this package cannot or will not keep sessions in; the message says why. */
export class UnsafeRedisError extends Error {}

/** Resolves when the connection is ready; rejects after `ms`, or at once when Redis refuses the login or the certificate. */
export async function waitReady(client: RedisClient, ms: number): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    let last = '';
    const onError = (err: Error) => {
      last = describeConnectError(err);
      // A refused login or an untrusted certificate will not cure itself: say so now.
      if (isAccessError(err)) {
        clearTimeout(timer);
        client.off('error', onError);
        reject(new UnsafeRedisError(`Redis refused the connection (${last}); check the Redis credentials and TLS settings`));
      }
    };
    const timer = setTimeout(() => {
      client.off('error', onError);
      reject(new UnsafeRedisError(`Redis is not reachable after ${ms / 1000} s${last ? ` (${last})` : ''}`));
    }, ms);
    client.on('error', onError);
    client.once('ready', () => {
      clearTimeout(timer);
      client.off('error', onError);
      resolve();
    });
  });
}

const SAFE_POLICIES = new Set(['noeviction']);

export interface RedisChecks {
  /** REDIS_ALLOW_EVICTION: start anyway on an evicting policy (warned). */
  allowEviction: boolean;
  log?: Logger;
}

export async function checkRedis(client: RedisClient, o: RedisChecks): Promise<void> {
  const nodes: Redis[] = client.isCluster ? (client as Cluster).nodes('master') : [client as Redis];
  for (const node of nodes) await checkEviction(node, o);
  if (!client.isCluster) await checkDatabase(client as Redis);
}

async function checkEviction(node: Redis, o: RedisChecks): Promise<void> {
  let policy: string | undefined;
  try {
    const reply = (await node.config('GET', 'maxmemory-policy')) as string[];
    policy = reply[1];
  } catch (err) {
    // Managed services often disable CONFIG: say so, and go on.
    o.log?.warn({ event: 'redis.policy_unknown', err: (err as Error).message }, 'could not read maxmemory-policy; make sure it is noeviction');
    return;
  }
  if (policy && !SAFE_POLICIES.has(policy)) {
    const msg = `Redis maxmemory-policy is ${policy}: an evicted revocation marker or session index would silently undo revocations. Set it to noeviction, or REDIS_ALLOW_EVICTION=on to accept the risk.`;
    if (!o.allowEviction) throw new UnsafeRedisError(msg);
    o.log?.warn({ event: 'redis.eviction_allowed', policy }, msg);
  }
}

async function checkDatabase(client: Redis): Promise<void> {
  const want = Number(client.options.db ?? 0);
  const info = String(await client.call('CLIENT', 'INFO'));
  const db = Number(/\bdb=(\d+)/.exec(info)?.[1] ?? 0);
  if (db !== want) {
    throw new UnsafeRedisError(`REDIS_URL: database ${want} does not exist on this Redis (SELECT was refused; see its "databases" setting)`);
  }
}
