/**
 * `SENTINEL FAILOVER` under steady load (docs/design.md, invariant 12: maintenance costs
 * latency, not errors). Several clients validate, refresh, log in, log out, log out
 * everywhere, revoke devices and list them through one RedisStore while the Sentinels
 * move the master; the admin CLI lists and kills a user's sessions meanwhile, and a
 * client that connects mid-failover (to the old master) logs in and out. What must
 * hold: no request fails (the connection the failover closes and the reconnect to the
 * new master are waited out within REDIS_RETRY_BUDGET, default 2 s), and afterwards
 * every session is as the answers said: live ones valid, listed and revocable, revoked
 * ones refused. Latency during the event is reported (t.log), not asserted.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { newTag } from '../../src/sessions/token.js';
import { connectRedis } from '../../src/store/connection.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { RedisUserStore } from '../../src/users/redis-user-store.js';
import { PasswordHasher } from '../../src/users/password.js';
import { type SentinelSetup, startRedisSentinel } from '../helpers/redis-sentinel.js';
import { SessionLoad, Tally } from '../helpers/session-load.js';
import { admin } from '../helpers/run-admin.js';
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { type Reply, client as httpClient } from '../helpers/http.js';

const PASSWORD = 'correct horse battery staple';
let sentinel: SentinelSetup;
let app: AppProcess;
test.before(async () => {
  sentinel = await startRedisSentinel();
  const users = new RedisUserStore(sentinel.client());
  const hasher = new PasswordHasher({ concurrency: 1, queueLimit: 1 });
  await users.create('alice', await hasher.hash(PASSWORD));
  await users.create('bob', await hasher.hash(PASSWORD));
  await users.create('mallory', await hasher.hash(PASSWORD));
  app = await startApp({ env: { REDIS_SENTINELS: sentinel.sentinelsEnv, REDIS_SENTINEL_NAME: sentinel.name } });
});
test.after.always(async () => {
  await app?.stop('SIGKILL');
  await sentinel?.stop();
});

/**
 * The same through the real server: bob reads /api/me and his device list on one
 * session and refreshes another; mallory signs in again and again, each time followed
 * by a logout or a logout-all.
 * Any answer other than the one a healthy server gives counts as failed.
 */
class HttpLoad {
  counting = false;
  readonly tally = { me: new Tally(() => this.counting), sessions: new Tally(() => this.counting), refresh: new Tally(() => this.counting), login: new Tally(() => this.counting), logout: new Tally(() => this.counting), logoutAll: new Tally(() => this.counting) };
  /** Cookies whose logout was answered 204: they must stay refused. */
  readonly loggedOut: string[] = [];
  #running = false;
  readonly #workers: Promise<void>[] = [];
  readonly #req = httpClient(app.url);
  reader = '';
  refresher = '';

  async start(): Promise<void> {
    this.reader = (await this.#login('bob'))!;
    this.refresher = (await this.#login('bob'))!;
    this.#running = true;
    this.#loop(10, async () => void (await this.#send(this.tally.me, 200, 'GET', '/api/me', this.reader)));
    this.#loop(50, async () => void (await this.#send(this.tally.sessions, 200, 'GET', '/auth/sessions', this.reader)));
    this.#loop(100, async () => {
      const r = await this.#send(this.tally.refresh, 200, 'POST', '/auth/refresh', this.refresher);
      if (r?.status === 200) this.refresher = r.cookie()!;
    });
    let n = 0;
    this.#loop(100, async () => {
      const cookie = await this.#login('mallory', true);
      if (!cookie) return;
      const all = n++ % 3 === 2;
      const r = await this.#send(all ? this.tally.logoutAll : this.tally.logout, 204, 'POST', all ? '/auth/logout-all' : '/auth/logout', cookie);
      if (r?.status === 204) this.loggedOut.push(cookie);
    });
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#workers);
  }

  async #login(username: string, counted = false): Promise<string | undefined> {
    const tally = counted ? this.tally.login : new Tally(() => false);
    const r = await this.#send(tally, 200, 'POST', '/auth/login', undefined, { username, password: PASSWORD });
    return r?.status === 200 ? r.cookie() : undefined;
  }

  async #send(tally: Tally, expected: number, method: string, path: string, cookie?: string, json?: unknown): Promise<Reply | undefined> {
    const counted = tally.counting();
    const t0 = performance.now();
    const r = await this.#req(method, path, { ...(cookie ? { cookie } : {}), ...(json ? { json } : {}) });
    if (counted) tally.record(performance.now() - t0, r.status === expected ? undefined : `${r.status} ${String(r.body?.error ?? '')}`);
    return r;
  }

  #loop(everyMs: number, body: () => Promise<void>): void {
    this.#workers.push((async () => {
      while (this.#running) {
        await body();
        await sleep(everyMs);
      }
    })());
  }
}

