/**
 * SESSION_CACHE=on (docs/performance.md, the local cache caps its TTL): a RedisStore with an in-process cache of
 * active session records, for nodes behind a sticky load balancer. A hit costs no Redis
 * round trip; everything else is the wrapped store's.
 *
 * Why a hit is safe to serve:
 * - every write to a per-user key (`<prefix>{tag}:…`, by any node or the CLI) is
 *   announced by Redis over the TrackingLink, and drops every cached record of that user;
 * - while the link is down the cache is empty and bypassed (revocation never waits on a
 *   lost invalidation); it refills only from reads that started after the link came back;
 * - a read that was in flight when its user's keys were invalidated is not cached (the
 *   "caching in progress" placeholder: its answer may predate the write);
 * - an entry lives at most `ttlMs` (default 1 s), which bounds what a link that fails
 *   silently (no FIN, heartbeat not yet missed) could serve;
 * - a hit still decides by the clock: only an active session whose slide is not yet due
 *   is served from memory; an idle lapse, the absolute deadline, or a due slide (write
 *   throttling) goes to Redis as usual.
 * Rotated-away IDs (grace aliases) and failures are never cached.
 */
import { performance } from 'node:perf_hooks';
import { type Clock, redisTime } from '../clock.js';
import { effectiveTouch } from '../sessions/policy.js';
import { parseHandle, parseToken } from '../sessions/token.js';
import type {
  BindResult,
  CreateInput, IssuedSession, RefreshResult, RotateOptions, SessionInfo, SessionPolicy, SessionRef,
  SessionStore, ValidateResult,
} from '../sessions/types.js';
import type { RedisBackedStore } from './redis-store.js';
import { TrackingLink } from './tracking-link.js';

export interface CachedStoreOptions {
  /** The Redis store to wrap (its client is duplicated for the invalidation link). */
  inner: RedisBackedStore;
  /** The inner store's clock; `redisTime` (default) = Redis TIME kept by the link. */
  clock?: Clock;
  /** Local lifetime cap of an entry; default 1000 ms. */
  ttlMs?: number;
  /** Default 100 000 cached sessions; beyond, the oldest users are dropped. */
  maxEntries?: number;
  /** Link heartbeat; default 500 ms. */
  heartbeatMs?: number;
  /** Link up/down (for the log). */
  onLinkChange?(up: boolean, reason: string): void;
}

interface Entry {
  result: Extract<ValidateResult, { state: 'active' }>;
  /** performance.now() after which the entry is not used. */
  until: number;
}

export interface CacheStats {
  up: boolean;
  entries: number;
  hits: number;
  misses: number;
  bypassed: number;
  invalidations: number;
}

const freeze = (s: SessionInfo): SessionInfo => Object.freeze({ ...s, data: Object.freeze({ ...s.data }) });

export class CachedStore implements SessionStore {
  readonly policy: Readonly<SessionPolicy>;
  readonly inner: RedisBackedStore;
  readonly #link: TrackingLink;
  readonly #clock: Clock;
  readonly #ttl: number;
  readonly #max: number;
  /** tag → idHash → entry: every invalidation drops a whole user. */
  readonly #byTag = new Map<string, Map<string, Entry>>();
  /** Reads in flight per tag; `dirty` when the tag was invalidated meanwhile. */
  readonly #pending = new Map<string, { count: number; dirty: boolean }>();
  /** Bumped on every flush: a read that started before it is not cached. */
  #gen = 0;
  #size = 0;
  readonly #stats = { hits: 0, misses: 0, bypassed: 0, invalidations: 0 };
  readonly #upWaiters = new Set<() => void>();

