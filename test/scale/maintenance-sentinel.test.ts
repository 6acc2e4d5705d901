/**
 * `SENTINEL FAILOVER` under steady load (docs/design.md, invariant 12: maintenance costs
 * latency, not errors). Several clients validate, refresh, log in, log out, log out
 * everywhere, revoke devices and list them through one RedisStore while the Sentinels
 * move the master; the admin CLI lists and kills a user's sessions meanwhile. What must
 * hold: no request fails (the connection the failover closes and the reconnect to the
 * new master are waited out within REDIS_RETRY_BUDGET, default 2 s), and afterwards
 * every session is as the answers said: live ones valid, listed and revocable, revoked
 * ones refused. Latency during the event is reported (t.log), not asserted.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { connectRedis } from '../../src/store/connection.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { RedisUserStore } from '../../src/users/redis-user-store.js';
import { PasswordHasher } from '../../src/users/password.js';
import { type SentinelSetup, startRedisSentinel } from '../helpers/redis-sentinel.js';
import { SessionLoad } from '../helpers/session-load.js';
import { admin } from '../helpers/run-admin.js';

let sentinel: SentinelSetup;
test.before(async () => {
  sentinel = await startRedisSentinel();
});
test.after.always(async () => {
  await sentinel?.stop();
});

test('SENTINEL FAILOVER under load: no request fails, every session is as acknowledged, and the CLI’s list and kill --user go through', async (t) => {
  const client = await connectRedis({ sentinels: [...sentinel.sentinels], sentinelName: sentinel.name });
  const store = new RedisStore({ client });
  t.teardown(() => store.close());

  // The operator's target: an account with sessions the CLI lists, then kills.
  const users = new RedisUserStore(client);
  const target = await users.create('mallory', await new PasswordHasher({ concurrency: 1, queueLimit: 1 }).hash('correct horse battery staple'));
  const targeted = [];
  for (let i = 0; i < 4; i++) targeted.push((await store.create({ userId: target.id, tag: target.tag }))!);

  const load = new SessionLoad(store);
  await load.start();
  await sleep(300);
  load.counting = true;
  const env = { REDIS_SENTINELS: sentinel.sentinelsEnv, REDIS_SENTINEL_NAME: sentinel.name };
  // Started just before the failover: a CLI process takes about as long to start as the
  // switch, so the listing starts as it begins and the kill lands in the middle of it.
  const cli = (async () => {
    const list = await admin(['sessions', 'list', '--user', 'mallory', '--json'], env);
    load.mark('CLI list done');
    const kill = await admin(['sessions', 'kill', '--user', 'mallory'], env);
    load.mark('CLI kill done');
    return { list, kill };
  })();
  await sleep(300);
  load.mark('SENTINEL FAILOVER sent');
  const { ms } = await sentinel.failover();
  load.mark('every Sentinel names the new master');
  // Counted until the clients have worked on the new master for a while.
  await sleep(1500);
  load.counting = false;
  await load.stop();
  const { list, kill } = await cli;

  t.log(`SENTINEL FAILOVER: every Sentinel names the new master after ${ms} ms`);
  load.report(t, 'SENTINEL FAILOVER');
  for (const [kind, tally] of Object.entries(load.tally)) t.is(tally.failed, 0, `${kind} failed during the failover: ${tally}`);
  t.true(load.tally.validate.ok > 0 && load.tally.login.ok > 0);
  await load.check(t);

  t.log(`CLI during the failover: list --user exit ${list.code}, kill --user exit ${kill.code} ${(kill.stdout + kill.stderr).trim()}`);
  t.is(list.code, 0, list.stderr);
  t.deepEqual((JSON.parse(list.stdout) as { handle: string }[]).map((s) => s.handle).sort(), targeted.map((s) => s.session.handle).sort());
  t.is(kill.code, 0, kill.stderr);
  t.log(load.marks.join(', '));
  for (const s of targeted) t.like(await store.validate(s.token), { state: 'login_required' });
  t.deepEqual(await store.list(target.tag), []);
});