test('SENTINEL FAILOVER under load: no request fails, every session is as acknowledged, and the CLI’s list and kill --user go through', async (t) => {
  const client = await connectRedis({ sentinels: [...sentinel.sentinels], sentinelName: sentinel.name });
  const store = new RedisStore({ client });
  t.teardown(() => store.close());

  // The operator's target: an account with sessions the CLI lists, then kills.
  const target = (await new RedisUserStore(client).find('alice'))!;
  const targeted = [];
  for (let i = 0; i < 4; i++) targeted.push((await store.create({ userId: target.id, tag: target.tag }))!);

  const load = new SessionLoad(store);
  const http = new HttpLoad();
  await Promise.all([load.start(), http.start()]);
  await sleep(300);
  load.counting = true;
  http.counting = true;
  const env = { REDIS_SENTINELS: sentinel.sentinelsEnv, REDIS_SENTINEL_NAME: sentinel.name };
  // Started just before the failover: a CLI process takes about as long to start as the
  // switch, so the listing starts as it begins and the kill lands in the middle of it.
  const cli = (async () => {
    const list = await admin(['sessions', 'list', '--user', 'alice', '--json'], env);
    load.mark('CLI list done');
    const kill = await admin(['sessions', 'kill', '--user', 'alice'], env);
    load.mark('CLI kill done');
    return { list, kill };
  })();
  await sleep(300);
  load.mark('SENTINEL FAILOVER sent');
  const switching = sentinel.failover();
  // A client that starts mid-failover (the Sentinels still name the old master) must not
  // write there: a login and a logout of its own, checked afterwards on the new master.
  await sleep(400);
  const lateTag = newTag();
  const late = (async () => {
    const store = new RedisStore({ client: await connectRedis({ sentinels: [...sentinel.sentinels], sentinelName: sentinel.name }) });
    try {
      const kept = (await store.create({ userId: 'late', tag: lateTag }))!;
      const ended = (await store.create({ userId: 'late', tag: lateTag }))!;
      const revoked = await store.revoke(ended.token);
      load.mark('the late client’s writes answered');
      return { kept, ended, revoked };
    } finally {
      await store.close();
    }
  })();
  const { ms } = await switching;
  load.mark('every Sentinel names the new master');
  // Counted until the clients have worked on the new master for a while.
  await sleep(1500);
  load.counting = false;
  http.counting = false;
  await Promise.all([load.stop(), http.stop()]);
  const { list, kill } = await cli;
  const { kept, ended, revoked } = await late;

  t.log(`SENTINEL FAILOVER: every Sentinel names the new master after ${ms} ms`);
  load.report(t, 'SENTINEL FAILOVER');
  for (const [kind, tally] of Object.entries(load.tally)) t.is(tally.failed, 0, `${kind} failed during the failover: ${tally}`);
  t.true(load.tally.validate.ok > 0 && load.tally.login.ok > 0);
  await load.check(t);

  // The late client's login lives and its logout holds, on the new master.
  t.true(revoked);
  t.like(await store.validate(kept.token), { state: 'active' }, 'the late client’s login lives');
  t.deepEqual((await store.list(lateTag)).map((x) => x.handle), [kept.session.handle]);
  t.like(await store.validate(ended.token), { state: 'login_required' }, 'the late client’s logout holds');

  for (const [kind, tally] of Object.entries(http.tally)) t.log(`SENTINEL FAILOVER · HTTP ${kind}: ${tally}`);
  for (const [kind, tally] of Object.entries(http.tally)) t.is(tally.failed, 0, `HTTP ${kind} failed during the failover: ${tally}`);
  const req = httpClient(app.url);
  t.is((await req('GET', '/api/me', { cookie: http.reader })).status, 200, 'the reader is still signed in');
  t.is((await req('GET', '/api/me', { cookie: http.refresher })).status, 200, 'the refresher’s newest cookie works');
  for (const c of http.loggedOut) t.is((await req('GET', '/api/me', { cookie: c })).status, 401, 'a logout answered 204 holds');

  t.log(`CLI during the failover: list --user exit ${list.code}, kill --user exit ${kill.code} ${(kill.stdout + kill.stderr).trim()}`);
  t.is(list.code, 0, list.stderr);
  t.deepEqual((JSON.parse(list.stdout) as { handle: string }[]).map((s) => s.handle).sort(), targeted.map((s) => s.session.handle).sort());
  t.is(kill.code, 0, kill.stderr);
  t.log(load.marks.join(', '));
  for (const s of targeted) t.like(await store.validate(s.token), { state: 'login_required' });
  t.deepEqual(await store.list(target.tag), []);
});
