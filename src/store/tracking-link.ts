/**
 * The invalidation link of the local session cache (docs/performance.md, the local cache caps its TTL): Redis
 * client-side caching in broadcast mode. Two dedicated connections, duplicated from the
 * store's client (same server, same timeouts):
 * - the subscriber (RESP2) listens on `__redis__:invalidate`; ioredis drops RESP3
 *   `invalidate` pushes, so the RESP2 redirect form is the one that works here;
 * - the tracker runs `CLIENT TRACKING on REDIRECT <subscriber> BCAST PREFIX <p>`, so
 *   every write to a key under the prefix, by any client, is announced.
 * The link is `up` only while both connections are alive and the tracker's redirect is
 * verified; anything else (a close, a failed heartbeat, a broken redirect) takes it down
 * at once, and the cache must then be flushed and bypassed. A heartbeat every
 * `heartbeatMs` PINGs the subscriber (its PONG comes after any invalidation sent
 * before it, on the same TCP stream) and checks CLIENT TRACKINGINFO on the tracker.
 *
 * It also keeps the cache's clock: Redis TIME, re-measured at every (re)connect and
 * every 10 s, advanced in between with the monotonic clock (docs/design.md, invariant 2).
 */
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import type { RedisClient } from './connection.js';

const INVALIDATE_CHANNEL = '__redis__:invalidate';
const CLOCK_SYNC_MS = 10_000;

export interface TrackingLinkOptions {
  /** The store's client: the link's connections are duplicates of it. */
  client: RedisClient;
  /** Key prefix to track, e.g. `ss:{` (every per-user key). */
  prefix: string;
  /** Default 500 ms. */
  heartbeatMs?: number;
  /** Keys written since; null = everything (FLUSHALL / FLUSHDB). */
  onInvalidate(keys: string[] | null): void;
  /** Called on every change of `up`, with why. */
  onChange(up: boolean, reason: string): void;
}

/** Refuses deployments where one subscriber cannot see every write (see README). */
function assertStandalone(client: RedisClient): void {
  if ('isCluster' in client && client.isCluster) {
    throw new Error(
      'SESSION_CACHE=on needs a standalone Redis (REDIS_URL): on a Cluster every master would need its own ' +
        'invalidation link, and a slot moving between masters could drop an invalidation. Turn SESSION_CACHE off.',
    );
  }
  if ((client as Redis).options?.sentinels?.length) {
    throw new Error(
      'SESSION_CACHE=on needs a standalone Redis (REDIS_URL): with Sentinel a failover can lose invalidations ' +
        'between the old and the new master. Turn SESSION_CACHE off.',
    );
  }
}

export class TrackingLink {
  readonly #o: TrackingLinkOptions;
  readonly #sub: Redis;
  readonly #tracker: Redis;
  #subId: number | undefined;
  #trackerId: number | undefined;
  #redirect: number | undefined;
  #up = false;
  #closed = false;
  #busy = false;
  #again = false;
  #timer: NodeJS.Timeout;
  #clockBase = { redis: 0, mono: 0 };
  #lastSync = Number.NEGATIVE_INFINITY;
  /** The last setup failure reported, so a retry every heartbeat does not repeat it. */
  #lastFailure: string | undefined;

