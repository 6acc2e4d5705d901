/** The login throttle for the embedded store: counters in a bounded Map, on the given clock. */
import { type Clock, systemClock } from '../clock.js';
import { type LoginThrottle, type ThrottleLimits, type ThrottleVerdict, userIpId } from './types.js';

interface Counter {
  count: number;
  resetAt: number;
}

/** Beyond this many counters the oldest are dropped: memory stays bounded under a spray. */
const MAX_COUNTERS = 100_000;

export class MemoryThrottle implements LoginThrottle {
  readonly #counters = new Map<string, Counter>();

  constructor(
    readonly limits: ThrottleLimits,
    private readonly clock: Clock = systemClock,
  ) {}

  async check(username: string, ip: string): Promise<ThrottleVerdict> {
    const now = this.#now();
    let retryAfterMs = 0;
    for (const [key, max] of this.#keys(username, ip)) {
      const c = this.#live(key, now);
      if (c && c.count >= max) retryAfterMs = Math.max(retryAfterMs, c.resetAt - now);
    }
    return retryAfterMs > 0 ? { blocked: true, retryAfterMs } : { blocked: false };
  }

  async fail(username: string, ip: string): Promise<void> {
    const now = this.#now();
    for (const [key] of this.#keys(username, ip)) {
      const c = this.#live(key, now);
      if (c) c.count++;
      else this.#counters.set(key, { count: 1, resetAt: now + this.limits.windowMs });
    }
    if (this.#counters.size > MAX_COUNTERS) this.#prune(now);
  }

  async succeed(username: string, ip: string): Promise<void> {
    this.#counters.delete(`uip:${userIpId(username, ip)}`);
  }

  #keys(username: string, ip: string): [string, number][] {
    return [
      [`uip:${userIpId(username, ip)}`, this.limits.maxFailuresPerUserIp],
      [`ip:${ip}`, this.limits.maxFailuresPerIp],
    ];
  }

  #live(key: string, now: number): Counter | undefined {
    const c = this.#counters.get(key);
    if (c && c.resetAt <= now) {
      this.#counters.delete(key);
      return undefined;
    }
    return c;
  }

  #prune(now: number): void {
    for (const [key, c] of this.#counters) if (c.resetAt <= now) this.#counters.delete(key);
    // Still too many: drop the oldest (Map keeps insertion order).
    for (const key of this.#counters.keys()) {
      if (this.#counters.size <= MAX_COUNTERS) break;
      this.#counters.delete(key);
    }
  }

  #now(): number {
    return this.clock.now() ?? Date.now();
  }
}
