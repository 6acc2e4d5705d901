/**
 * At the HTTP level: redis-server SIGKILLed under a bounded client loop, then
 * restarted on the same port and directory. AOF with `appendfsync always`, so what
 * Redis acknowledged before the kill is on disk (users, sessions, revocations).
 */
import test from 'ava';
import { client } from '../helpers/http.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { type TestServer, startServer } from '../helpers/server.js';
import { eventually } from '../helpers/eventually.js';
import { PASSWORD, login as loginToken } from '../helpers/login.js';
import { loadLoop, sleep, summary } from './helpers.js';

/** A liveness bound, not a speed claim: the command timeout is 500 ms. */
const NO_HANG_MS = 5000;

let redis: RedisProcess;
let srv: TestServer;

test.before(async () => {
  redis = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  srv = await startServer({ redis, env: { REDIS_COMMAND_TIMEOUT: '500ms' } });
  await srv.addUser('kim', PASSWORD);
});
test.after.always(async () => {
  await srv?.close();
  await redis?.stop();
});

test.serial('Redis SIGKILLed under load: every request answers 200 or 503 store_unavailable, none hangs, and service resumes by itself', async (t) => {
  const req = client(srv.url);
  const sessions = await Promise.all([0, 1, 2].map(() => loginToken(req, 'kim')));
  let phase: 'before' | 'down' | 'after' = 'before';
  let stop = false;
  let okAfter = 0;
  const healthz: number[] = [];

  const load = loadLoop(srv.url, 6, () => stop, async (r, w, i) => {
    // Mostly authenticated reads, now and then a login (argon2 + create) and a listing.
    if (w === 0 && i % 10 === 0) return { what: 'login', reply: await r('POST', '/auth/login', { json: { username: 'kim', password: PASSWORD } }) };
    if (w === 1 && i % 5 === 0) return { what: 'sessions', reply: await r('GET', '/auth/sessions', { cookie: sessions[0]!.token }) };
    const reply = await r('GET', '/api/me', { cookie: sessions[i % 3]!.token });
    if (phase === 'after' && reply.status === 200) okAfter++;
    return { what: 'me', reply };
  });

  await sleep(300);
  phase = 'down';
  await redis.kill('SIGKILL');
  // Down for longer than REDIS_RETRY_BUDGET (2 s): a shorter outage is waited out, and
  // answers nothing but 200 (slower).
  for (let i = 0; i < 10; i++) {
    healthz.push((await req('GET', '/healthz')).status);
    await sleep(250);
  }
  const readyDuring = await req('GET', '/readyz');
  await redis.restart();
  phase = 'after';
  const recovered = await eventually(() => okAfter >= 30, { timeoutMs: 15_000, everyMs: 100, what: '30 answers after the restart' }).catch(() => false);
  stop = true;
  const answers = await load;
  t.log(summary(answers));

  t.true(recovered, 'the server serves again with no restart of its own');
  t.deepEqual(healthz, Array(10).fill(200), 'the process stays up and /healthz answers');
  t.is(readyDuring.status, 503);
  const bad = answers.filter((a) => !(a.status === 200 || (a.status === 503 && a.code === 'store_unavailable')));
  t.deepEqual(bad, [], 'only 200 or 503 store_unavailable');
  t.true(answers.some((a) => a.status === 503), 'the outage was seen');
  const slowest = Math.max(...answers.map((a) => a.ms));
  t.true(slowest < NO_HANG_MS, `no request hangs (slowest ${Math.round(slowest)} ms)`);
});

test.serial('with AOF (appendfsync always) sessions and acknowledged revocations survive SIGKILL and restart', async (t) => {
  const req = client(srv.url);
  await eventually(async () => (await req('GET', '/readyz')).status === 200, { what: '/readyz 200' });
  const live = await Promise.all([0, 1, 2].map(() => loginToken(req, 'kim')));
  const revoked = await Promise.all([0, 1].map(() => loginToken(req, 'kim')));
  for (const s of revoked) t.is((await req('POST', '/auth/logout', { cookie: s.token })).status, 204);

  await redis.kill('SIGKILL');
  t.is((await req('GET', '/api/me', { cookie: live[0]!.token })).status, 503);
  await redis.restart();
  t.true(await eventually(async () => (await req('GET', '/readyz')).status === 200, { what: '/readyz 200 after the restart' }));

  for (const s of live) t.is((await req('GET', '/api/me', { cookie: s.token })).status, 200, 'a live session survives');
  for (const s of revoked) {
    const r = await req('GET', '/api/me', { cookie: s.token });
    t.is(r.status, 401, 'a revocation acknowledged before the crash is not undone');
    t.is(r.body?.error, 'login_required');
  }
  // The script cache is gone after the restart (NOSCRIPT): writes still work.
  const fresh = await loginToken(req, 'kim');
  t.is((await req('POST', '/auth/refresh', { cookie: fresh.token })).status, 200);
});
