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
import { RetryBudget, unappliedRetried } from '../store/retry.js';
import { fenceOf } from '../store/sentinel-fence.js';
import { type KeySpace, keySpace } from '../store/keys.js';
import { ipGroup } from './ip-group.js';
import { type ThrottleCommands, throttleCommands } from './scripts.js';
import { REMEMBERED_ADDRESSES } from './turns.js';
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

const storeError = (err: unknown): never => {
  throw toStoreError(err);
};

export class RedisThrottle implements LoginThrottle {
  readonly #keys: KeySpace;
  readonly #cmd: ThrottleCommands;
  readonly #clock: Clock;

  readonly limits: ResolvedLimits;
  /** The client, each command waiting out maintenance (REDIS_RETRY_BUDGET) only when Redis surely did not apply it. */
  readonly #redis: Redis | Cluster;

  constructor(
    client: Redis | Cluster,
    limits: ThrottleLimits,
    opts: { keyPrefix?: string; clock?: Clock; retryBudgetMs?: number } = {},
  ) {
    this.limits = resolveLimits(limits);
    this.#clock = opts.clock ?? redisTime;
    this.#keys = keySpace(opts.keyPrefix);
    // Counters count each send: a command that may have been applied is never sent again.
    const retry = new RetryBudget(opts.retryBudgetMs ?? 2000, fenceOf(client));
    this.#cmd = unappliedRetried(throttleCommands(client), retry);
    this.#redis = unappliedRetried(client, retry);
  }

