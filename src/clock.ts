/**
 * Time for every expiry decision (docs/design.md, invariant 2: one clock).
 *
 * The Redis store decides expiry on Redis server time: when its clock is `redisTime`
 * it passes no time to the scripts, which read `TIME` themselves, so app nodes with
 * skewed system clocks agree. Any other clock is passed to the scripts in ARGV, which
 * is how tests drive time without sleeping. The embedded store uses the process clock.
 */
export interface Clock {
  /** Milliseconds since the epoch, or `undefined` for "ask the store's own clock". */
  now(): number | undefined;
}

/** Redis `TIME`, read inside each script. */
export const redisTime: Clock = Object.freeze({ now: () => undefined });

export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/** A clock that only moves when told to; for tests. */
export class ManualClock implements Clock {
  #now: number;
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
  set(ms: number): void {
    this.#now = ms;
  }
}
