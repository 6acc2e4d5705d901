/**
 * Prometheus metrics (the API table in README.md) in the app's own Registry (two apps in one process, as
 * in tests, never collide). Session lifecycle counters move with the lifecycle events
 * (SessionService.event(): log line, audit entry and metric together), so every way in
 * and out is counted the same way; `instrumentStore` times the store and counts its errors.
 */
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { AppError } from '../errors.js';
import type { SessionStore } from '../sessions/types.js';
import type { CacheStats } from '../store/cached-store.js';

export interface Metrics {
  readonly registry: Registry;
  readonly sessionsCreated: Counter;
  readonly sessionsRefreshed: Counter;
  readonly sessionsRevoked: Counter;
  readonly sessionsExpired: Counter<'reason'>;
  readonly logins: Counter<'result'>;
  readonly replays: Counter;
  /** Device binding (DBSC): registrations, proofs and refusals (with the refusal's reason). */
  readonly deviceBinding: Counter<'event' | 'reason'>;
  readonly storeErrors: Counter<'op'>;
  /** Requests the store refused, by cause: `oom` (Redis full) or `unavailable`. */
  readonly storeRefusals: Counter<'cause'>;
  /** Audit events lost (the action itself went on), by the same causes. */
  readonly auditFailures: Counter<'cause'>;
  readonly storeLatency: Histogram<'op'>;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry });
  const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });
  return {
    registry,
    sessionsCreated: counter('sessions_created_total', 'Sessions created by a login.'),
    sessionsRefreshed: counter('sessions_refreshed_total', 'Session IDs rotated by a refresh.'),
    sessionsRevoked: counter('sessions_revoked_total', 'Sessions revoked (logout, logout-all, kill, password change, max per user).'),
    sessionsExpired: counter('sessions_expired_total', 'Sessions found past a deadline (idle: not refreshable; absolute).', ['reason']),
    logins: counter('logins_total', 'Login attempts by result (ok, failed, throttled).', ['result']),
    replays: counter('session_replays_total', 'Rotated-away IDs presented after the grace period (the session was revoked).'),
    deviceBinding: counter(
      'session_device_binding_total',
      'Device binding (DBSC) by event: registered, proved (a signed refresh), refused (reason: signature, wrong_key, challenge, malformed…, or unproven: a request of a bound session past its proof).',
      ['event', 'reason'],
    ),
    storeErrors: counter('store_errors_total', 'Session store calls that failed (503 store_unavailable).', ['op']),
    storeRefusals: counter(
      'sessions_store_refusals_total',
      'Requests answered 503 store_unavailable, by cause: oom (Redis at maxmemory: new sessions refused, reads and revocations go on) or unavailable.',
      ['cause'],
    ),
    auditFailures: counter('audit_append_failures_total', 'Audit events that could not be appended (logged instead), by cause: oom or unavailable.', ['cause']),
    storeLatency: new Histogram({
      name: 'store_latency_seconds',
      help: 'Session store call latency.',
      labelNames: ['op'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
  };
}

/** Told of every write that needs new memory and went through (the store is not full). */
export interface StoreWriteHooks {
  wrote?(): void;
}

/** The same store, timed and counted. */
export function instrumentStore(store: SessionStore, m: Metrics, hooks: StoreWriteHooks = {}): SessionStore {
  const wrote = () => hooks.wrote?.();
  // One labelled child per operation, made once: a timer on it skips hashing the
  // label set on every call (validate runs on every authenticated request).
  const latency = new Map<string, ReturnType<Metrics['storeLatency']['labels']>>();
  const timerFor = (op: string) => {
    let child = latency.get(op);
    if (!child) {
      child = m.storeLatency.labels({ op });
      latency.set(op, child);
    }
    return child.startTimer();
  };
  async function timed<T>(op: string, call: () => Promise<T>): Promise<T> {
    const end = timerFor(op);
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof AppError) || err.code === 'store_unavailable') m.storeErrors.inc({ op });
      throw err;
    } finally {
      end();
    }
  }
  // validate observes directly (performance.now, no timer closure and no label merge):
  // it runs on every authenticated request.
  const validateLatency = m.storeLatency.labels({ op: 'validate' });
  return {
    get policy() {
      return store.policy;
    },
    async create(input, policy) {
      const issued = await timed('create', () => store.create(input, policy));
      wrote();
      return issued;
    },
    // The hot path: the same timing and counting as timed(), without its closure and
    // extra async frame (one per authenticated request).
    validate(token) {
      const started = performance.now();
      const end = () => validateLatency.observe((performance.now() - started) / 1000);
      return store.validate(token).then(
        (r) => {
          end();
          return r;
        },
        (err: unknown) => {
          end();
          if (!(err instanceof AppError) || err.code === 'store_unavailable') m.storeErrors.inc({ op: 'validate' });
          throw err;
        },
      );
    },
    async refresh(token, opts) {
      const r = await timed('refresh', () => store.refresh(token, opts));
      // A rotation without grace may run while Redis is full: it proves nothing.
      if (opts?.grace !== false) wrote();
      return r;
    },
    async updateData(ref, data) {
      const done = await timed('updateData', () => store.updateData(ref, data));
      wrote();
      return done;
    },
    async bind(ref, key) {
      const bound = await timed('bind', () => store.bind(ref, key));
      wrote();
      return bound;
    },
    boundKey: (ref) => timed('boundKey', () => store.boundKey(ref)),
    revoke: (token) => timed('revoke', () => store.revoke(token)),
    revokeHandle: (handle) => timed('revokeHandle', () => store.revokeHandle(handle)),
    revokeAll: (tag, opts) => timed('revokeAll', () => store.revokeAll(tag, opts)),
    get: (handle) => timed('get', () => store.get(handle)),
    list: (tag) => timed('list', () => store.list(tag)),
    epoch: (tag) => timed('epoch', () => store.epoch(tag)),
    ping: () => timed('ping', () => store.ping()),
    close: () => store.close(),
    // A cache hit is not a store call: no latency to observe (the cache counts it).
    ...(store.peek ? { peek: store.peek.bind(store) } : {}),
  };
}

