/**
 * The account lock-out through the real app, scaled down: the throttle window and the
 * delay cap are both 2 s (as at the defaults, where both are 15 minutes), the account
 * limit 3. One address polls wrong passwords without pause; the owner, on a new browser
 * at another address, signs in with the right password and, when refused, comes back
 * after Retry-After, as the sign-in page tells it to. It must get in on that second try:
 * one address cannot hold an account locked.
 */
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Request, client } from '../helpers/http.js';
import { PASSWORD } from '../helpers/login.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { startServer } from '../helpers/server.js';

let redis: RedisProcess;
test.before(async () => {
  redis = await startRedis();
});
test.after.always(async () => {
  await redis?.stop();
});

const login = (req: Request, ip: string, password: string) =>
  req('POST', '/auth/login', { json: { username: 'victim', password }, headers: { 'x-forwarded-for': ip } });

for (const kind of ['memory', 'redis']) {
  test(`${kind}: one address polling wrong passwords does not keep the owner out: it gets in on its try after Retry-After`, async (t) => {
    const srv = await startServer({
      redis: kind === 'redis' ? redis : undefined,
      env: {
        TRUST_PROXY: '1',
        LOGIN_THROTTLE_WINDOW: '2s',
        LOGIN_ACCOUNT_DELAY_MAX: '2s',
        LOGIN_MAX_FAILURES_PER_ACCOUNT: '3',
      },
    });
    t.teardown(() => srv.close());
    await srv.addUser('victim', PASSWORD);
    const req = client(srv.url);

    let polling = true;
    const statuses: number[] = [];
    const poller = (async () => {
      while (polling) statuses.push((await login(req, '203.0.113.5', 'a wrong password, polled')).status);
    })();
    while (statuses.filter((s) => s === 429).length < 5) await sleep(20); // the account is over its limit

    const tries: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await login(req, '198.51.100.7', PASSWORD);
      tries.push(r.status);
      if (r.status !== 429) break;
      await sleep(Number(r.headers.get('retry-after')) * 1000);
    }
    polling = false;
    await poller;
    t.true(statuses.includes(401), 'the poller got turns');
    t.true(tries.length <= 2, `the owner's tries: ${tries.join(', ')}`);
    t.is(tries.at(-1), 200, `the owner's tries: ${tries.join(', ')}`);
  });
}
