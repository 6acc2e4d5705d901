/**
 * The account-wide counter, device cookies and /64 grouping, for both throttles: the
 * memory one on a ManualClock, the Redis one against a private redis-server, where the
 * lapse of a delay is the lapse of its key (deleted here instead of waited for).
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { ManualClock } from '../../src/clock.js';
import { keySpace } from '../../src/store/keys.js';
import { MemoryThrottle } from '../../src/throttle/memory-throttle.js';
import { RedisThrottle } from '../../src/throttle/redis-throttle.js';
import type { AccountIdentity, LoginThrottle, ResolvedLimits } from '../../src/throttle/types.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';

let redis: RedisProcess;
test.before(async () => {
  redis = await startRedis();
});
test.after.always(async () => {
  await redis?.stop();
});

const MINUTE = 60_000;
const limits: ResolvedLimits = {
  maxFailuresPerUserIp: 3,
  maxFailuresPerIp: 5,
  windowMs: 15 * MINUTE,
  maxFailuresPerAccount: 50,
  accountDelayMaxMs: 15 * MINUTE,
  deviceLifetimeMs: 30 * 24 * 60 * MINUTE,
};

interface Subject {
  th: LoginThrottle;
  /** Lets the current per-account delay lapse: the clock moves, or the Redis key goes. */
  lapse(username: string, ms: number): Promise<void>;
}

let n = 0;
const factories: [string, () => Subject][] = [
  [
    'memory',
    () => {
      const clock = new ManualClock();
      return { th: new MemoryThrottle(limits, clock), lapse: async (_u, ms) => clock.advance(ms) };
    },
  ],
  [
    'redis',
    () => {
      const keyPrefix = `acct${n++}:`;
      const client = redis.client();
      const th = new RedisThrottle(client, limits, { keyPrefix });
      return {
        th,
        lapse: async () => {
          const locks = await client.keys(`${keySpace(keyPrefix).throttle('turn', '')}*`);
          if (locks.length > 0) await client.del(...locks);
        },
      };
    },
  ],
];

/** The account a name resolves to (devices are bound to it). */
const who = (name: string): AccountIdentity => ({ id: name, tag: `tag${name}`.slice(0, 12) });

/** IPv4 address number i, all distinct, none in the ranges the tests log in from. */
const ipv4 = (i: number) => `10.1.${i >> 8}.${i & 0xff}`;

/** Guesses `times` wrong passwords for an account, each from a fresh IPv4 address; returns how many got past the throttle. */
async function spray(th: LoginThrottle, username: string, times: number): Promise<number> {
  let tried = 0;
  for (let i = 0; i < times; i++) {
    const ip = ipv4(i);
    if ((await th.check(username, ip, undefined, who(username))).blocked) continue;
    tried++;
    await th.fail(username, ip, undefined, who(username));
  }
  return tried;
}