  async check(username: string, ip: string, device?: string, account?: AccountIdentity): Promise<ThrottleVerdict> {
    const counters = this.#windowed(username, ip);
    const acct = accountId(username);
    const [counts, failures, trusted] = await Promise.all([
      Promise.all(counters.map(([key]) => this.#redis.get(key))),
      this.#redis.get(this.#keys.throttle('acct', acct)),
      this.#trusted(device, account),
    ]).catch(storeError);
    const over = counters.filter(([, max], i) => Number(counts[i] ?? 0) >= max);
    if (over.length > 0) {
      const ttls = await Promise.all(over.map(([key]) => this.#redis.pttl(key))).catch(storeError);
      // A counter without a TTL cannot exist (the count script sets it); -2 means it just expired.
      const retryAfterMs = Math.max(...ttls.map((ms) => (ms === -1 ? this.limits.windowMs : ms)));
      if (retryAfterMs > 0) return { blocked: true, retryAfterMs };
    }
    const n = Number(failures ?? 0);
    if (trusted || n < this.limits.maxFailuresPerAccount) return { blocked: false };
    const [claimed, wait] = await this.#cmd
      .ssThrottleClaimTurn(
        this.#keys.throttle('turn', acct),
        this.#now(),
        addressId(ipGroup(ip)),
        accountDelayMs(n, this.limits),
        accountMemoryMs(account, this.limits),
        REMEMBERED_ADDRESSES,
      )
      .catch(storeError);
    if (claimed === 1) return { blocked: false };
    // Refused attempts cost the sender its own allowance, so polling is not free.
    await Promise.all(counters.map(([key]) => this.#count(key))).catch(storeError);
    return { blocked: true, retryAfterMs: wait };
  }

  async fail(username: string, ip: string, device?: string, account?: AccountIdentity): Promise<ThrottleVerdict> {
    const [trusted, counted] = await Promise.all([
      this.#trusted(device, account),
      Promise.all(
        this.#windowed(username, ip).map(([key, max]) =>
          this.#count(key).then(([n, ttl]) => (n <= max ? 0 : ttl > 0 ? ttl : this.limits.windowMs)),
        ),
      ),
    ]).catch(storeError);
    const retryAfterMs = Math.max(...counted);
    if (retryAfterMs > 0) return { blocked: true, retryAfterMs };
    if (trusted && account) {
      const [spent, ttl] = await this.#count(this.#keys.throttle('devf', trusted)).catch(storeError);
      // A device that spends its allowance is no device of the owner's any more.
      if (spent >= this.limits.maxFailuresPerUserIp) await this.#dropDevices(deviceOwner(account), [trusted]).catch(storeError);
      // Only attempts sent at once with it can go past the allowance.
      return spent > this.limits.maxFailuresPerUserIp ? { blocked: true, retryAfterMs: ttl > 0 ? ttl : this.limits.windowMs } : { blocked: false };
    }
    // Sliding: the account counter lives as long as failures keep coming.
    const acctKey = this.#keys.throttle('acct', accountId(username));
    await this.#cmd.ssThrottleCount(acctKey, accountMemoryMs(account, this.limits), 'sliding').catch(storeError);
    return { blocked: false };
  }

  async passed(username: string, ip: string, device?: string, account?: AccountIdentity): Promise<void> {
    const trusted = await this.#trusted(device, account).catch(storeError);
    const keys = [
      ...this.#windowed(username, ip).map(([key]) => key),
      trusted ? this.#keys.throttle('devf', trusted) : this.#keys.throttle('acct', accountId(username)),
    ];
    // Allowed while Redis is full, like the count it takes back.
    await Promise.all(keys.map((key) => this.#cmd.ssThrottleCount(key, this.limits.windowMs, 'undo'))).catch(storeError);
  }

  async refused(userId: string | undefined, ip: string): Promise<number> {
    const [n] = await this.#count(this.#keys.throttle('rf', refusedId(userId, ipGroup(ip)))).catch(storeError);
    return n;
  }

  async succeed(username: string, ip: string, device: string | undefined, account: AccountIdentity): Promise<string> {
    const acct = accountId(username);
    const owner = deviceOwner(account);
    const old = deviceId(device);
    const token = newDeviceToken();
    const id = deviceId(token)!;
    const k = this.#keys;
    // One key per command: on Cluster these keys live in different slots. `lock` is where
    // 0.2.0 nodes keep their delay: a success here ends theirs too during a deploy. The
    // address's count of this attempt is taken back: it was right.
    const dels = [
      k.throttle('uip', userIpId(username, ipGroup(ip))),
      k.throttle('acct', acct),
      k.throttle('turn', acct),
      k.throttle('lock', acct),
    ];
    await Promise.all([
      ...dels.map((key) => this.#redis.del(key)),
      this.#cmd.ssThrottleCount(k.throttle('ip', ipGroup(ip)), this.limits.windowMs, 'undo'),
      this.#redis.set(k.throttle('dev', id), owner, 'PX', this.limits.deviceLifetimeMs),
      this.#cmd
        .ssThrottleAddDevice(k.throttle('devs', owner), this.#now(), id, this.limits.deviceLifetimeMs, DEVICES_PER_ACCOUNT)
        .then((dropped) => this.#dropDevices(owner, dropped)),
      old ? this.#retire(old, owner) : undefined,
    ]).catch(storeError);
    return token;
  }

  async forget(account: AccountIdentity): Promise<void> {
    const owner = deviceOwner(account);
    const ids = await this.#redis.zrange(this.#keys.throttle('devs', owner), 0, -1).catch(storeError);
    await this.#dropDevices(owner, ids).catch(storeError);
    await this.#redis.del(this.#keys.throttle('devs', owner)).catch(storeError);
  }

  /** The device cookie a sign-in presented is replaced by a new one, when it was this owner's. */
  async #retire(old: string, owner: string): Promise<void> {
    if ((await this.#redis.get(this.#keys.throttle('dev', old))) === owner) await this.#dropDevices(owner, [old]);
  }

  /** Deletes device records and their failure counters, and takes them out of the owner's index. */
  async #dropDevices(owner: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await Promise.all([
      ...ids.flatMap((id) => [this.#redis.del(this.#keys.throttle('dev', id)), this.#redis.del(this.#keys.throttle('devf', id))]),
      this.#redis.zrem(this.#keys.throttle('devs', owner), ...ids),
    ]);
  }

  #windowed(username: string, ip: string): [string, number][] {
    const group = ipGroup(ip);
    return [
      [this.#keys.throttle('uip', userIpId(username, group)), this.limits.maxFailuresPerUserIp],
      [this.#keys.throttle('ip', group), this.limits.maxFailuresPerIp],
    ];
  }

  /** One more failure in a fixed window that starts at the first; returns the count and the window's rest. */
  #count(key: string): Promise<[number, number]> {
    return this.#cmd.ssThrottleCount(key, this.limits.windowMs, 'fixed');
  }

  /** The device's record id when it is a live device cookie of this account within its allowance. */
  async #trusted(device: string | undefined, account: AccountIdentity | undefined): Promise<string | undefined> {
    const id = deviceId(device);
    if (!id || !account) return undefined;
    const [owner, failures] = await Promise.all([
      this.#redis.get(this.#keys.throttle('dev', id)),
      this.#redis.get(this.#keys.throttle('devf', id)),
    ]);
    return owner === deviceOwner(account) && Number(failures ?? 0) < this.limits.maxFailuresPerUserIp ? id : undefined;
  }

  #now(): string {
    return String(this.#clock.now() ?? '');
  }
}
