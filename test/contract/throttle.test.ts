import test from 'ava';
import type { ExecutionContext } from 'ava';
import { ManualClock } from '../../src/clock.js';
import { MemoryThrottle } from '../../src/throttle/memory-throttle.js';
import { RedisThrottle } from '../../src/throttle/redis-throttle.js';
import type { LoginThrottle, ThrottleLimits } from '../../src/throttle/types.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';

let redis: RedisProcess;
test.before(async () => {
  redis = await startRedis();
});
test.after.always(async () => {
  await redis?.stop();
});

const limits: ThrottleLimits = {
  maxFailuresPerUserIp: 3,
  maxFailuresPerIp: 5,
  windowMs: 60_000,
  maxFailuresPerAccount: 50,
  accountDelayMaxMs: 15 * 60_000,
  deviceLifetimeMs: 30 * 86_400_000,
};
let n = 0;
const factories: [string, () => LoginThrottle][] = [
  ['memory', () => new MemoryThrottle(limits, new ManualClock())],
  ['redis', () => new RedisThrottle(redis.client(), limits, { keyPrefix: `t${n++}:` })],
];

const failTimes = async (th: LoginThrottle, user: string, ip: string, times: number) => {
  for (let i = 0; i < times; i++) await th.fail(user, ip);
};

for (const [kind, make] of factories) {
  test(`${kind}: the user+IP counter blocks after its limit, with a retry time within the window`, async (t: ExecutionContext) => {
    const th = make();
    await failTimes(th, 'alice', '10.0.0.1', 2);
    t.false((await th.check('alice', '10.0.0.1')).blocked);
    await th.fail('alice', '10.0.0.1');
    const v = await th.check('alice', '10.0.0.1');
    t.true(v.blocked);
    if (v.blocked) t.true(v.retryAfterMs > 0 && v.retryAfterMs <= limits.windowMs);
    // Another IP and another user are not affected by this pair.
    t.false((await th.check('alice', '10.0.0.2')).blocked);
    t.false((await th.check('bob', '10.0.0.1')).blocked);
  });

  test(`${kind}: the per-IP counter blocks every user name from that IP`, async (t: ExecutionContext) => {
    const th = make();
    for (let i = 0; i < 5; i++) await th.fail(`user${i}`, '10.0.0.9');
    t.true((await th.check('someone-new', '10.0.0.9')).blocked);
    t.false((await th.check('someone-new', '10.0.0.8')).blocked);
  });

  test(`${kind}: fail answers whether the attempt it counted was within the limits; one past them does not reach the account`, async (t: ExecutionContext) => {
    const th = make();
    const verdicts = [];
    for (let i = 0; i < 5; i++) verdicts.push((await th.fail('frida', '10.0.3.1')).blocked);
    t.deepEqual(verdicts, [false, false, false, true, true]);
    // The account saw 3 failures, not 5: with 46 more from fresh addresses it is at 49,
    // under its 50, and nobody waits for a turn.
    for (let i = 0; i < 46; i++) await th.fail('frida', `10.0.4.${i}`);
    t.false((await th.check('frida', '10.0.5.1')).blocked);
    t.false((await th.check('frida', '10.0.5.2')).blocked);
    await th.fail('frida', '10.0.5.3');
    t.false((await th.check('frida', '10.0.5.4')).blocked, 'the 50th failure: the first turn');
    t.true((await th.check('frida', '10.0.5.5')).blocked);
  });

  test(`${kind}: a success clears the user+IP counter and takes back only its own attempt from the IP counter`, async (t: ExecutionContext) => {
    const th = make();
    await failTimes(th, 'carol', '10.0.1.1', 2);
    // The sign-in paths count every attempt before the password is checked.
    await th.fail('carol', '10.0.1.1');
    await th.succeed('carol', '10.0.1.1', undefined, { id: 'carol', tag: 'tagcarol' });
    await failTimes(th, 'carol', '10.0.1.1', 2);
    t.false((await th.check('carol', '10.0.1.1')).blocked);
    await th.fail('dave', '10.0.1.1');
    // 5 failures from the IP in all: the IP is blocked although carol's pair was reset.
    t.true((await th.check('carol', '10.0.1.1')).blocked);
  });
}

test('memory: the window passes on the clock and the counter starts over', async (t) => {
  const clock = new ManualClock();
  const th = new MemoryThrottle(limits, clock);
  await failTimes(th, 'erin', '10.0.2.1', 3);
  clock.advance(30_000);
  await th.fail('erin', '10.0.2.1'); // does not extend the window
  const v = await th.check('erin', '10.0.2.1');
  t.deepEqual(v, { blocked: true, retryAfterMs: 30_000 });
  clock.advance(30_000);
  t.false((await th.check('erin', '10.0.2.1')).blocked);
});

test('redis: counters are keys with the window as TTL, never extended by later failures', async (t) => {
  const client = redis.client();
  const th = new RedisThrottle(client, limits, { keyPrefix: 'ttl:' });
  await th.fail('frank', '10.0.3.1');
  const keys = (await client.keys('ttl:t:*')).sort();
  t.is(keys.length, 3); // user+IP, IP, account
  t.true(keys.includes('ttl:t:ip:10.0.3.1'));
  await client.pexpire('ttl:t:ip:10.0.3.1', 5000);
  await th.fail('frank', '10.0.3.1');
  const ttl = await client.pttl('ttl:t:ip:10.0.3.1');
  t.true(ttl > 0 && ttl <= 5000);
  t.is(await client.get('ttl:t:ip:10.0.3.1'), '2');
});

test('redis: a stopped Redis makes the throttle answer store_unavailable, not "not blocked"', async (t) => {
  const down = await startRedis();
  const client = down.client();
  client.options.maxRetriesPerRequest = 0;
  const th = new RedisThrottle(client, limits);
  await down.kill('SIGKILL');
  const err = await t.throwsAsync(th.check('gina', '10.0.4.1'));
  t.is((err as { code?: string }).code, 'store_unavailable');
  await down.stop();
});
