/**
 * Stalls: Redis paused (`CLIENT PAUSE 3000 ALL`) or asleep (`DEBUG SLEEP 3`) while
 * a bounded client loop keeps asking. A stall longer than REDIS_RETRY_BUDGET (2 s) is
 * an outage: requests wait at most the budget, then get 503 at the command timeout
 * instead of piling up behind the stall; memory must stay bounded; and what Redis runs
 * late after the stall must not turn an unconfirmed logout into a confirmed one.
 */
import test from 'ava';
import { client } from '../helpers/http.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { type TestServer, startServer } from '../helpers/server.js';
import { eventually } from '../helpers/eventually.js';
import { PASSWORD, login as loginToken } from '../helpers/login.js';
import { type Answer, loadLoop, sleep, summary } from './helpers.js';

const NO_HANG_MS = 5000;
/** Generous: a pile-up of 3 s of requests with their buffers would blow well past it. */
const HEAP_BUDGET = 64 * 1024 * 1024;

let redis: RedisProcess;
let srv: TestServer;

test.before(async () => {
  redis = await startRedis();
  srv = await startServer({ redis, env: { REDIS_COMMAND_TIMEOUT: '500ms', SESSION_TOUCH_INTERVAL: '0' } });
  await srv.addUser('pat', PASSWORD);
});
test.after.always(async () => {
  await srv?.close();
  await redis?.stop();
});

async function underStall(stall: () => Promise<unknown>): Promise<{ answers: Answer[]; heapGrowth: number; healthz: number[] }> {
  const req = client(srv.url);
  const sessions = await Promise.all([0, 1, 2].map(() => loginToken(req, 'pat')));
  const heap0 = process.memoryUsage().heapUsed;
  let heapMax = heap0;
  let stop = false;
  let stalled = false;
  let okAfter = 0;
  const sampler = setInterval(() => { heapMax = Math.max(heapMax, process.memoryUsage().heapUsed); }, 50);
  const load = loadLoop(srv.url, 10, () => stop, async (r, _w, i) => {
    const reply = await r('GET', '/api/me', { cookie: sessions[i % 3]!.token });
    if (!stalled && reply.status === 200) okAfter++;
    return { what: 'me', reply };
  });
  await sleep(200);
  stalled = true;
  const done = stall();
  const healthz: number[] = [];
  for (let i = 0; i < 4; i++) {
    await sleep(400);
    const t0 = performance.now();
    const h = await req('GET', '/healthz');
    healthz.push(performance.now() - t0 < NO_HANG_MS ? h.status : -1);
  }
  await done;
  stalled = false;
  okAfter = 0;
  await eventually(() => okAfter >= 20, { everyMs: 100, what: '20 answers after the pause' }).catch(() => false);
  stop = true;
  const answers = await load;
  clearInterval(sampler);
  return { answers, heapGrowth: heapMax - heap0, healthz };
}

function judge(t: import('ava').ExecutionContext, r: Awaited<ReturnType<typeof underStall>>) {
  t.log(summary(r.answers), `heap growth ${(r.heapGrowth / 1048576).toFixed(1)} MiB`);
  t.deepEqual(r.answers.filter((a) => !(a.status === 200 || (a.status === 503 && a.code === 'store_unavailable'))), []);
  // Ten clients over a 3 s stall at a 500 ms timeout: dozens of 503s, not ten hung requests.
  t.true(r.answers.filter((a) => a.status === 503).length >= 30, 'requests fail fast instead of queueing behind the stall');
  t.true(Math.max(...r.answers.map((a) => a.ms)) < NO_HANG_MS, 'no request hangs');
  t.true(r.answers.slice(-20).every((a) => a.status === 200), 'served again once the stall ends');
  t.deepEqual(r.healthz, [200, 200, 200, 200], '/healthz (no Redis) stays responsive');
  t.true(r.heapGrowth < HEAP_BUDGET, 'memory stays bounded');
}

test.serial('CLIENT PAUSE 3000 ALL: 503 within the retry budget, then at the command timeout, no pile-up, bounded memory, recovery', async (t) => {
  const admin = redis.client();
  judge(t, await underStall(async () => {
    await admin.call('CLIENT', 'PAUSE', '3000', 'ALL');
    await sleep(3100);
  }));
});

test.serial('DEBUG SLEEP 3: 503 within the retry budget, then at the command timeout, no pile-up, bounded memory, recovery', async (t) => {
  const admin = redis.client();
  judge(t, await underStall(() => admin.call('DEBUG', 'SLEEP', '3')));
});

test.serial('a logout sent during a pause is never acknowledged falsely, and what runs late does not undo the retried logout', async (t) => {
  // REDIS_RETRY_BUDGET=0: every request gives up at the command timeout, so the pause
  // (2 s, under the 2.5 s socket timeout) holds the commands it gave up on and runs them
  // late. (With the budget, a pause this short is waited out: store-redis-outage.test.ts.)
  const srv = await startServer({ redis, env: { REDIS_COMMAND_TIMEOUT: '500ms', SESSION_TOUCH_INTERVAL: '0', REDIS_RETRY_BUDGET: '0' } });
  t.teardown(() => srv.close());
  await srv.addUser('quinn', PASSWORD);
  const req = client(srv.url);
  const s = await loginToken(req, 'quinn');
  const admin = redis.client();
  await admin.call('CLIENT', 'PAUSE', '2000', 'ALL');
  // Touches and a logout, all stuck behind the pause and given up on by the app.
  const during = await Promise.all([
    req('GET', '/api/me', { cookie: s.token }),
    req('POST', '/auth/refresh', { cookie: s.token }),
    req('POST', '/auth/logout', { cookie: s.token }),
  ]);
  for (const r of during) {
    t.is(r.status, 503, 'not confirmed while Redis is paused');
    t.is(r.body?.error, 'store_unavailable');
    t.false(r.setCookies.some((c) => c.startsWith(`sid=${s.token}`)), 'no cookie re-set');
  }
  await sleep(2100);
  // The stale commands have now run late. The client retries its logout, as a 503 asks.
  t.true(await eventually(async () => (await req('POST', '/auth/logout', { cookie: s.token })).status === 204, { what: 'a confirmed logout' }));
  const after = await req('GET', '/api/me', { cookie: s.token });
  t.is(after.status, 401);
  t.is(after.body?.error, 'login_required');
  t.is((await req('POST', '/auth/refresh', { cookie: s.token })).status, 403);
});
