/**
 * The real server (src/main.ts as a process) on Redis Sentinel — master, replica, three
 * Sentinels — with REDIS_WAIT_REPLICAS=1: a write the replica has not confirmed is
 * never acknowledged, and after `SENTINEL FAILOVER` the same cookie works again with
 * every acknowledged login and logout intact. The measured times are logged (README,
 * "Deployment and scale-out"); the bounds asserted are liveness bounds, not speed claims.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { loadConfig } from '../../src/config.js';
import { PasswordHasher } from '../../src/users/password.js';
import { RedisUserStore } from '../../src/users/redis-user-store.js';
import { admin } from '../helpers/run-admin.js';
import { type Reply, client } from '../helpers/http.js';
import type { RedisProcess } from '../helpers/redis-server.js';
import { type SentinelSetup, startRedisSentinel } from '../helpers/redis-sentinel.js';
import { type AppProcess, startApp } from '../helpers/app-process.js';

const PASSWORD = 'correct horse battery staple';
let sentinel: SentinelSetup;
let app: AppProcess;
let req: ReturnType<typeof client>;

test.before(async () => {
  // down-after well above the replica stalls below, so they never look like failures.
  sentinel = await startRedisSentinel({ downAfterMs: 3000 });
  const users = new RedisUserStore(sentinel.client());
  await users.create('alice', await new PasswordHasher({ concurrency: 1, queueLimit: 1 }).hash(PASSWORD));
  app = await startApp({
    env: {
      REDIS_SENTINELS: sentinel.sentinelsEnv,
      REDIS_SENTINEL_NAME: sentinel.name,
      REDIS_WAIT_REPLICAS: '1',
      // Generous on purpose: CI shares 2 cores, and a replica that has just re-synced can
      // take a few hundred ms to acknowledge; the SIGSTOP cases below still time out.
      REDIS_COMMAND_TIMEOUT: '2s',
      REDIS_WAIT_TIMEOUT: '1s',
    },
  });
  req = client(app.url);
});
test.after.always(async () => {
  await app?.stop('SIGKILL');
  await sentinel?.stop();
});

const login = () => req('POST', '/auth/login', { json: { username: 'alice', password: PASSWORD } });
const me = (cookie: string) => req('GET', '/api/me', { cookie });
const logout = (cookie: string) => req('POST', '/auth/logout', { cookie });
const describe = (r: Reply) => `${r.status} ${String(r.body?.error ?? '')}`;

/** Freezes a data server (SIGSTOP) while `fn` runs: it can neither replicate nor acknowledge. */
async function whileStopped<T>(server: RedisProcess, fn: () => Promise<T>): Promise<T> {
  const info = await server.client().info('server');
  const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
  process.kill(pid, 'SIGSTOP');
  try {
    return await fn();
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

test('REDIS_WAIT_TIMEOUT must be shorter than the command timeout', (t) => {
  const err = t.throws(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:1', REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT: '500ms' }));
  t.regex(err.message, /^REDIS_WAIT_TIMEOUT: /);
  t.throws(() => loadConfig({ REDIS_WAIT_TIMEOUT: '0' }), { message: /^REDIS_WAIT_TIMEOUT: / });
  t.is(loadConfig({ REDIS_WAIT_REPLICAS: '1' }).redisWaitTimeoutMs, 100);
});

test.serial('a login or logout the replica has not confirmed is a 503, never an acknowledgement a failover could undo', async (t) => {
  const first = await login();
  t.is(first.status, 200, first.text);
  const cookie = first.cookie()!;

  const replica = sentinel.servers[1]!;
  const [unconfirmedLogin, unconfirmedLogout] = await whileStopped(replica, async () => [await login(), await logout(cookie)]);
  t.is(describe(unconfirmedLogin), '503 store_unavailable');
  t.is(unconfirmedLogin.cookie(), undefined, 'no cookie for an unconfirmed session');
  t.is(describe(unconfirmedLogout), '503 store_unavailable', 'logout: the revocation was not confirmed');

  // The replica is back: the retried logout is confirmed, and the session stays dead.
  t.is((await logout(cookie)).status, 204);
  t.is(describe(await me(cookie)), '401 login_required');
  // The unconfirmed login left no session behind in the device list.
  const again = (await login()).cookie()!;
  const list = await req('GET', '/auth/sessions', { cookie: again });
  t.is((list.body!.sessions as unknown[]).length, 1);
  t.is((await logout(again)).status, 204);
});

test.serial('after SENTINEL FAILOVER the same cookie works again, and no acknowledged login or logout is lost', async (t) => {
  const cookies: string[] = [];
  for (let i = 0; i < 12; i++) {
    const r = await login();
    t.is(r.status, 200, r.text);
    cookies.push(r.cookie()!);
  }
  const [live, revoked] = [cookies.slice(0, 6), cookies.slice(6)];
  for (const c of revoked) t.is((await logout(c)).status, 204);

  // A client keeps using one session across the failover.
  const seen: { at: number; outcome: string }[] = [];
  let polling = true;
  const t0 = performance.now();
  const poll = (async () => {
    while (polling) {
      const outcome = await me(live[0]!).then(describe, (err: unknown) => `error ${String(err)}`);
      seen.push({ at: performance.now() - t0, outcome });
      await sleep(20);
    }
  })();
  const { master, ms: switchMs } = await sentinel.failover();
  t.is(master.port, sentinel.servers[1]!.port, 'the replica was promoted');
  const switchedAt = performance.now() - t0;
  while (!seen.some((s) => s.at > switchedAt && s.outcome === '200 ')) {
    if (performance.now() - t0 > 20_000) break;
    await sleep(20);
  }
  polling = false;
  await poll;

  const backAt = seen.find((s) => s.at > switchedAt && s.outcome === '200 ')?.at;
  t.truthy(backAt, 'the same cookie works again after the switch');
  const failures = seen.filter((s) => s.outcome !== '200 ');
  t.deepEqual([...new Set(failures.map((f) => f.outcome))].filter((o) => o !== '503 store_unavailable'), [],
    'during the failover a request is served or gets 503, never 401');
  t.deepEqual(failures.filter((f) => f.at > switchedAt + 1000), [], 'no error (READONLY included) a second after the switch');

  // Nothing acknowledged before the failover was lost: on the new master every live
  // session works and every revoked one stays revoked.
  for (const c of live) t.is(describe(await me(c)), '200 ');
  for (const c of revoked) t.is(describe(await me(c)), '401 login_required');

  // Confirmed writes need a replica again: the old master rejoins as one.
  const w0 = performance.now();
  let fresh: Reply | undefined;
  while (performance.now() - w0 < 40_000) {
    fresh = await login();
    if (fresh.status === 200) break;
    t.is(describe(fresh), '503 store_unavailable');
    await sleep(200);
  }
  const writesBackMs = Math.round(performance.now() - t0 - switchedAt);
  t.is(fresh?.status, 200, 'logins are confirmed again once a replica follows the new master');
  t.is(describe(await me(fresh!.cookie()!)), '200 ');
  // A 503 logout means "not confirmed yet"; retrying is the documented client protocol.
  let out = await logout(fresh!.cookie()!);
  for (let i = 0; i < 20 && out.status === 503; i++) {
    await sleep(200);
    out = await logout(fresh!.cookie()!);
  }
  t.is(out.status, 204);
  t.is(describe(await me(fresh!.cookie()!)), '401 login_required');
  await sentinel.waitForReplica();

  t.log(
    `SENTINEL FAILOVER → all Sentinels name the new master: ${switchMs} ms; ` +
      `same cookie served again ${Math.round(backAt! - switchedAt)} ms after the switch ` +
      `(${Math.round(backAt!)} ms after the command); ${failures.length} of ${seen.length} polls got 503` +
      (failures.length ? ` (from ${Math.round(failures[0]!.at)} to ${Math.round(failures.at(-1)!.at)} ms); ` : '; ') +
      `confirmed logins back ${writesBackMs} ms after the switch`,
  );
});

test.serial('the admin CLI works through Sentinel too, its revocations confirmed by the replica', async (t) => {
  const env = { REDIS_SENTINELS: sentinel.sentinelsEnv, REDIS_SENTINEL_NAME: sentinel.name, REDIS_WAIT_REPLICAS: '1', REDIS_COMMAND_TIMEOUT: '2s', REDIS_WAIT_TIMEOUT: '1s' };
  const r = await login();
  t.is(r.status, 200, r.text);
  const cookie = r.cookie()!;
  const handle = (r.body!.session as { handle: string }).handle;
  const listed = await admin(['sessions', 'list', '--user', 'alice', '--json'], env);
  t.is(listed.code, 0, listed.stderr);
  t.true((JSON.parse(listed.stdout) as { handle: string }[]).some((s) => s.handle === handle));
  t.false(listed.stdout.includes(cookie.split('.')[1]!), 'no secret in the output');

  const killed = await admin(['sessions', 'kill', '--user', 'alice'], env);
  t.is(killed.code, 0, killed.stderr);
  t.is(describe(await me(cookie)), '401 login_required');
  const after = await admin(['sessions', 'list', '--user', 'alice', '--json'], env);
  t.deepEqual(JSON.parse(after.stdout), []);
});