  constructor(o: TrackingLinkOptions) {
    assertStandalone(o.client);
    this.#o = o;
    const base = o.client as Redis;
    const name = base.options.connectionName ?? 'sliding-sessions';
    // No auto-pipelining here: these connections carry a handful of control commands.
    const own = { enableAutoPipelining: false };
    this.#sub = base.duplicate({ ...own, protocol: 2, autoResubscribe: false, connectionName: `${name}-cache-sub` });
    this.#tracker = base.duplicate({ ...own, connectionName: `${name}-cache-tracker` });
    for (const [conn, which] of [[this.#sub, 'subscriber'], [this.#tracker, 'tracker']] as const) {
      conn.on('error', () => {});
      conn.on('ready', () => this.#reconcile());
      conn.on('close', () => {
        if (which === 'subscriber') this.#subId = undefined;
        this.#redirect = undefined;
        this.#down(`${which} connection closed`);
      });
    }
    this.#sub.on('messageBuffer', (channel: Buffer, message: unknown) => {
      if (channel.toString() !== INVALIDATE_CHANNEL) return;
      this.#o.onInvalidate(Array.isArray(message) ? message.map(String) : null);
    });
    this.#timer = setInterval(() => void this.#heartbeat(), o.heartbeatMs ?? 500);
    this.#timer.unref();
    this.#reconcile();
  }

  /**
   * ioredis sets a connection's status synchronously when its socket closes (the
   * events follow on a later tick), so a hit never rides on a connection already gone.
   */
  get up(): boolean {
    return this.#up && this.#sub.status === 'ready' && this.#tracker.status === 'ready';
  }

  /** Redis time in ms (valid once the link has been up). */
  now(): number {
    return Math.floor(this.#clockBase.redis + (performance.now() - this.#clockBase.mono));
  }

  /** CLIENT IDs of the two connections (tests kill them). */
  connectionIds(): { subscriber: number | undefined; tracker: number | undefined } {
    return { subscriber: this.#subId, tracker: this.#trackerId };
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#down('closed');
    this.#sub.disconnect();
    this.#tracker.disconnect();
  }

  #down(reason: string): void {
    if (!this.#up) return;
    this.#up = false;
    this.#o.onChange(false, reason);
  }

  /** Brings the link up from whatever state the connections are in; one run at a time. */
  #reconcile(): void {
    if (this.#busy) {
      this.#again = true;
      return;
    }
    this.#busy = true;
    this.#again = false;
    this.#establish()
      .catch((err: unknown) => {
        const reason = `setup failed: ${(err as Error).message}`;
        if (this.#up) this.#down(reason);
        else if (reason !== this.#lastFailure) this.#o.onChange(false, reason);
        this.#lastFailure = reason;
      })
      .finally(() => {
        this.#busy = false;
        if (this.#again) this.#reconcile();
      });
  }

  async #establish(): Promise<void> {
    if (this.#closed || this.#sub.status !== 'ready' || this.#tracker.status !== 'ready') return;
    if (this.#subId === undefined) {
      // CLIENT ID first: in RESP2 a subscribed connection accepts nothing but (un)subscribe and PING.
      try {
        const id = Number(await this.#sub.client('ID'));
        await this.#sub.subscribe(INVALIDATE_CHANNEL);
        this.#subId = id;
        this.#redirect = undefined;
      } catch (err) {
        // Half set up (subscribed without a known ID, say): start over on a new connection.
        this.#sub.disconnect(true);
        throw err;
      }
    }
    if (this.#redirect !== this.#subId) {
      this.#down('re-tracking');
      const id = this.#subId;
      this.#trackerId = Number(await this.#tracker.client('ID'));
      await this.#tracker.client('TRACKING', 'off');
      await this.#tracker.call('CLIENT', 'TRACKING', 'on', 'REDIRECT', String(id), 'BCAST', 'PREFIX', this.#o.prefix);
      this.#redirect = id;
    }
    await this.#syncClock();
    if (this.#sub.status === 'ready' && this.#tracker.status === 'ready' && this.#redirect === this.#subId && !this.#up) {
      this.#up = true;
      this.#lastFailure = undefined;
      this.#o.onChange(true, 'tracking');
    }
  }

  async #syncClock(): Promise<void> {
    const before = performance.now();
    const [sec, usec] = (await this.#tracker.time()) as [string | number, string | number];
    const after = performance.now();
    this.#clockBase = { redis: Number(sec) * 1000 + Number(usec) / 1000, mono: (before + after) / 2 };
    this.#lastSync = after;
  }

  async #heartbeat(): Promise<void> {
    if (this.#busy || this.#closed) return;
    // Down with both connections ready (a failed setup, say): try again.
    if (!this.#up) return this.#reconcile();
    try {
      const [, info] = await Promise.all([this.#sub.ping(), this.#tracker.call('CLIENT', 'TRACKINGINFO')]);
      const f = info as unknown[];
      const flags = (f[1] as string[]).map(String);
      const redirect = Number(f[3]);
      if (!flags.includes('on') || !flags.includes('bcast') || flags.includes('broken_redirect') || redirect !== this.#subId) {
        this.#redirect = undefined;
        this.#down('tracking lost');
        this.#reconcile();
        return;
      }
      if (performance.now() - this.#lastSync > CLOCK_SYNC_MS) await this.#syncClock();
    } catch {
      // A link that does not answer its heartbeat is treated as gone: drop and rebuild.
      this.#subId = undefined;
      this.#redirect = undefined;
      this.#down('heartbeat failed');
      this.#sub.disconnect(true);
      this.#tracker.disconnect(true);
    }
  }
}