/**
 * SESSION_CACHE's lookups (hit, miss, bypassed while its invalidation link is down), its
 * size and its link, read from the cache's own tallies at scrape time, so that a hit
 * costs no metric update.
 */
export function observeCache(m: Metrics, cache: { stats(): CacheStats }): void {
  const seen = { hits: 0, misses: 0, bypassed: 0 };
  const label = { hits: 'hit', misses: 'miss', bypassed: 'bypassed' } as const;
  new Counter({
    name: 'session_cache_lookups_total',
    help: 'Session cache lookups by result: hit (no Redis trip), miss, bypassed (invalidation link down).',
    labelNames: ['result'],
    registers: [m.registry],
    collect() {
      const s = cache.stats();
      for (const k of ['hits', 'misses', 'bypassed'] as const) {
        if (s[k] > seen[k]) this.inc({ result: label[k] }, s[k] - seen[k]);
        seen[k] = s[k];
      }
    },
  });
  let invalidations = 0;
  new Counter({
    name: 'session_cache_invalidations_total',
    help: 'Invalidation messages the session cache received from Redis (each drops the cached sessions of the users it names).',
    registers: [m.registry],
    collect() {
      const n = cache.stats().invalidations;
      if (n > invalidations) this.inc(n - invalidations);
      invalidations = n;
    },
  });
  new Gauge({
    name: 'session_cache_entries',
    help: 'Sessions held by the session cache.',
    registers: [m.registry],
    collect() {
      this.set(cache.stats().entries);
    },
  });
  new Gauge({
    name: 'session_cache_link_up',
    help: '1 while the cache invalidation link is up (the cache serves), 0 while it is bypassed.',
    registers: [m.registry],
    collect() {
      this.set(cache.stats().up ? 1 : 0);
    },
  });
}
