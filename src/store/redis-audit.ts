/**
 * The audit trail in Redis: one capped stream (`XADD … MAXLEN ~ N`), appended by the
 * server and the admin CLI, read back by `admin events`. An event's time is its stream
 * ID, which Redis assigns from its own clock, so events from skewed nodes still sort
 * and read on one clock (docs/design.md, invariant 2). Events name sessions by handle and never carry
 * a secret (IDs are never logged).
 */
import type { Cluster, Redis } from 'ioredis';
import type { KeySpace } from './keys.js';
import type { AuditEvent, AuditEventType, AuditLog } from '../audit/types.js';

type RedisClient = Redis | Cluster;

export interface StoredEvent extends AuditEvent {
  /** Stream ID `<ms>-<seq>`. */
  id: string;
  /** Redis server time of the append, ms. */
  at: number;
}

/** Stream field names, in the order they are written. */
const FIELDS = ['type', 'username', 'userId', 'handle', 'ip', 'reason', 'by', 'count'] as const;

export interface RedisAuditOptions {
  keys: KeySpace;
  /** Approximate cap on retained events (MAXLEN ~); default 100,000. */
  maxLen?: number;
  /**
   * Called when an append fails, and append then resolves. Without it append rejects,
   * for the caller to log and count (the app does: src/audit/observed.ts).
   */
  onError?: (err: unknown, event: AuditEvent) => void;
}

export class RedisAuditLog implements AuditLog {
  readonly key: string;
  readonly maxLen: number;
  readonly #redis: RedisClient;
  readonly #onError: ((err: unknown, event: AuditEvent) => void) | undefined;

  constructor(redis: RedisClient, opts: RedisAuditOptions) {
    this.#redis = redis;
    this.key = opts.keys.events();
    this.maxLen = opts.maxLen ?? 100_000;
    this.#onError = opts.onError;
  }

  async append(event: AuditEvent): Promise<void> {
    try {
      await this.#redis.xadd(this.key, 'MAXLEN', '~', this.maxLen, '*', ...encode(event));
    } catch (err) {
      // Best effort by contract (AuditLog): a lost audit line never fails the action.
      // Under maxmemory XADD is refused while the revocation it records went through.
      if (!this.#onError) throw err;
      this.#onError(err, event);
    }
  }
}

function encode(event: AuditEvent): string[] {
  const out: string[] = [];
  for (const f of FIELDS) {
    const v = event[f];
    if (v !== undefined && v !== '') out.push(f, String(v));
  }
  return out;
}

function decodeEvent(id: string, flat: string[]): StoredEvent {
  const ev: Record<string, string | number> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const k = flat[i]!;
    if ((FIELDS as readonly string[]).includes(k)) ev[k] = k === 'count' ? Number(flat[i + 1]) : flat[i + 1]!;
  }
  return {
    ...(ev as Partial<AuditEvent>),
    type: (ev['type'] ?? 'unknown') as AuditEventType,
    id,
    at: Number(id.split('-')[0]),
  };
}

type Entry = [id: string, fields: string[]];
export type EventFilter = (e: StoredEvent) => boolean;
const all: EventFilter = () => true;

/** Every retained event, oldest first, read in pages of `pageSize` (bounded memory). */
export async function* readEvents(
  redis: RedisClient,
  key: string,
  filter: EventFilter = all,
  pageSize = 500,
): AsyncGenerator<StoredEvent> {
  let start = '-';
  for (;;) {
    const page = (await redis.xrange(key, start, '+', 'COUNT', pageSize)) as Entry[];
    for (const [id, fields] of page) {
      const ev = decodeEvent(id, fields);
      if (filter(ev)) yield ev;
    }
    if (page.length < pageSize) return;
    start = '(' + page[page.length - 1]![0];
  }
}

/**
 * The last `n` matching events up to `upTo` (an ID, inclusive), oldest first; reads
 * backwards until it has n.
 */
export async function lastEvents(
  redis: RedisClient,
  key: string,
  n: number,
  filter: EventFilter = all,
  upTo = '+',
  pageSize = 500,
): Promise<StoredEvent[]> {
  const picked: StoredEvent[] = [];
  let end = upTo;
  while (picked.length < n) {
    const page = (await redis.xrevrange(key, end, '-', 'COUNT', pageSize)) as Entry[];
    for (const [id, fields] of page) {
      const ev = decodeEvent(id, fields);
      if (filter(ev) && picked.push(ev) === n) break;
    }
    if (page.length < pageSize) break;
    end = '(' + page[page.length - 1]![0];
  }
  return picked.reverse();
}

/** ID of the newest event, or '0-0' for an empty stream: where a follow starts. */
export async function lastEventId(redis: RedisClient, key: string): Promise<string> {
  const page = (await redis.xrevrange(key, '+', '-', 'COUNT', 1)) as Entry[];
  return page[0]?.[0] ?? '0-0';
}

/**
 * New events after `afterId`, as they arrive (XREAD BLOCK), until `signal` aborts.
 * `blocking` must be a connection of its own: a blocked XREAD holds it, and aborting
 * disconnects it to end the wait at once.
 */
export async function* followEvents(
  blocking: RedisClient,
  key: string,
  afterId: string,
  signal: AbortSignal,
  filter: EventFilter = all,
): AsyncGenerator<StoredEvent> {
  let last = afterId;
  const stop = () => blocking.disconnect();
  signal.addEventListener('abort', stop, { once: true });
  try {
    while (!signal.aborted) {
      let reply: [string, Entry[]][] | null;
      try {
        reply = (await blocking.xread('COUNT', 500, 'BLOCK', 5000, 'STREAMS', key, last)) as
          | [string, Entry[]][]
          | null;
      } catch (err) {
        if (signal.aborted) return;
        throw err;
      }
      for (const [, entries] of reply ?? []) {
        for (const [id, fields] of entries) {
          last = id;
          const ev = decodeEvent(id, fields);
          if (filter(ev)) yield ev;
        }
      }
    }
  } finally {
    signal.removeEventListener('abort', stop);
  }
}
