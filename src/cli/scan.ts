/**
 * SCAN over every master, in batches, for listings that must work with millions of
 * keys (docs/cli.md; admin kills: no KEYS, and on Cluster every master). A standalone
 * or Sentinel connection is its own single master; a Cluster is asked for its masters
 * (replicas would report every key twice).
 */
import type { Cluster, Redis } from 'ioredis';

export type RedisClient = Redis | Cluster;

const isCluster = (client: RedisClient): client is Cluster => client.isCluster;

const CLUSTER_SLOTS = 16384;
const nodeKey = (n: Redis) => `${n.options.host}:${n.options.port}`;

/**
 * The connections to SCAN: one per master. On a Cluster, the masters must own every
 * slot in the client's slot map: a listing that silently skipped a master (a map read
 * mid-failover or mid-reshard) would under-report sessions, so that is an error.
 */
function masters(client: RedisClient): Redis[] {
  if (!isCluster(client)) return [client];
  const nodes = client.nodes('master');
  const known = new Set(nodes.map(nodeKey));
  for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
    const owner = client.slots[slot]?.[0];
    if (owner === undefined || !known.has(owner)) {
      throw new Error(`the cluster slot map does not cover slot ${slot}; try again once the cluster is stable`);
    }
  }
  return nodes;
}

export interface KeyBatch {
  /** The master the keys were found on: reading them back there needs no routing. */
  node: Redis;
  keys: string[];
}

/**
 * Yields the keys matching `pattern`, one SCAN reply at a time: memory stays bounded by
 * `count`, whatever the keyspace size. A key may be yielded twice if the keyspace is
 * rehashed mid-scan (SCAN's guarantee); listings tolerate that rather than remember
 * every key seen.
 */
export async function* scanKeys(
  client: RedisClient,
  pattern: string,
  count = 1000,
): AsyncGenerator<KeyBatch> {
  for (const node of masters(client)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (keys.length > 0) yield { node, keys };
    } while (cursor !== '0');
  }
}

/** Redis server time in ms: the one clock every state decision uses (docs/design.md, invariant 2). */
export async function redisNow(client: RedisClient): Promise<number> {
  const [sec, usec] = await client.time();
  return Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
}
