/**
 * Device binding on the embedded store and on Redis (test/integration/dbsc-suite.ts), plus
 * what does not depend on the store: binding off, the defaults measured, the admin CLI.
 */
import anyTest, { type TestFn } from 'ava';
import { ManualClock } from '../../src/clock.js';
import { client } from '../helpers/http.js';
import { PASSWORD } from '../helpers/login.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { admin } from '../helpers/run-admin.js';
import { startServer } from '../helpers/server.js';
import { COOKIE, MIN, type Rig, bound, me, registerDbscSuite, rig, signIn } from './dbsc-suite.js';

interface Ctx {
  redis: RedisProcess;
}
const test = anyTest as TestFn<Ctx>;
let redis: RedisProcess | undefined;
test.before(async (t) => {
  redis = await startRedis();
  t.context.redis = redis;
});
test.after.always(async () => {
  await redis?.stop();
});

registerDbscSuite('memory', () => undefined);
registerDbscSuite('redis', () => redis);

test('binding is off without Secure cookies and with SESSION_DEVICE_BINDING=off: nothing offered, no endpoints', async (t) => {
  for (const env of [{ COOKIE_SECURE: 'off' }, { SESSION_DEVICE_BINDING: 'off' }]) {
    const srv = await startServer({ env });
    t.teardown(() => srv.close());
    await srv.addUser('alice', PASSWORD);
    const secure = env.COOKIE_SECURE !== 'off';
    const req = client(srv.url, secure ? COOKIE : 'sid');
    const headers = { origin: `${secure ? 'https' : 'http'}://${new URL(srv.url).host}` };
    const res = await req('POST', '/auth/login', { json: { username: 'alice', password: PASSWORD }, headers });
    t.is(res.status, 200);
    t.is(res.headers.get('secure-session-registration'), null, JSON.stringify(env));
    t.is((await req('POST', '/auth/dbsc/register', { cookie: res.cookie()! })).status, 404, JSON.stringify(env));
  }
});

test('at the defaults a copy of a bound session\'s cookie taken at its proof works 10 minutes, not a second more', async (t) => {
  const clock = new ManualClock(Date.now());
  const srv = await startServer({ clock, env: { COOKIE_SECURE: 'on' } });
  t.teardown(() => srv.close());
  const r: Rig = { srv, clock, req: client(srv.url, COOKIE), origin: `https://${new URL(srv.url).host}`, n: 0 };
  const { token } = await bound(r);
  // The thief's copy, used every 30 s (activity does not help it).
  let lived = 0;
  while ((await me(r, token)).status === 200 && lived <= 20 * MIN) {
    clock.advance(30_000);
    lived += 30_000;
  }
  t.log(`the copy was refused after ${lived / 1000} s of use (checked every 30 s)`);
  t.is(lived, 10 * MIN);
  clock.advance(-1);
  t.is((await me(r, token)).status, 200, 'a millisecond before the tenth minute it still works');
});

test('the admin CLI shows which sessions are bound', async (t) => {
  const r = await rig(t, () => redis);
  const b = await bound(r);
  const s = await signIn(r);
  const env = { REDIS_URL: t.context.redis.url, SESSION_KEY_PREFIX: r.srv.keyPrefix };
  const list = JSON.parse((await admin(['sessions', 'list', '--json'], env)).stdout) as { handle: string; bound: boolean }[];
  t.true(list.find((x) => x.handle === b.handle)!.bound);
  t.false(list.find((x) => x.handle === s.handle)!.bound);
  const show = await admin(['sessions', 'show', b.handle], env);
  t.regex(show.stdout, /bound to a device\s+yes, last proof /);
});
