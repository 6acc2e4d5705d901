/**
 * What a store call may wait out (REDIS_RETRY_BUDGET): any call, when Redis answered
 * that it applied nothing or ioredis never sent the command; a call that does the same
 * when sent twice, also when it may have been applied (a timeout, a connection closed
 * under it). And how long: one budget per call, and once a client's calls have failed
 * for longer than the budget, one try each until one succeeds (an outage answers fast).
 * The tests in test/scale/maintenance-*.test.ts show the waiting end to end.
 */
import test from 'ava';
import { RetryBudget, retryable, unappliedRetried, withinBudget } from '../../src/store/retry.js';

test('not-applied answers and commands ioredis never sent are retried for any call', (t) => {
  for (const m of [
    'TRYAGAIN a key of this user is moving between Cluster nodes', 'CLUSTERDOWN The cluster is down', 'MOVED 3448 127.0.0.1:7001',
    'ASK 3448 127.0.0.1:7002', 'LOADING Redis is loading the dataset in memory', 'MASTERDOWN Link with MASTER is down',
    "READONLY You can't write against a read only replica.",
    'Too many Cluster redirections. Last error: ReplyError: TRYAGAIN a key of this user is moving',
    'Too many Cluster redirections. Last error: ReplyError: MOVED 3448 127.0.0.1:36201',
    "Stream isn't writeable and enableOfflineQueue options is false",
    "Cluster isn't ready and enableOfflineQueue options is false",
  ]) {
    t.true(retryable(new Error(m), false), m);
  }
});

test('what may have been applied is retried for an idempotent call only', (t) => {
  for (const m of [
    'Command timed out', 'Connection is closed.',
    'Reached the max retries per request limit (which is 0). Refer to "maxRetriesPerRequest" option for details.',
    'Too many Cluster redirections. Last error: Error: Command timed out',
    'Too many Cluster redirections. Last error: Error: Connection is closed.',
  ]) {
    t.true(retryable(new Error(m), true), m);
    t.false(retryable(new Error(m), false), `a rotation that may have been applied is not sent twice: ${m}`);
  }
});

test('an answer from Redis that is not about maintenance is never retried', (t) => {
  for (const m of ['OOM command not allowed when used memory > maxmemory', 'ERR Error running script', 'NOAUTH Authentication required.', 'Cluster is ended.']) {
    t.false(retryable(new Error(m), true), m);
  }
  t.false(retryable('TRYAGAIN', true), 'only errors');
});

test('a call tries again while it fails retryably, and gives up once its budget is spent', async (t) => {
  let calls = 0;
  t.is(await withinBudget(1000, false, async () => (++calls < 3 ? Promise.reject(new Error('TRYAGAIN moving')) : 'done')), 'done');
  t.is(calls, 3);
  calls = 0;
  await t.throwsAsync(withinBudget(100, false, async () => { calls++; throw new Error('TRYAGAIN moving'); }), { message: /TRYAGAIN/ });
  t.true(calls >= 2, 'it tried more than once');
  calls = 0;
  await t.throwsAsync(withinBudget(1000, false, async () => { calls++; throw new Error('Command timed out'); }));
  t.is(calls, 1, 'a call that is not idempotent is not sent again after a timeout');
  calls = 0;
  await t.throwsAsync(withinBudget(0, true, async () => { calls++; throw new Error('TRYAGAIN moving'); }));
  t.is(calls, 1, 'budget 0: one try');
});

test('once a client has failed for longer than its budget, each call gets one try until one succeeds', async (t) => {
  const budget = new RetryBudget(150);
  let up = false;
  let calls = 0;
  const op = async () => {
    calls++;
    if (!up) throw new Error("Stream isn't writeable and enableOfflineQueue options is false");
    return 'ok';
  };
  const t0 = performance.now();
  await t.throwsAsync(budget.run(true, op));
  t.true(performance.now() - t0 >= 140, 'the first call waited its budget');
  t.true(calls > 1);
  calls = 0;
  const t1 = performance.now();
  await t.throwsAsync(budget.run(true, op));
  t.is(calls, 1, 'Redis is down, not moving: one try');
  t.true(performance.now() - t1 < 100, 'and a fast failure');
  up = true;
  t.is(await budget.run(true, op), 'ok');
  up = false;
  calls = 0;
  await t.throwsAsync(budget.run(true, op));
  t.true(calls > 1, 'after a success the next failure is waited out again');
});

test('a call that starts while the client is already failing waits only what is left of the client’s budget', async (t) => {
  const budget = new RetryBudget(300);
  const down = async () => { throw new Error('CLUSTERDOWN The cluster is down'); };
  const first = budget.run(true, down).catch(() => {});
  await new Promise((r) => setTimeout(r, 200));
  const t0 = performance.now();
  await budget.run(true, down).catch(() => {});
  const waited = performance.now() - t0;
  await first;
  t.true(waited < 250, `it gave up with the client's budget, not a full one of its own (${Math.round(waited)} ms)`);
});

test('a counter client is sent again only when the command provably did not run', async (t) => {
  let sends = 0;
  const failures = ["Stream isn't writeable and enableOfflineQueue options is false", 'Command timed out'];
  const counter = unappliedRetried({
    async incr() {
      sends++;
      const failure = failures.shift();
      if (failure) throw new Error(failure);
      return sends;
    },
  }, new RetryBudget(1000));
  await t.throwsAsync(counter.incr(), { message: 'Command timed out' }, 'the timed-out INCR may have counted: not sent twice');
  t.is(sends, 2, 'the unsent one was sent again');
  t.is(await counter.incr(), 3);
});