  constructor(o: CachedStoreOptions) {
    this.inner = o.inner;
    this.policy = o.inner.policy;
    this.#clock = o.clock ?? redisTime;
    this.#ttl = o.ttlMs ?? 1000;
    this.#max = o.maxEntries ?? 100_000;
    const prefix = `${o.inner.keys.prefix}{`;
    this.#link = new TrackingLink({
      client: o.inner.client,
      prefix,
      heartbeatMs: o.heartbeatMs,
      onInvalidate: (keys) => {
        this.#stats.invalidations++;
        if (!keys) return this.#flush();
        for (const key of keys) {
          const end = key.indexOf('}', prefix.length);
          if (key.startsWith(prefix) && end > 0) this.#dropTag(key.slice(prefix.length, end));
        }
      },
      onChange: (up, reason) => {
        this.#flush();
        if (up) for (const w of this.#upWaiters) w();
        o.onLinkChange?.(up, reason);
      },
    });
  }

  stats(): CacheStats {
    return { up: this.#link.up, entries: this.#size, ...this.#stats };
  }

  /** CLIENT IDs of the link's connections (tests kill them). */
  linkConnectionIds(): { subscriber: number | undefined; tracker: number | undefined } {
    return this.#link.connectionIds();
  }

  /** Resolves once the invalidation link is up (the cache serves hits only then). */
  whenUp(timeoutMs = 5000): Promise<void> {
    if (this.#link.up) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.#upWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#upWaiters.delete(done);
        reject(new Error(`session cache link not up after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#upWaiters.add(done);
    });
  }

  validate(token: string | undefined): Promise<ValidateResult> {
    const p = parseToken(token);
    if (!p) return this.inner.validate(token);
    if (!this.#link.up) {
      this.#stats.bypassed++;
      return this.inner.validate(token);
    }
    const hit = this.#hit(p);
    return hit ? Promise.resolve(hit) : this.#miss(token, p);
  }

  peek(token: string): Extract<ValidateResult, { state: 'active' }> | undefined {
    const p = this.#link.up ? parseToken(token) : null;
    return p ? this.#hit(p) : undefined;
  }

  /** A cached answer that is still good, counted; a lapsed one is dropped. */
  #hit(p: { tag: string; idHash: string }): Extract<ValidateResult, { state: 'active' }> | undefined {
    const e = this.#byTag.get(p.tag)?.get(p.idHash);
    if (!e) return undefined;
    const s = e.result.session;
    const now = this.#clock.now() ?? this.#link.now();
    if (performance.now() < e.until && now < s.idleExpiresAt &&
      now - s.lastActiveAt < effectiveTouch(this.policy.touchIntervalMs, s.idleTimeoutMs)) {
      this.#stats.hits++;
      return { state: 'active', session: s, now, viaGrace: false, ref: e.result.ref };
    }
    this.#delete(p.tag, p.idHash);
    return undefined;
  }

  async #miss(token: string | undefined, p: { tag: string; idHash: string }): Promise<ValidateResult> {
    this.#stats.misses++;
    const gen = this.#gen;
    const pending = this.#pending.get(p.tag) ?? { count: 0, dirty: false };
    pending.count++;
    this.#pending.set(p.tag, pending);
    try {
      const r = await this.inner.validate(token);
      if (r.state === 'active' && !r.viaGrace && !pending.dirty && gen === this.#gen && this.#link.up) {
        this.#put(p.tag, r.ref.idHash, { ...r, session: freeze(r.session), ref: Object.freeze({ ...r.ref }) });
      }
      return r;
    } finally {
      if (--pending.count === 0) this.#pending.delete(p.tag);
    }
  }

  // Writes through this node drop the user's entries before and after, so the node
  // reads its own writes without waiting for the invalidation to come back.
  async #writing<T>(tag: string | undefined, op: () => Promise<T>): Promise<T> {
    if (tag === undefined) this.#flush();
    else this.#dropTag(tag);
    try {
      return await op();
    } finally {
      if (tag === undefined) this.#flush();
      else this.#dropTag(tag);
    }
  }

  create(input: CreateInput, policy?: Partial<SessionPolicy>): Promise<IssuedSession | null> {
    return this.inner.create(input, policy);
  }
  refresh(token: string | undefined, opts?: RotateOptions): Promise<RefreshResult> {
    return this.#writing(parseToken(token)?.tag, () => this.inner.refresh(token, opts));
  }
  updateData(ref: SessionRef, data: Record<string, unknown>): Promise<boolean> {
    return this.#writing(ref.tag, () => this.inner.updateData(ref, data));
  }
  bind(ref: SessionRef, key: string): Promise<BindResult> {
    return this.#writing(ref.tag, () => this.inner.bind(ref, key));
  }
  boundKey(ref: SessionRef): Promise<string | null> {
    return this.inner.boundKey(ref);
  }
  revoke(token: string | undefined): Promise<boolean> {
    return this.#writing(parseToken(token)?.tag, () => this.inner.revoke(token));
  }
  revokeHandle(handle: string): Promise<boolean> {
    return this.#writing(parseHandle(handle)?.tag, () => this.inner.revokeHandle(handle));
  }
  revokeAll(tag: string, opts?: { exceptHandle?: string }): Promise<number> {
    return this.#writing(tag, () => this.inner.revokeAll(tag, opts));
  }
  get(handle: string): Promise<SessionInfo | null> {
    return this.inner.get(handle);
  }
  list(tag: string): Promise<SessionInfo[]> {
    return this.inner.list(tag);
  }
  epoch(tag: string): Promise<number> {
    return this.inner.epoch(tag);
  }
  ping(): Promise<void> {
    return this.inner.ping();
  }
  async close(): Promise<void> {
    await this.#link.close();
    this.#flush();
    await this.inner.close();
  }

  #put(tag: string, idHash: string, result: Entry['result']): void {
    let m = this.#byTag.get(tag);
    if (!m) {
      while (this.#size >= this.#max && this.#byTag.size > 0) this.#dropTag(this.#byTag.keys().next().value!);
      m = new Map();
      this.#byTag.set(tag, m);
    }
    if (!m.has(idHash)) this.#size++;
    m.set(idHash, { result, until: performance.now() + this.#ttl });
  }

  #delete(tag: string, idHash: string): void {
    const m = this.#byTag.get(tag);
    if (m?.delete(idHash)) {
      this.#size--;
      if (m.size === 0) this.#byTag.delete(tag);
    }
  }

  #dropTag(tag: string): void {
    const pending = this.#pending.get(tag);
    if (pending) pending.dirty = true;
    const m = this.#byTag.get(tag);
    if (!m) return;
    this.#size -= m.size;
    this.#byTag.delete(tag);
  }

  #flush(): void {
    this.#gen++;
    for (const p of this.#pending.values()) p.dirty = true;
    this.#byTag.clear();
    this.#size = 0;
  }
}
