/**
 * The throttle's device cookies belong to one account (its user id and routing tag, not
 * its name), go with it, are capped per account, and a device that spends its own
 * allowance stops being trusted until a sign-in succeeds. What unauthenticated failures
 * leave behind stays small: a never-seen name's account counter lives one window, not a
 * day. Both throttles: the memory one on a ManualClock, the Redis one on a private
 * redis-server, where the keys themselves are checked.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { ManualClock } from '../../src/clock.js';
import { keySpace } from '../../src/store/keys.js';
import { MemoryThrottle } from '../../src/throttle/memory-throttle.js';
import { RedisThrottle } from '../../src/throttle/redis-throttle.js';
import { type AccountIdentity, DEVICES_PER_ACCOUNT, type LoginThrottle, type ResolvedLimits } from '../../src/throttle/types.js';
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
  maxFailuresPerIp: 1000,
  windowMs: 15 * MINUTE,
  maxFailuresPerAccount: 5,
  accountDelayMaxMs: 15 * MINUTE,
  deviceLifetimeMs: 30 * 24 * 60 * MINUTE,
};

interface Subject {
  th: LoginThrottle;
  /** The throttle window passes for every counter (the clock moves, or the Redis counters go). */
  windowPasses(): Promise<void>;
  /** Redis only: the keys of this throttle of one kind. */
  keys(kind: string): Promise<string[]>;
}

let n = 0;
const factories: [string, () => Subject][] = [
  ['memory', () => {
    const clock = new ManualClock();
    return { th: new MemoryThrottle(limits, clock), windowPasses: async () => clock.advance(limits.windowMs), keys: async () => [] };
  }],
  ['redis', () => {
    const keyPrefix = `dev${n++}:`;
    const client = redis.client();
    const keys = (kind: string) => client.keys(`${keySpace(keyPrefix).throttle(kind as 'dev', '')}*`);
    return {
      th: new RedisThrottle(client, limits, { keyPrefix }),
      windowPasses: async () => {
        for (const kind of ['uip', 'ip', 'devf', 'turn']) {
          const found = await keys(kind);
          if (found.length > 0) await client.del(...found);
        }
      },
      keys,
    };
  }],
];

const bob1: AccountIdentity = { id: 'bob', tag: 'Tag0000bob01' };
const bob2: AccountIdentity = { id: 'bob', tag: 'Tag0000bob02' };

/** The account over its limit: wrong passwords from fresh addresses until one is refused. */
async function overLimit(th: LoginThrottle, account: AccountIdentity): Promise<void> {
  for (let i = 0; i < limits.maxFailuresPerAccount; i++) await th.fail('bob', `10.9.0.${i}`, undefined, account);
  await th.check('bob', '10.9.1.1', undefined, account); // takes the turn the delay allows
}

/**
 * Whether a sign-in with this device cookie is refused, from an address of its own: a
 * refusal counts against its address, which must not decide the next probe.
 */
let probes = 0;
const blocked = async (th: LoginThrottle, device: string | undefined, account: AccountIdentity | undefined, ip?: string) =>
  (await th.check('bob', ip ?? `198.51.${100 + (probes >> 8)}.${probes++ & 0xff}`, device, account)).blocked;

