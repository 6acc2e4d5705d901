/** The login throttle for the embedded store: counters in bounded Maps, on the given clock. */
import { type Clock, systemClock } from '../clock.js';
import { ipGroup } from './ip-group.js';
import { type Turns, claimTurn } from './turns.js';
import {
  type AccountIdentity,
  DEVICES_PER_ACCOUNT,
  type LoginThrottle,
  type ResolvedLimits,
  type ThrottleLimits,
  type ThrottleVerdict,
  accountDelayMs,
  accountId,
  accountMemoryMs,
  addressId,
  deviceId,
  deviceOwner,
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
  owner: string;
  resetAt: number;
}

/** Beyond this many entries the oldest are dropped: memory stays bounded under a spray. */
const MAX_COUNTERS = 100_000;

export class MemoryThrottle implements LoginThrottle {
  readonly #counters = new Map<string, Counter>();
  /** Apart from the counters, so a spray of typed names cannot push out a trusted browser. */
  readonly #devices = new Map<string, Device>();
  /** Each owner's device record ids, oldest first. */
  readonly #owned = new Map<string, Set<string>>();
  /** Accounts over their limit: who gets the next attempt (turns.ts). */
  readonly #turns = new Map<string, Turns & { resetAt: number }>();

  readonly limits: ResolvedLimits;

  constructor(
    limits: ThrottleLimits,
    private readonly clock: Clock = systemClock,
  ) {
    this.limits = resolveLimits(limits);
  }

