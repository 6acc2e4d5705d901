/**
 * The login throttle in Redis, shared by every node. Each counter is one key
 * (keys.throttle), so it works on Cluster without a cross-slot script: one script
 * (INCR plus `PEXPIRE … NX`) starts the window at the first failure and never extends
 * it, and counts even while Redis is full (scripts.ts). Windows, delays and device
 * lifetimes run on Redis's clock (key TTLs), like every other expiry (the turns of an
 * account over its limit on a given clock's, when there is one: tests). Nothing here is
 * kept without a TTL.
 */
import type { Cluster, Redis } from 'ioredis';
import { type Clock, redisTime } from '../clock.js';
import { toStoreError } from '../store/connection.js';
import { type KeySpace, keySpace } from '../store/keys.js';
import { ipGroup } from './ip-group.js';
import { type ThrottleCommands, throttleCommands } from './scripts.js';
import { REMEMBERED_ADDRESSES } from './turns.js';
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

const storeError = (err: unknown): never => {
  throw toStoreError(err);
};

export class RedisThrottle implements LoginThrottle {
  readonly #keys: KeySpace;
  readonly #cmd: ThrottleCommands;
  readonly #clock: Clock;

  readonly limits: ResolvedLimits;

  constructor(
    private readonly client: Redis | Cluster,
    limits: ThrottleLimits,
    opts: { keyPrefix?: string; clock?: Clock } = {},
  ) {
    this.limits = resolveLimits(limits);
    this.#clock = opts.clock ?? redisTime;
    this.#keys = keySpace(opts.keyPrefix);
    this.#cmd = throttleCommands(client);
  }

  async check(username: string, ip: string, device?: string): Promise<ThrottleVerdict> {
    const counters = this.#windowed(username, ip);
    const account = accountId(username);
    const acctKey = this.#keys.throttle('acct', account);
    const [counts, failures, trusted] = await Promise.all([
      Promise.all(counters.map(([key]) => this.client.get(key))),
      this.client.get(acctKey),
      this.#trusted(account, device),
    ]).catch(storeError);
    const over = counters.filter(([, max], i) => Number(counts[i] ?? 0) >= max);
    if (over.length > 0) {
      const ttls = await Promise.all(over.map(([key]) => this.client.pttl(key))).catch(storeError);
      // A counter without a TTL cannot exist (INCR and PEXPIRE are one MULTI); -2 means it just expired.
      const retryAfterMs = Math.max(...ttls.map((ms) => (ms === -1 ? this.limits.windowMs : ms)));
      if (retryAfterMs > 0) return { blocked: true, retryAfterMs };
    }
    const n = Number(failures ?? 0);
    if (trusted || n < this.limits.maxFailuresPerAccount) return { blocked: false };
    const [claimed, wait] = await this.#cmd
      .ssThrottleClaimTurn(
        this.#keys.throttle('lock', account),
        String(this.#clock.now() ?? ''),
        addressId(ipGroup(ip)),
        accountDelayMs(n, this.limits),
        ACCOUNT_MEMORY_MS,
        REMEMBERED_ADDRESSES,
      )
      .catch(storeError);
    if (claimed === 1) return { blocked: false };
    // Refused attempts cost the sender its own allowance, so polling is not free.
    await Promise.all(counters.map(([key]) => this.#cmd.ssThrottleCount(key, this.limits.windowMs, 'fixed'))).catch(storeError);
    return { blocked: true, retryAfterMs: wait };
  }

  async fail(username: string, ip: string, device?: string): Promise<void> {
    const account = accountId(username);
    const trusted = await this.#trusted(account, device).catch(storeError);
    const acctKey = this.#keys.throttle('acct', account);
    const windowed = this.#windowed(username, ip).map(([key]) => key);
    if (trusted) windowed.push(this.#keys.throttle('devf', trusted));
    await Promise.all([
      ...windowed.map((key) => this.#cmd.ssThrottleCount(key, this.limits.windowMs, 'fixed')),
      // Sliding: the account counter lives as long as failures keep coming.
      ...(trusted ? [] : [this.#cmd.ssThrottleCount(acctKey, ACCOUNT_MEMORY_MS, 'sliding')]),
    ]).catch(storeError);
  }

  async refused(userId: string | undefined, ip: string): Promise<number> {
    const key = this.#keys.throttle('rf', refusedId(userId, ipGroup(ip)));
    return this.#cmd.ssThrottleCount(key, this.limits.windowMs, 'fixed').catch(storeError);
  }

  async succeed(username: string, ip: string, device?: string): Promise<string> {
    const account = accountId(username);
    const old = deviceId(device);
    const token = newDeviceToken();
    const k = this.#keys;
    // One key per command: on Cluster these keys live in different slots.
    const dels = [k.throttle('uip', userIpId(username, ipGroup(ip))), k.throttle('acct', account), k.throttle('lock', account)];
    await Promise.all([
      ...dels.map((key) => this.client.del(key)),
      this.client.set(k.throttle('dev', deviceId(token)!), account, 'PX', this.limits.deviceLifetimeMs),
      old ? this.#retire(old, account) : undefined,
    ]).catch(storeError);
    return token;
  }

  async #retire(old: string, account: string): Promise<void> {
    if ((await this.client.get(this.#keys.throttle('dev', old))) !== account) return;
    await Promise.all([this.client.del(this.#keys.throttle('dev', old)), this.client.del(this.#keys.throttle('devf', old))]);
  }

  #windowed(username: string, ip: string): [string, number][] {
    const group = ipGroup(ip);
    return [
      [this.#keys.throttle('uip', userIpId(username, group)), this.limits.maxFailuresPerUserIp],
      [this.#keys.throttle('ip', group), this.limits.maxFailuresPerIp],
    ];
  }

  /** The device's record id when it is a live device cookie of this account within its allowance. */
  async #trusted(account: string, device: string | undefined): Promise<string | undefined> {
    const id = deviceId(device);
    if (!id) return undefined;
    const [owner, failures] = await Promise.all([
      this.client.get(this.#keys.throttle('dev', id)),
      this.client.get(this.#keys.throttle('devf', id)),
    ]);
    return owner === account && Number(failures ?? 0) < this.limits.maxFailuresPerUserIp ? id : undefined;
  }

}
