import test from 'ava';
import { Redis } from 'ioredis';
import { followEvents, lastEventId, lastEvents, RedisAuditLog, readEvents } from '../../src/store/redis-audit.js';
import { keySpace } from '../../src/store/keys.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';

let redis: RedisProcess;
test.before(async () => { redis = await startRedis(); });
test.after.always(async () => { await redis?.stop(); });

const fresh = (name: string) => keySpace(`audit-${name}:`);

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

test('appended events read back in order, timed by the Redis clock, with no empty fields', async (t) => {
  const client = redis.client();
  const keys = fresh('order');
  const log = new RedisAuditLog(client, { keys });
  const [sec] = await client.time();
  await log.append({ type: 'user.created', username: 'alice', by: 'admin-cli' });
  await log.append({ type: 'session.revoked', username: 'alice', handle: 'abcdefghijkl-0123456789', reason: 'kill', by: 'admin-cli', count: 1 });
  const events = await collect(readEvents(client, keys.events()));
  t.deepEqual(events.map((e) => e.type), ['user.created', 'session.revoked']);
  t.is(events[1]!.count, 1);
  t.is(events[1]!.handle, 'abcdefghijkl-0123456789');
  t.true(Math.abs(events[0]!.at - Number(sec) * 1000) < 5000);
  const raw = await client.xrange(keys.events(), '-', '+');
  t.deepEqual(raw[0]![1], ['type', 'user.created', 'username', 'alice', 'by', 'admin-cli']);
});

test('the stream is capped near maxLen (XADD MAXLEN ~)', async (t) => {
  const client = redis.client();
  const keys = fresh('cap');
  const log = new RedisAuditLog(client, { keys, maxLen: 100 });
  for (let i = 0; i < 1000; i++) await log.append({ type: 'login.failed', username: `u${i}` });
  const len = await client.xlen(keys.events());
  t.true(len >= 100 && len < 300, `length ${len}`);
});

test('reading pages through the whole stream, and the last N matching events come oldest first', async (t) => {
  const client = redis.client();
  const keys = fresh('pages');
  const log = new RedisAuditLog(client, { keys });
  for (let i = 0; i < 25; i++) await log.append({ type: 'login.ok', username: i % 2 ? 'odd' : 'even', count: i });
  const everything = await collect(readEvents(client, keys.events(), undefined, 4));
  t.deepEqual(everything.map((e) => e.count), [...Array(25).keys()]);
  const odd = await lastEvents(client, keys.events(), 3, (e) => e.username === 'odd', '+', 4);
  t.deepEqual(odd.map((e) => e.count), [19, 21, 23]);
});

test('an append that fails is reported to onError and never thrown', async (t) => {
  const dead = new Redis({ port: 1, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  dead.on('error', () => {});
  const errors: unknown[] = [];
  const log = new RedisAuditLog(dead, { keys: fresh('dead'), onError: (err) => errors.push(err) });
  await t.notThrowsAsync(log.append({ type: 'login.ok', username: 'x' }));
  t.is(errors.length, 1);
  dead.disconnect();
});

test('follow yields events appended after it started, and stops when aborted', async (t) => {
  const client = redis.client();
  const blocking = redis.client();
  const keys = fresh('follow');
  const log = new RedisAuditLog(client, { keys });
  await log.append({ type: 'login.ok', username: 'before' });
  const from = await lastEventId(client, keys.events());
  const ac = new AbortController();
  const seen: string[] = [];
  const done = (async () => {
    for await (const ev of followEvents(blocking, keys.events(), from, ac.signal)) {
      seen.push(ev.username ?? '');
      if (seen.length === 2) ac.abort();
    }
  })();
  await log.append({ type: 'login.ok', username: 'after-1' });
  await log.append({ type: 'login.ok', username: 'after-2' });
  await done;
  t.deepEqual(seen, ['after-1', 'after-2']);
});
