/**
 * Reading the session records behind a SCAN batch: one pipeline of HGETALLs to the
 * master that reported the keys, decoded with the store's own codec. A key that
 * vanished meanwhile (expired, revoked) is skipped; a key that moved to another Cluster
 * node mid-scan (MOVED during resharding) is re-read through the routing client.
 */
import { parseSessionKey } from '../store/keys.js';
import { decodeRecord } from '../store/record.js';
import type { SessionInfo } from '../sessions/types.js';
import type { KeyBatch, RedisClient } from './scan.js';

export async function readSessionBatch(
  client: RedisClient,
  prefix: string,
  batch: KeyBatch,
): Promise<SessionInfo[]> {
  const parsed = batch.keys.map((key) => ({ key, id: parseSessionKey(prefix, key) }));
  const wanted = parsed.filter((p) => p.id !== null);
  const pipeline = batch.node.pipeline();
  for (const { key } of wanted) pipeline.hgetall(key);
  const replies = (await pipeline.exec()) ?? [];
  const out: SessionInfo[] = [];
  for (let i = 0; i < wanted.length; i++) {
    const { key, id } = wanted[i]!;
    const [err, fields] = replies[i] ?? [new Error('no reply'), null];
    const f = err ? await client.hgetall(key) : (fields as Record<string, string>);
    const info = decodeRecord(id!.tag, f);
    if (info) out.push(info);
  }
  return out;
}