for (const [kind, make] of factories) {
  test(`${kind}: 101 wrong passwords for one account from 101 addresses: at most N+1 are tried, then even a new address is refused`, async (t: ExecutionContext) => {
    const { th } = make();
    const tried = await spray(th, 'victim', 101);
    t.is(tried, limits.maxFailuresPerAccount + 1);
    const v = await th.check('victim', '192.0.2.77');
    t.true(v.blocked);
    if (v.blocked) t.true(v.retryAfterMs > 0 && v.retryAfterMs <= limits.accountDelayMaxMs, String(v.retryAfterMs));
    // Other accounts are not affected.
    t.false((await th.check('bystander', '192.0.2.77')).blocked);
  });

  test(`${kind}: the owner's browser with a device cookie from an earlier login still gets in`, async (t: ExecutionContext) => {
    const { th } = make();
    const device = await th.succeed('owner', '192.0.2.10', undefined, who('owner'));
    t.regex(device, /^[A-Za-z0-9_-]{32}$/);
    const other = await th.succeed('someone-else', '192.0.2.11', undefined, who('someone-else'));
    await spray(th, 'owner', 101);
    // From a new address, too (the owner travels).
    t.false((await th.check('owner', '198.51.100.1', device, who('owner'))).blocked);
    // No cookie, a forged one, or another account's: the account-wide limit applies.
    t.true((await th.check('owner', '198.51.100.1')).blocked);
    t.true((await th.check('owner', '198.51.100.1', 'A'.repeat(32), who('owner'))).blocked);
    t.true((await th.check('owner', '198.51.100.1', other, who('owner'))).blocked);
    const next = await th.succeed('owner', '198.51.100.1', device, who('owner'));
    t.not(next, device);
    // The success cleared the account counter: a new browser gets in again…
    t.false((await th.check('owner', '198.51.100.2')).blocked);
    // …and the used device cookie was replaced.
    await spray(th, 'owner', 101);
    t.true((await th.check('owner', '198.51.100.1', device, who('owner'))).blocked);
    t.false((await th.check('owner', '198.51.100.1', next, who('owner'))).blocked);
  });

  test(`${kind}: a device cookie has its own allowance: guessing with it stops trusting it`, async (t: ExecutionContext) => {
    const { th } = make();
    const device = await th.succeed('dora', '192.0.2.20', undefined, who('dora'));
    await spray(th, 'dora', 101);
    for (let i = 0; i < limits.maxFailuresPerUserIp; i++) {
      const ip = `203.0.113.${i}`;
      t.false((await th.check('dora', ip, device, who('dora'))).blocked);
      await th.fail('dora', ip, device, who('dora'));
    }
    t.true((await th.check('dora', '203.0.113.200', device, who('dora'))).blocked);
  });

  test(`${kind}: failures from 2001:db8::1 and 2001:db8::2 share one per-IP and one user+IP counter`, async (t: ExecutionContext) => {
    const { th } = make();
    for (let i = 0; i < 3; i++) await th.fail(`u${i}`, '2001:db8::1');
    for (let i = 3; i < 5; i++) await th.fail(`u${i}`, '2001:db8::2');
    t.true((await th.check('newcomer', '2001:db8::ffff:1')).blocked);
    t.false((await th.check('newcomer', '2001:db8:0:1::1')).blocked);
    // The IPv4-mapped form of an address shares the IPv4 address's counter.
    for (let i = 0; i < 5; i++) await th.fail(`v${i}`, '::ffff:192.0.2.99');
    t.true((await th.check('newcomer', '192.0.2.99')).blocked);
    await th.fail('erin', '2001:db8:5::1');
    await th.fail('erin', '2001:db8:5::2');
    await th.fail('erin', '2001:db8:5::3');
    t.true((await th.check('erin', '2001:db8:5::4')).blocked);
  });

  test(`${kind}: the account lock-out is not permanent: one guess per delay, the delay grows and is capped`, async (t: ExecutionContext) => {
    const { th, lapse } = make();
    await spray(th, 'frank', limits.maxFailuresPerAccount + 1);
    const waits: number[] = [];
    for (let round = 0; round < 7; round++) {
      const v = await th.check('frank', `198.51.100.${round}`, undefined, who('frank'));
      t.true(v.blocked);
      if (!v.blocked) return;
      waits.push(v.retryAfterMs);
      await lapse('frank', v.retryAfterMs);
      t.false((await th.check('frank', `198.51.100.${round}`, undefined, who('frank'))).blocked);
      await th.fail('frank', `198.51.100.${round}`, undefined, who('frank'));
    }
    if (kind === 'memory') t.deepEqual(waits, [1, 2, 4, 8, 15, 15, 15].map((m) => m * MINUTE));
    for (const w of waits) t.true(w > 0 && w <= limits.accountDelayMaxMs);
    // After the delay the right password gets in and clears the account counter.
    await lapse('frank', limits.accountDelayMaxMs);
    t.false((await th.check('frank', '198.51.100.99')).blocked);
    await th.succeed('frank', '198.51.100.99', undefined, who('frank'));
    t.false((await th.check('frank', '198.51.100.100')).blocked);
  });
}

test('redis: every account and device key expires (nothing is kept for ever)', async (t) => {
  const client = redis.client();
  const keyPrefix = 'ttl-acct:';
  const th = new RedisThrottle(client, limits, { keyPrefix });
  const device = await th.succeed('gina', '192.0.2.30', undefined, who('gina'));
  await spray(th, 'gina', limits.maxFailuresPerAccount + 1);
  await th.check('gina', '192.0.2.31');
  await th.fail('gina', '192.0.2.32', device, who('gina'));
  const keys = await client.keys(`${keyPrefix}*`);
  const kinds = new Set(keys.map((k) => k.split(':')[2]));
  t.deepEqual([...kinds].sort(), ['acct', 'dev', 'devf', 'devs', 'ip', 'turn', 'uip']);
  for (const key of keys) {
    const ttl = await client.pttl(key);
    t.true(ttl > 0, key);
  }
  // The device cookie itself is not stored, only its hash.
  t.false(keys.some((k) => k.includes(device)));
  for (const key of keys) t.false((await client.get(key).catch(() => '')) === device);
});
