/** The login throttle for the embedded store: counters in bounded Maps, on the given clock. */
import { type Clock, systemClock } from '../clock.js';
import { ipGroup } from './ip-group.js';
import { type Turns, claimTurn } from './turns.js';
import {
  ACCOUNT_MEMORY_MS,
  type LoginThrottle,
  type ResolvedLimits,
  type ThrottleLimits,
  type ThrottleVerdict,
  accountDelayMs,
  accountId,
  addressId,
  deviceId,
  newDeviceToken,
  refusedId,
  resolveLimits,
  userIpId,
} from './types.js';

interface Counter {
  count: number;
  resetAt: number;
}

interface Device {
  account: string;
  resetAt: number;
}

/** Beyond this many entries the oldest are dropped: memory stays bounded under a spray. */
const MAX_COUNTERS = 100_000;

export class MemoryThrottle implements LoginThrottle {
  readonly #counters = new Map<string, Counter>();
  /** Apart from the counters, so a spray of typed names cannot push out a trusted browser. */
  readonly #devices = new Map<string, Device>();
  /** Accounts over their limit: who gets the next attempt (turns.ts). */
  readonly #turns = new Map<string, Turns & { resetAt: number }>();

  readonly limits: ResolvedLimits;

  constructor(
    limits: ThrottleLimits,
    private readonly clock: Clock = systemClock,
  ) {
    this.limits = resolveLimits(limits);
  }

  async check(username: string, ip: string, device?: string): Promise<ThrottleVerdict> {
    const now = this.#now();
    let retryAfterMs = 0;
    for (const [key, max] of this.#windowed(username, ip)) {
      const c = this.#live(key, now);
      if (c && c.count >= max) retryAfterMs = Math.max(retryAfterMs, c.resetAt - now);
    }
    if (retryAfterMs > 0) return { blocked: true, retryAfterMs };
    if (this.#trusted(username, device, now)) return { blocked: false };

    const account = accountId(username);
    const failures = this.#live(`acct:${account}`, now)?.count ?? 0;
    if (failures < this.limits.maxFailuresPerAccount) return { blocked: false };
    let turns = this.#turns.get(account);
    if (!turns || turns.resetAt <= now) {
      turns = { open: 0, holds: 0, seen: new Map(), resetAt: 0 };
      this.#turns.set(account, turns);
    }
    const delay = accountDelayMs(failures, this.limits);
    const turn = claimTurn(turns, addressId(ipGroup(ip)), now, delay);
    turns.resetAt = Math.max(turns.resetAt, now + ACCOUNT_MEMORY_MS, turns.holds, turns.open);
    if (this.#turns.size > MAX_COUNTERS) this.#prune(this.#turns, now);
    if (turn.claimed) return { blocked: false };
    // Refused attempts cost the sender its own allowance, so polling is not free.
    for (const [key] of this.#windowed(username, ip)) this.#bump(key, now);
    return { blocked: true, retryAfterMs: turn.retryAfterMs };
  }

  async fail(username: string, ip: string, device?: string): Promise<void> {
    const now = this.#now();
    for (const [key] of this.#windowed(username, ip)) this.#bump(key, now);
    const trusted = this.#trusted(username, device, now);
    if (trusted) this.#bump(`devf:${trusted}`, now);
    else {
      const key = `acct:${accountId(username)}`;
      const c = this.#live(key, now);
      // Sliding: the account counter lives as long as failures keep coming.
      this.#counters.delete(key);
      this.#counters.set(key, { count: (c?.count ?? 0) + 1, resetAt: now + ACCOUNT_MEMORY_MS });
    }
    if (this.#counters.size > MAX_COUNTERS) this.#prune(this.#counters, now);
  }

  async refused(userId: string | undefined, ip: string): Promise<number> {
    const now = this.#now();
    const key = `rf:${refusedId(userId, ipGroup(ip))}`;
    this.#bump(key, now);
    if (this.#counters.size > MAX_COUNTERS) this.#prune(this.#counters, now);
    return this.#live(key, now)?.count ?? 1;
  }

  async succeed(username: string, ip: string, device?: string): Promise<string> {
    const now = this.#now();
    const account = accountId(username);
    this.#counters.delete(`uip:${userIpId(username, ipGroup(ip))}`);
    this.#counters.delete(`acct:${account}`);
    this.#turns.delete(account);
    const old = deviceId(device);
    if (old && this.#devices.get(old)?.account === account) {
      this.#devices.delete(old);
      this.#counters.delete(`devf:${old}`);
    }
    const token = newDeviceToken();
    this.#devices.set(deviceId(token)!, { account, resetAt: now + this.limits.deviceLifetimeMs });
    if (this.#devices.size > MAX_COUNTERS) this.#prune(this.#devices, now);
    return token;
  }

  #windowed(username: string, ip: string): [string, number][] {
    const group = ipGroup(ip);
    return [
      [`uip:${userIpId(username, group)}`, this.limits.maxFailuresPerUserIp],
      [`ip:${group}`, this.limits.maxFailuresPerIp],
    ];
  }

  /** The device's record id when it is a live device cookie of this account within its allowance. */
  #trusted(username: string, device: string | undefined, now: number): string | undefined {
    const id = deviceId(device);
    if (!id) return undefined;
    const d = this.#devices.get(id);
    if (!d || d.resetAt <= now || d.account !== accountId(username)) return undefined;
    const failures = this.#live(`devf:${id}`, now)?.count ?? 0;
    return failures < this.limits.maxFailuresPerUserIp ? id : undefined;
  }

  /** One more failure in a fixed window that starts at the first. */
  #bump(key: string, now: number): void {
    const c = this.#live(key, now);
    if (c) c.count++;
    else this.#counters.set(key, { count: 1, resetAt: now + this.limits.windowMs });
  }

  #live(key: string, now: number): Counter | undefined {
    const c = this.#counters.get(key);
    if (c && c.resetAt <= now) {
      this.#counters.delete(key);
      return undefined;
    }
    return c;
  }

  #prune(map: Map<string, { resetAt: number }>, now: number): void {
    for (const [key, c] of map) if (c.resetAt <= now) map.delete(key);
    // Still too many: drop the oldest (Map keeps insertion order).
    for (const key of map.keys()) {
      if (map.size <= MAX_COUNTERS) break;
      map.delete(key);
    }
  }

  #now(): number {
    return this.clock.now() ?? Date.now();
  }
}
