/**
 * The operator's view of store refusals. Every 503 store_unavailable is counted by cause
 * (`sessions_store_refusals_total`); a refusal because Redis is at maxmemory opens a
 * "store full" episode: one warning when it starts and one line when it ends, instead
 * of a warning per refused request, and /readyz reports `store_full` while it lasts.
 * The node stays ready meanwhile: reads, slides and revocations still work there, and
 * every node shares the same Redis, so taking nodes out would only add an outage.
 *
 * An episode ends at the first write that needs memory and goes through (a login, a
 * refresh, app data), or when /readyz probes and Redis accepts again: an operator who
 * freed memory sees `store_full: false` without waiting for the next login.
 */
import { type AppError, refusalCause, StoreUnavailableError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from './metrics.js';

export interface StoreFullWatchOptions {
  log: Logger;
  metrics: Metrics;
  /**
   * A write Redis refuses whole while it is full and that changes nothing otherwise
   * (resolves: not full; StoreFullError: still full).
   */
  probe: () => Promise<unknown>;
  now?: () => number;
}

export class StoreFullWatch {
  readonly #o: StoreFullWatchOptions;
  readonly #now: () => number;
  #since: number | undefined;
  #refused = 0;

  constructor(o: StoreFullWatchOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  get full(): boolean {
    return this.#since !== undefined;
  }

  /** A request failed with this error; counts it when the store refused it. */
  refused(err: AppError): void {
    if (!(err instanceof StoreUnavailableError)) return;
    const cause = refusalCause(err);
    this.#o.metrics.storeRefusals.inc({ cause });
    if (cause !== 'oom') return;
    this.#refused++;
    if (this.#since !== undefined) return;
    this.#since = this.#now();
    this.#o.log.warn(
      { event: 'store.full' },
      'Redis is full (maxmemory): new sessions are refused with 503 until memory is freed; reads, slides and revocations go on',
    );
  }

  /** A write that needs memory went through: the store is not full. */
  wrote(): void {
    if (this.#since === undefined) return;
    const durationMs = this.#now() - this.#since;
    this.#o.log.info({ event: 'store.full_cleared', durationMs, refused: this.#refused }, 'Redis accepts writes again');
    this.#since = undefined;
    this.#refused = 0;
  }

  /** Whether the store is full, re-checked with the probe while an episode is open. */
  async check(): Promise<boolean> {
    if (this.#since === undefined) return false;
    try {
      await this.#o.probe();
      this.wrote();
    } catch {
      // Still full, or (a timeout, a dropped link) nothing learned about memory.
    }
    return this.full;
  }
}
