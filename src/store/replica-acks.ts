/**
 * Durability on replicated Redis (docs/design.md, invariant 8; `REDIS_WAIT_REPLICAS`). Redis replicates
 * asynchronously: a write the master acknowledged may be missing on the replica that a
 * Sentinel or Cluster failover promotes. For the writes whose loss matters — a new
 * session, a rotation, and above all a revocation (a lost one silently un-revokes) —
 * this store follows the write with `WAIT <replicas> <timeout>` and reports success
 * only when enough replicas have it. Otherwise the caller gets StoreUnavailableError
 * (503): "not confirmed", which for a logout is exactly the logout contract (README's API table). WAIT makes
 * a loss unlikely, not impossible (Redis is still not strongly consistent).
 *
 * WAIT blocks the connection it runs on, so the confirmed writes go through a second
 * RedisStore on their own connection (`writes`) and the hot path (validate, on this
 * store's connection) never queues behind a slow replica. Not confirmed: sliding touches
 * and app data (losing one only shortens an idle window or drops a data update). It
 * wraps two RedisStores rather than extending one: reads go to `reads`, confirmed writes
 * to `writes`, and like a RedisStore it exposes its client and keys, so the session
 * cache (CachedStore) can wrap it.
 *
 * On Cluster, WAIT goes to the master that owns the user's slot (the `{tag}`), on the
 * writes client's own connection to it: WAIT counts that connection's writes only.
 */
import { Cluster, type Redis } from 'ioredis';
import { StoreUnavailableError } from '../errors.js';
import { parseHandle, parseToken } from '../sessions/token.js';
import type {
  BindResult,
  CreateInput, IssuedSession, RefreshResult, RotateOptions, SessionInfo, SessionPolicy, SessionRef, ValidateResult,
} from '../sessions/types.js';
import type { RedisClient } from './connection.js';
import type { KeySpace } from './keys.js';
import type { RedisBackedStore, RedisStore } from './redis-store.js';

export interface ReplicaAckOptions {
  /** The hot path: validate, app data, reads. */
  reads: RedisStore;
  /** Same keys and policy on a second connection: create, refresh and revocations, each confirmed with WAIT. */
  writes: RedisStore;
  /** Replicas that must hold a write before it is acknowledged (WAIT numreplicas). */
  replicas: number;
  /** WAIT timeout; keep it below the command timeout. */
  timeoutMs: number;
}

export class ReplicaAckedStore implements RedisBackedStore {
  readonly #r: RedisStore;
  readonly #w: RedisStore;
  readonly #replicas: number;
  readonly #timeoutMs: number;

  constructor(o: ReplicaAckOptions) {
    this.#r = o.reads;
    this.#w = o.writes;
    this.#replicas = o.replicas;
    this.#timeoutMs = o.timeoutMs;
  }

  get policy(): Readonly<SessionPolicy> {
    return this.#r.policy;
  }

  get client(): RedisClient {
    return this.#r.client;
  }

  get keys(): KeySpace {
    return this.#r.keys;
  }

  /** WAIT on `client`'s connection to the master of `tag`'s slot; throws when short. */
  async #confirm(client: RedisClient, tag: string): Promise<void> {
    let acks: number;
    try {
      acks = await masterFor(client, tag).wait(this.#replicas, this.#timeoutMs);
    } catch (err) {
      throw new StoreUnavailableError(err);
    }
    if (acks < this.#replicas) {
      throw new StoreUnavailableError(
        new Error(`write acknowledged by ${acks} of ${this.#replicas} replicas within ${this.#timeoutMs} ms`),
      );
    }
  }

  async create(input: CreateInput, policy?: Partial<SessionPolicy>): Promise<IssuedSession | null> {
    const issued = await this.#w.create(input, policy);
    if (!issued) return null;
    try {
      await this.#confirm(this.#w.client, input.tag);
    } catch (err) {
      // The client never sees this cookie: drop the record rather than leave an unusable
      // session in the user's device list until its deadline (best effort).
      await this.#w.revoke(issued.token).catch(() => false);
      throw err;
    }
    return issued;
  }

  async validate(token: string | undefined): Promise<ValidateResult> {
    const result = await this.#r.validate(token);
    // A replayed ID revoked the whole session inside the script: confirm that revocation.
    if (result.state === 'login_required' && result.reason === 'replay') {
      await this.#confirm(this.#r.client, parseToken(token)!.tag);
    }
    return result;
  }

  async refresh(token: string | undefined, opts?: RotateOptions): Promise<RefreshResult> {
    const result = await this.#w.refresh(token, opts);
    // A rotation (or a replay's revocation) wrote; 'unknown' / 'expired' / 'idle' did not
    // need to. A caller retrying inside the grace period gets the same successor.
    if (result.ok || result.reason === 'replay') await this.#confirm(this.#w.client, parseToken(token)!.tag);
    return result;
  }

  updateData(ref: SessionRef, data: Record<string, unknown>): Promise<boolean> {
    return this.#r.updateData(ref, data);
  }

  async bind(ref: SessionRef, key: string): Promise<BindResult> {
    const bound = await this.#w.bind(ref, key);
    if (bound.result === 'bound') await this.#confirm(this.#w.client, ref.tag);
    return bound;
  }

  boundKey(ref: SessionRef): Promise<string | null> {
    return this.#w.boundKey(ref);
  }

  async revoke(token: string | undefined): Promise<boolean> {
    const p = parseToken(token);
    const revoked = await this.#w.revoke(token);
    // Confirmed even when nothing was left to revoke: a retried logout then confirms the
    // first attempt's write, which went out on the same connection.
    if (p) await this.#confirm(this.#w.client, p.tag);
    return revoked;
  }

  async revokeHandle(handle: string): Promise<boolean> {
    const h = parseHandle(handle);
    const revoked = await this.#w.revokeHandle(handle);
    if (h) await this.#confirm(this.#w.client, h.tag);
    return revoked;
  }

  async revokeAll(tag: string, opts?: { exceptHandle?: string }): Promise<number> {
    const n = await this.#w.revokeAll(tag, opts);
    await this.#confirm(this.#w.client, tag);
    return n;
  }

  get(handle: string): Promise<SessionInfo | null> {
    return this.#r.get(handle);
  }

  list(tag: string): Promise<SessionInfo[]> {
    return this.#r.list(tag);
  }

  epoch(tag: string): Promise<number> {
    return this.#r.epoch(tag);
  }

  async ping(): Promise<void> {
    await Promise.all([this.#r.ping(), this.#w.ping()]);
  }

  async close(): Promise<void> {
    await Promise.all([this.#r.close(), this.#w.close()]);
  }
}

/** The connection that carries `tag`'s keys: the client itself, or on Cluster its slot's master. */
function masterFor(client: RedisClient, tag: string): Redis {
  if (!(client instanceof Cluster)) return client;
  const owner = client.slots[keySlot(tag)]?.[0];
  const node = client.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner);
  if (!node) throw new Error(`no master known for the slot of {${tag}}`);
  return node;
}

/** Redis Cluster hash slot of a hash tag: CRC16-XMODEM mod 16384 (cluster spec). */
export function keySlot(hashTag: string): number {
  let crc = 0;
  for (const byte of Buffer.from(hashTag)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}
