/**
 * Refused sign-in attempts are aggregated in the audit trail: the stream is capped, so
 * one event per refused attempt would let anyone flush real events (a replay, a
 * password change) out of it by hammering the login. One event for the first refusal of
 * an account from an address in a throttle window, then one at the 10th, 100th, 1000th…
 * each with the count so far.
 */
import test from 'ava';
import type { AuditEvent, AuditLog } from '../../src/audit/types.js';
import { client } from '../helpers/http.js';
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

for (const kind of ['memory', 'redis']) {
  test(`${kind}: 2,000 refused attempts from one address add a handful of audit events, each with its count`, async (t) => {
    const events: AuditEvent[] = [];
    const audit: AuditLog = { append: async (e) => void events.push(e) };
    const srv = await startServer({ redis: kind === 'redis' ? redis : undefined, audit, env: { TRUST_PROXY: '1' } });
    t.teardown(() => srv.close());
    await srv.addUser('victim', PASSWORD);
    const req = client(srv.url);
    const login = (ip: string, password: string, username = 'victim') =>
      req('POST', '/auth/login', { json: { username, password }, headers: { 'x-forwarded-for': ip } });

    for (let i = 0; i < 10; i++) t.is((await login('203.0.113.9', 'a wrong password')).status, 401);
    const before = events.length;
    const statuses = new Set<number>();
    for (let i = 0; i < 2000; i++) statuses.add((await login('203.0.113.9', 'a wrong password')).status);
    t.deepEqual([...statuses], [429]);
    const added = events.slice(before);
    t.true(added.length <= 5, `${added.length} events`);
    t.deepEqual(added.map((e) => e.type), added.map(() => 'login.throttled'));
    t.deepEqual(added.map((e) => e.count), [1, 10, 100, 1000]);
    t.true(added.every((e) => e.username === 'victim' && e.ip === '203.0.113.9'));
    t.is(srv.logs.events('login.throttled').length, added.length, 'the log is not flooded either');

    // Another address's refusals are recorded on their own, and real events still are.
    for (let i = 0; i < 10; i++) await login('203.0.113.10', 'a wrong password');
    await login('203.0.113.10', 'a wrong password');
    t.like(events.at(-1), { type: 'login.throttled', ip: '203.0.113.10', count: 1 });
    t.is((await login('198.51.100.1', PASSWORD)).status, 200);
    t.like([...events].reverse().find((e) => e.type === 'login.ok'), { username: 'victim', ip: '198.51.100.1' });
  });
}
