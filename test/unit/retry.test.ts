/**
 * What a store call may wait out (REDIS_RETRY_BUDGET): only answers that say Redis
 * applied nothing. A timeout or a lost connection may have been applied (or is an
 * outage): it answers at once. The slot-migration test (test/scale/cluster-migration)
 * shows the waiting end to end on a real Cluster.
 */
import test from 'ava';
import { retryable, withinBudget } from '../../src/store/retry.js';

test('not-applied answers are retried, directly or as the last error of ioredis redirections', (t) => {
  for (const m of [
    'TRYAGAIN a key of this user is moving between Cluster nodes', 'CLUSTERDOWN The cluster is down', 'MOVED 3448 127.0.0.1:7001',
    'ASK 3448 127.0.0.1:7002', 'LOADING Redis is loading the dataset in memory', 'MASTERDOWN Link with MASTER is down',
    "READONLY You can't write against a read only replica.",
    'Too many Cluster redirections. Last error: ReplyError: TRYAGAIN a key of this user is moving',
    'Too many Cluster redirections. Last error: ReplyError: MOVED 3448 127.0.0.1:36201',
  ]) {
    t.true(retryable(new Error(m), false), m);
  }
});

test('what may have been applied, or is an outage, or a bug, is not retried', (t) => {
  for (const m of [
    'Command timed out', 'Connection is closed.', "Stream isn't writeable and enableOfflineQueue options is false",
    'OOM command not allowed when used memory > maxmemory',
    'ERR Error running script', 'NOAUTH Authentication required.',
  ]) {
    t.false(retryable(new Error(m), true), m);
  }
  t.false(retryable('TRYAGAIN', true), 'only errors');
});

test('a timeout met while following a migration\'s redirections is retried, for an idempotent call only', (t) => {
  const moving = new Error('Too many Cluster redirections. Last error: Error: Command timed out');
  t.true(retryable(moving, true));
  t.false(retryable(moving, false), 'a login or a rotation may have been applied');
  t.false(retryable(new Error('Command timed out'), true), 'a plain timeout is a stalled Redis: 503 at once');
});

test('withinBudget tries again after a not-applied answer and gives up once the budget is spent', async (t) => {
  let calls = 0;
  t.is(await withinBudget(1000, false, async () => (++calls < 3 ? Promise.reject(new Error('TRYAGAIN moving')) : 'done')), 'done');
  t.is(calls, 3);
  calls = 0;
  await t.throwsAsync(withinBudget(100, false, async () => { calls++; throw new Error('TRYAGAIN moving'); }), { message: /TRYAGAIN/ });
  t.true(calls >= 2, 'it tried more than once');
  calls = 0;
  await t.throwsAsync(withinBudget(1000, true, async () => { calls++; throw new Error('Command timed out'); }));
  t.is(calls, 1, 'a timeout is not sent again');
  calls = 0;
  await t.throwsAsync(withinBudget(0, true, async () => { calls++; throw new Error('TRYAGAIN moving'); }));
  t.is(calls, 1, 'budget 0: one try');
});
