/**
 * The login throttle in Redis, shared by every node. Each counter is one key
 * (keys.throttle), so it works on Cluster without a cross-slot script: INCR plus
 * `PEXPIRE … NX` in one MULTI starts the window at the first failure and never
 * extends it. The window runs on Redis's clock (key TTL), like every other expiry.
 */
import type { Cluster, Redis } from 'ioredis';
import { toStoreError } from '../store/connection.js';
import { type KeySpace, keySpace } from '../store/keys.js';
import { type LoginThrottle, type ThrottleLimits, type ThrottleVerdict, userIpId } from './types.js';

const storeError = (err: unknown): never => {
  throw toStoreError(err);
};

export class RedisThrottle implements LoginThrottle {
  readonly #keys: KeySpace;

  constructor(
    private readonly client: Redis | Cluster,
    readonly limits: ThrottleLimits,
    opts: { keyPrefix?: string } = {},
  ) {
    this.#keys = keySpace(opts.keyPrefix);
  }

  async check(username: string, ip: string): Promise<ThrottleVerdict> {
    const counters = this.#counters(username, ip);
    const counts = await Promise.all(counters.map(([key]) => this.client.get(key))).catch(storeError);
    const over = counters.filter(([, max], i) => Number(counts[i] ?? 0) >= max);
    if (over.length === 0) return { blocked: false };
    const ttls = await Promise.all(over.map(([key]) => this.client.pttl(key))).catch(storeError);
    // A counter without a TTL cannot exist (INCR and PEXPIRE are one MULTI); -2 means it just expired.
    const retryAfterMs = Math.max(...ttls.map((ms) => (ms === -1 ? this.limits.windowMs : ms)));
    return retryAfterMs > 0 ? { blocked: true, retryAfterMs } : { blocked: false };
  }

  async fail(username: string, ip: string): Promise<void> {
    const window = String(this.limits.windowMs);
    await Promise.all(
      this.#counters(username, ip).map(async ([key]) => {
        const res = await this.client.multi().incr(key).pexpire(key, window, 'NX').exec();
        const err = res?.find(([e]) => e)?.[0];
        if (!res || err) throw err ?? new Error('MULTI aborted');
      }),
    ).catch(storeError);
  }

  async succeed(username: string, ip: string): Promise<void> {
    await this.client.del(this.#keys.throttle('uip', userIpId(username, ip))).catch(storeError);
  }

  #counters(username: string, ip: string): [string, number][] {
    return [
      [this.#keys.throttle('uip', userIpId(username, ip)), this.limits.maxFailuresPerUserIp],
      [this.#keys.throttle('ip', ip), this.limits.maxFailuresPerIp],
    ];
  }
}