  async check(username: string, ip: string, device?: string, account?: AccountIdentity): Promise<ThrottleVerdict> {
    const now = this.#now();
    let retryAfterMs = 0;
    for (const [key, max] of this.#windowed(username, ip)) {
      const c = this.#live(key, now);
      if (c && c.count >= max) retryAfterMs = Math.max(retryAfterMs, c.resetAt - now);
    }
    if (retryAfterMs > 0) return { blocked: true, retryAfterMs };
    if (this.#trusted(device, account, now)) return { blocked: false };

    const acct = accountId(username);
    const failures = this.#live(`acct:${acct}`, now)?.count ?? 0;
    if (failures < this.limits.maxFailuresPerAccount) return { blocked: false };
    let turns = this.#turns.get(acct);
    if (!turns || turns.resetAt <= now) {
      turns = { open: 0, holds: 0, seen: new Map(), resetAt: 0 };
      this.#turns.set(acct, turns);
    }
    const turn = claimTurn(turns, addressId(ipGroup(ip)), now, accountDelayMs(failures, this.limits));
    turns.resetAt = Math.max(turns.resetAt, now + accountMemoryMs(account, this.limits), turns.holds, turns.open);
    if (this.#turns.size > MAX_COUNTERS) this.#prune(this.#turns, now);
    if (turn.claimed) return { blocked: false };
    // Refused attempts cost the sender its own allowance, so polling is not free.
    for (const [key] of this.#windowed(username, ip)) this.#bump(key, now);
    return { blocked: true, retryAfterMs: turn.retryAfterMs };
  }

  async fail(username: string, ip: string, device?: string, account?: AccountIdentity): Promise<ThrottleVerdict> {
    const now = this.#now();
    const trusted = this.#trusted(device, account, now);
    let retryAfterMs = 0;
    for (const [key, max] of this.#windowed(username, ip)) {
      if (this.#bump(key, now) > max) retryAfterMs = Math.max(retryAfterMs, this.#live(key, now)!.resetAt - now);
    }
    if (retryAfterMs > 0) return { blocked: true, retryAfterMs };
    if (trusted) {
      // A device that spends its allowance is no device of the owner's any more.
      if (this.#bump(`devf:${trusted}`, now) >= this.limits.maxFailuresPerUserIp) this.#dropDevice(trusted);
    } else {
      const key = `acct:${accountId(username)}`;
      const c = this.#live(key, now);
      // Sliding: the account counter lives as long as failures keep coming.
      this.#counters.delete(key);
      this.#counters.set(key, { count: (c?.count ?? 0) + 1, resetAt: now + accountMemoryMs(account, this.limits) });
    }
    if (this.#counters.size > MAX_COUNTERS) this.#prune(this.#counters, now);
    return { blocked: false };
  }

  async passed(username: string, ip: string, device?: string, account?: AccountIdentity): Promise<void> {
    const now = this.#now();
    const trusted = this.#trusted(device, account, now);
    const keys = [...this.#windowed(username, ip).map(([key]) => key), trusted ? `devf:${trusted}` : `acct:${accountId(username)}`];
    for (const key of keys) {
      const c = this.#live(key, now);
      if (c && c.count > 0) c.count--;
    }
  }

  async refused(userId: string | undefined, ip: string): Promise<number> {
    const now = this.#now();
    const count = this.#bump(`rf:${refusedId(userId, ipGroup(ip))}`, now);
    if (this.#counters.size > MAX_COUNTERS) this.#prune(this.#counters, now);
    return count;
  }

  async succeed(username: string, ip: string, device: string | undefined, account: AccountIdentity): Promise<string> {
    const now = this.#now();
    const acct = accountId(username);
    const owner = deviceOwner(account);
    this.#counters.delete(`uip:${userIpId(username, ipGroup(ip))}`);
    // The address's count of this attempt is taken back: it was right.
    const address = this.#live(`ip:${ipGroup(ip)}`, now);
    if (address && address.count > 0) address.count--;
    this.#counters.delete(`acct:${acct}`);
    this.#turns.delete(acct);
    const old = deviceId(device);
    if (old && this.#devices.get(old)?.owner === owner) this.#dropDevice(old);
    const token = newDeviceToken();
    const id = deviceId(token)!;
    this.#devices.set(id, { owner, resetAt: now + this.limits.deviceLifetimeMs });
    const owned = this.#owned.get(owner) ?? new Set();
    this.#owned.set(owner, owned.add(id));
    for (const d of owned) {
      if (owned.size <= DEVICES_PER_ACCOUNT) break;
      owned.delete(d);
      this.#dropDevice(d);
    }
    if (this.#devices.size > MAX_COUNTERS) this.#prune(this.#devices, now);
    return token;
  }

  async forget(account: AccountIdentity): Promise<void> {
    const owner = deviceOwner(account);
    for (const id of this.#owned.get(owner) ?? []) this.#dropDevice(id);
    this.#owned.delete(owner);
  }

  #dropDevice(id: string): void {
    const d = this.#devices.get(id);
    this.#devices.delete(id);
    this.#counters.delete(`devf:${id}`);
    if (!d) return;
    const owned = this.#owned.get(d.owner);
    owned?.delete(id);
    if (owned?.size === 0) this.#owned.delete(d.owner);
  }

  #windowed(username: string, ip: string): [string, number][] {
    const group = ipGroup(ip);
    return [
      [`uip:${userIpId(username, group)}`, this.limits.maxFailuresPerUserIp],
      [`ip:${group}`, this.limits.maxFailuresPerIp],
    ];
  }

  /** The device's record id when it is a live device cookie of this account within its allowance. */
  #trusted(device: string | undefined, account: AccountIdentity | undefined, now: number): string | undefined {
    const id = deviceId(device);
    if (!id || !account) return undefined;
    const d = this.#devices.get(id);
    if (!d || d.owner !== deviceOwner(account)) return undefined;
    if (d.resetAt <= now) {
      this.#dropDevice(id);
      return undefined;
    }
    const failures = this.#live(`devf:${id}`, now)?.count ?? 0;
    return failures < this.limits.maxFailuresPerUserIp ? id : undefined;
  }

  /** One more failure in a fixed window that starts at the first; returns the count. */
  #bump(key: string, now: number): number {
    const c = this.#live(key, now);
    if (c) return ++c.count;
    this.#counters.set(key, { count: 1, resetAt: now + this.limits.windowMs });
    return 1;
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