for (const [kind, make] of factories) {
  test(`${kind}: a device cookie of a deleted bob does not exempt its holder from the new bob's account limit`, async (t: ExecutionContext) => {
    const { th } = make();
    const old = await th.succeed('bob', '192.0.2.1', undefined, bob1);
    await overLimit(th, bob2);
    t.true(await blocked(th, old, bob2), 'the old bob\'s device, against the new bob');
    t.true(await blocked(th, undefined, bob2));
    const mine = await th.succeed('bob', '192.0.2.2', undefined, bob2);
    await overLimit(th, bob2);
    t.false(await blocked(th, mine, bob2), 'the new bob\'s own device');
  });

  test(`${kind}: forgetting an account deletes its device records`, async (t: ExecutionContext) => {
    const s = make();
    const device = await s.th.succeed('bob', '192.0.2.1', undefined, bob1);
    const other = await s.th.succeed('alice', '192.0.2.1', undefined, { id: 'alice', tag: 'Tag00000alic' });
    await s.th.forget(bob1);
    await overLimit(s.th, bob1);
    t.true(await blocked(s.th, device, bob1));
    if (kind === 'redis') {
      t.is((await s.keys('dev')).length, 1, 'only alice\'s device is left');
      t.deepEqual(await s.keys('devs'), (await s.keys('devs')).filter((k) => !k.endsWith('bob')));
      t.is((await s.keys('devs')).length, 1);
    }
    t.truthy(other);
  });

  test(`${kind}: an account keeps its newest ${DEVICES_PER_ACCOUNT} device cookies: sign-ins without one do not pile up records`, async (t: ExecutionContext) => {
    const s = make();
    const devices: string[] = [];
    for (let i = 0; i < DEVICES_PER_ACCOUNT + 15; i++) devices.push(await s.th.succeed('bob', `192.0.2.${i}`, undefined, bob1));
    await overLimit(s.th, bob1);
    const trusted: boolean[] = [];
    for (const d of devices) trusted.push(!(await blocked(s.th, d, bob1)));
    t.deepEqual(trusted, devices.map((_, i) => i >= 15));
    if (kind === 'redis') {
      t.is((await s.keys('dev')).length, DEVICES_PER_ACCOUNT);
      t.is((await s.keys('devs')).length, 1);
    }
  });

  test(`${kind}: a device that spends its own allowance is no longer trusted, even after the window, until a sign-in succeeds`, async (t: ExecutionContext) => {
    const s = make();
    const device = await s.th.succeed('bob', '192.0.2.1', undefined, bob1);
    await overLimit(s.th, bob1);
    for (let i = 0; i < limits.maxFailuresPerUserIp; i++) {
      const ip = `203.0.113.${i}`;
      t.false(await blocked(s.th, device, bob1, ip));
      await s.th.fail('bob', ip, device, bob1);
    }
    t.true(await blocked(s.th, device, bob1, '203.0.113.50'));
    await s.windowPasses();
    await s.th.check('bob', '10.9.2.1', undefined, bob1); // someone takes the turn that opened meanwhile
    t.true(await blocked(s.th, device, bob1, '203.0.113.51'), 'still not trusted once its failures are forgotten');
    if (kind === 'redis') t.is((await s.keys('dev')).length, 0, 'its record is gone');
    const next = await s.th.succeed('bob', '198.51.100.9', device, bob1);
    await overLimit(s.th, bob1);
    t.false(await blocked(s.th, next, bob1), 'a sign-in gives a trusted one again');
  });

  test(`${kind}: a never-seen name's account counter lives one window, an account's a day`, async (t: ExecutionContext) => {
    const s = make();
    for (let i = 0; i < limits.maxFailuresPerAccount; i++) {
      await s.th.fail('ghost', `10.8.0.${i}`);
      await s.th.fail('bob', `10.8.0.${i}`, undefined, bob1);
    }
    if (kind === 'redis') {
      const ttls = await Promise.all((await s.keys('acct')).map((k) => redis.client().pttl(k)));
      t.is(ttls.length, 2);
      t.is(ttls.filter((ms) => ms > 0 && ms <= limits.windowMs).length, 1, String(ttls));
      t.is(ttls.filter((ms) => ms > limits.windowMs).length, 1, String(ttls));
    } else {
      await s.windowPasses();
      t.false((await s.th.check('ghost', '198.51.100.3')).blocked, 'forgotten: no turn to wait for');
      await s.th.check('bob', '10.9.2.1', undefined, bob1); // takes the turn that opened meanwhile
      t.true((await s.th.check('bob', '198.51.100.3', undefined, bob1)).blocked, 'still over its limit');
    }
  });
}
