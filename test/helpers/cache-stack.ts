/**
 * Test helpers for the session cache: a cached node and a plain "other node" on one
 * private redis-server, and ways to wait for what Redis announces (never for time).
 */
import type { ExecutionContext } from 'ava';
import { connect } from 'node:net';
import type { Redis } from 'ioredis';
import { type Clock, ManualClock } from '../../src/clock.js';
import { newTag } from '../../src/sessions/token.js';
import type { SessionPolicy } from '../../src/sessions/types.js';
import { CachedStore, type CachedStoreOptions } from '../../src/store/cached-store.js';
import { connectRedis } from '../../src/store/connection.js';
import { keySpace } from '../../src/store/keys.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { eventually } from './eventually.js';
import type { RedisProcess } from './redis-server.js';

export const POLICY: Partial<SessionPolicy> = { idleTimeoutMs: 60_000, touchIntervalMs: 10_000 };

/** Waits, polling the event loop every 2 ms, for what Redis announces to the cache; throws after 5 s. */
export async function until(check: () => boolean, what: string): Promise<void> {
  await eventually(check, { timeoutMs: 5000, everyMs: 2, what });
}

/** Runs a write and waits until the cache has received at least one invalidation after it. */
export async function afterInvalidation<T>(cache: CachedStore, write: () => Promise<T>): Promise<T> {
  const before = cache.stats().invalidations;
  const out = await write();
  await until(() => cache.stats().invalidations > before, 'the invalidation');
  return out;
}

let n = 0;

export interface Nodes {
  clock: ManualClock;
  tag: string;
  /** The node with SESSION_CACHE=on. */
  cache: CachedStore;
  /** Its wrapped store (its client is the data connection). */
  inner: RedisStore;
  /** Another node or the CLI: a plain RedisStore on its own connection. */
  other: RedisStore;
  links: { up: boolean; reason: string; entries: number }[];
}

export async function nodes(
  t: ExecutionContext,
  server: RedisProcess,
  o: {
    clock?: Clock;
    cache?: Partial<CachedStoreOptions>;
    makeInner?: (opts: ConstructorParameters<typeof RedisStore>[0]) => RedisStore;
  } = {},
): Promise<Nodes> {
  const clock = new ManualClock();
  const useClock = o.clock ?? clock;
  const keys = keySpace(`k${++n}:`);
  const [a, b] = await Promise.all([connectRedis({ url: server.url }), connectRedis({ url: server.url })]);
  const innerOpts = { client: a, clock: useClock, policy: POLICY, keys };
  const inner = o.makeInner ? o.makeInner(innerOpts) : new RedisStore(innerOpts);
  const links: Nodes['links'] = [];
  const cache: CachedStore = new CachedStore({
    inner,
    clock: useClock,
    onLinkChange: (up, reason) => links.push({ up, reason, entries: cache.stats().entries }),
    ...o.cache,
  });
  const other = new RedisStore({ client: b, clock: useClock, policy: POLICY, keys });
  t.teardown(async () => {
    await cache.close();
    await other.close();
  });
  await cache.whenUp();
  return { clock, tag: newTag(), cache, inner, other, links };
}

/** Logs a user in and waits for the creation's own invalidation, so a following read can be cached. */
export async function login(x: Nodes): Promise<string> {
  const issued = await afterInvalidation(x.cache, () =>
    x.cache.create({ userId: 'u1', tag: x.tag, ip: '203.0.113.7', userAgent: 'Firefox on Linux' }),
  );
  if (!issued) throw new Error('create returned null');
  return issued.token;
}

/**
 * Counts the top-level commands one connection sends, seen by Redis (MONITOR on a raw
 * socket of its own): the honest count of round trips.
 */
let windows = 0;

export async function monitorConnection(server: RedisProcess, of: Redis) {
  const local = `${of.stream.localAddress}:${of.stream.localPort}`;
  const admin = server.client();
  const sock = connect(server.port, '127.0.0.1');
  const seen: string[] = [];
  // Unique per window: tests running at once share the server and see each other's marks.
  const mark = `cache-test-mark-${++windows}`;
  let marks = 0;
  let buf = '';
  let monitoring = false;
  sock.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl = buf.indexOf('\r\n');
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 2);
      nl = buf.indexOf('\r\n');
      if (line === '+OK') monitoring = true;
      const m = /^\+[\d.]+ \[\d+ ([^\]]+)\] "([^"]*)"(?: "([^"]*)")?/.exec(line);
      if (!m) continue;
      if (m[2]!.toLowerCase() === 'echo' && m[3] === mark) marks++;
      else if (marks === 1 && m[1] === local) seen.push(m[2]!.toLowerCase());
    }
  });
  sock.write('MONITOR\r\n');
  await until(() => monitoring, 'MONITOR to start');
  await admin.echo(mark);
  return {
    async stop(): Promise<string[]> {
      await admin.echo(mark);
      await until(() => marks >= 2, 'the closing MONITOR mark');
      sock.destroy();
      return seen;
    },
  };
}
