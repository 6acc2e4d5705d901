/**
 * Over the account limit one attempt goes through per delay. Who gets it must not be
 * "whoever polls first": one address polling wrong passwords would then hold the
 * account locked for as long as it polls. Both throttles, the delay decided on a
 * ManualClock (the Redis throttle passes it to its scripts), so no test sleeps.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { ManualClock } from '../../src/clock.js';
import { keySpace } from '../../src/store/keys.js';
import { MemoryThrottle } from '../../src/throttle/memory-throttle.js';
import { RedisThrottle } from '../../src/throttle/redis-throttle.js';
import { type LoginThrottle, type ResolvedLimits, type ThrottleVerdict, accountId } from '../../src/throttle/types.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';

let redis: RedisProcess;
test.before(async () => {
  redis = await startRedis();
});
test.after.always(async () => {
  await redis?.stop();
});

const limits: ResolvedLimits = {
  maxFailuresPerUserIp: 1000,
  maxFailuresPerIp: 1000,
  windowMs: 15 * 60_000,
  maxFailuresPerAccount: 3,
  accountDelayMaxMs: 2_000,
  deviceLifetimeMs: 86_400_000,
};

let n = 0;
const factories: [string, (l?: ResolvedLimits) => { th: LoginThrottle; clock: ManualClock }][] = [
  ['memory', (l = limits) => {
    const clock = new ManualClock();
    return { th: new MemoryThrottle(l, clock), clock };
  }],
  ['redis', (l = limits) => {
    const clock = new ManualClock();
    return { th: new RedisThrottle(redis.client(), l, { keyPrefix: `fair${n++}:`, clock }), clock };
  }],
];

const POLLER = '203.0.113.5';
const OWNER = '198.51.100.7';

/** The poller's wrong guesses until the account is over its limit. */
async function lockUp(th: LoginThrottle, max: number): Promise<void> {
  for (let i = 0; i < max; i++) {
    if ((await th.check('victim', POLLER)).blocked) throw new Error('blocked before the limit');
    await th.fail('victim', POLLER);
  }
}

const wait = (v: ThrottleVerdict) => (v.blocked ? v.retryAfterMs : 0);

for (const [kind, make] of factories) {
  test(`${kind}: an address that already had its turn does not take the next one ahead of one that has not`, async (t: ExecutionContext) => {
    const { th, clock } = make();
    await lockUp(th, limits.maxFailuresPerAccount);
    // The poller takes the first turn and fails it.
    t.false((await th.check('victim', POLLER)).blocked);
    await th.fail('victim', POLLER);
    // The owner (a new browser, another address) is refused while the delay runs…
    const first = await th.check('victim', OWNER);
    t.true(first.blocked);
    t.true(wait(first) > 0 && wait(first) <= limits.accountDelayMaxMs, String(wait(first)));
    // …the poller keeps polling; the delay passes; the poller asks first, and is refused.
    t.true((await th.check('victim', POLLER)).blocked);
    clock.advance(wait(first));
    for (let i = 0; i < 5; i++) t.true((await th.check('victim', POLLER)).blocked, `poll ${i}`);
    // The owner, back after Retry-After, gets the turn.
    t.false((await th.check('victim', OWNER)).blocked);
    await th.succeed('victim', OWNER, undefined, { id: 'victim', tag: 'tagvictim' });
    t.false((await th.check('victim', POLLER)).blocked, 'a success ends the delays');
  });

  test(`${kind}: one address polling through 10 delays never keeps the owner out longer than one delay`, async (t: ExecutionContext) => {
    const { th, clock } = make();
    await lockUp(th, limits.maxFailuresPerAccount);
    for (let round = 0; round < 10; round++) {
      // The poller asks many times in each delay and takes whatever turn it is given.
      let polls = 0;
      for (let i = 0; i < 20; i++) {
        polls++;
        if (!(await th.check('victim', POLLER)).blocked) {
          await th.fail('victim', POLLER);
          break;
        }
      }
      t.true(polls > 0);
      const owner = `198.51.100.${round + 10}`;
      const refused = await th.check('victim', owner);
      if (refused.blocked) {
        t.true(refused.retryAfterMs <= limits.accountDelayMaxMs, `round ${round}: ${refused.retryAfterMs}`);
        clock.advance(refused.retryAfterMs);
        for (let i = 0; i < 3; i++) await th.check('victim', POLLER);
      }
      t.false((await th.check('victim', owner)).blocked, `round ${round}: the owner's second try`);
      // A wrong password from the owner this time: the delays go on.
      await th.fail('victim', owner);
      clock.advance(limits.accountDelayMaxMs);
    }
  });

  test(`${kind}: attempts refused by the account's delay count against the sender's own per-address limit`, async (t: ExecutionContext) => {
    const { th } = make({ ...limits, maxFailuresPerIp: 8 });
    await lockUp(th, limits.maxFailuresPerAccount);
    t.false((await th.check('victim', POLLER)).blocked);
    await th.fail('victim', POLLER);
    // 4 failures so far; 4 refusals by the delay fill the address's allowance of 8.
    for (let i = 0; i < 4; i++) t.true((await th.check('victim', POLLER)).blocked);
    const other = await th.check('someone-else', POLLER);
    t.true(other.blocked, 'the address is over its own limit, for any account');
    t.true(wait(other) > limits.accountDelayMaxMs, 'until its window ends, not the account delay');
    t.false((await th.check('someone-else', '192.0.2.1')).blocked, 'other addresses are not affected');
  });
}

test('redis: during a deploy a 0.2.0 node keeps its own delay key; a success on this node ends it too', async (t) => {
  const keyPrefix = `fair-old${n++}:`;
  const client = redis.client();
  const th = new RedisThrottle(client, limits, { keyPrefix });
  await lockUp(th, limits.maxFailuresPerAccount);
  // What 0.2.0 does when it takes the turn: SET <lock> 1 PX <delay> NX. This node's turns
  // are another key, so neither version reads the other's as something it is not.
  const lock = keySpace(keyPrefix).throttle('lock', accountId('victim'));
  t.is(await client.set(lock, '1', 'PX', 60_000, 'NX'), 'OK');
  t.false((await th.check('victim', OWNER)).blocked);
  t.is(await client.type(keySpace(keyPrefix).throttle('turn', accountId('victim'))), 'hash');
  await th.succeed('victim', OWNER, undefined, { id: 'victim', tag: 'tagvictim' });
  t.is(await client.exists(lock), 0);
});
