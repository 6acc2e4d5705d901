/**
 * Reading the session records behind a SCAN batch: one pipeline of HGETALLs to the
 * master that reported the keys, decoded with the store's own codec and judged by its
 * own revoke-all cutoff, so the CLI never lists a session the store calls dead. A key
 * that vanished meanwhile (expired, revoked) is skipped; a key that moved to another
 * Cluster node mid-scan (MOVED during resharding) is re-read through the routing client.
 */
import { outdated } from '../sessions/policy.js';
import type { SessionInfo } from '../sessions/types.js';
import { keySpace, parseSessionKey } from '../store/keys.js';
import { decodeRecord, F } from '../store/record.js';
import type { KeyBatch, RedisClient } from './scan.js';

export async function readSessionBatch(
  client: RedisClient,
  prefix: string,
  batch: KeyBatch,
): Promise<SessionInfo[]> {
  const parsed = batch.keys.map((key) => ({ key, id: parseSessionKey(prefix, key) }));
  const wanted = parsed.filter((p) => p.id !== null);
  const keys = keySpace(prefix);
  const tags = [...new Set(wanted.map((w) => w.id!.tag))];
  const pipeline = batch.node.pipeline();
  for (const { key } of wanted) pipeline.hgetall(key);
  // A tag's generation sits in the same slot as its records, so on this node too.
  for (const tag of tags) pipeline.get(keys.userGeneration(tag));
  const replies = (await pipeline.exec()) ?? [];
  const generations = new Map<string, number>();
  for (let i = 0; i < tags.length; i++) {
    const tag = tags[i]!;
    const [err, v] = replies[wanted.length + i] ?? [new Error('no reply'), null];
    generations.set(tag, Number((err ? await client.get(keys.userGeneration(tag)) : (v as string | null)) ?? 0));
  }
  const out: SessionInfo[] = [];
  for (let i = 0; i < wanted.length; i++) {
    const { key, id } = wanted[i]!;
    const [err, fields] = replies[i] ?? [new Error('no reply'), null];
    const f = err ? await client.hgetall(key) : (fields as Record<string, string>);
    const info = decodeRecord(id!.tag, f);
    if (!info) continue;
    const kept = f[F.generation] === undefined ? undefined : Number(f[F.generation]);
    if (outdated(info.createdAt, kept, generations.get(id!.tag) ?? 0)) continue;
    out.push(info);
  }
  return out;
}
