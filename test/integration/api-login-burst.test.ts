/**
 * Guesses sent all at once must not slip past the limits: each attempt is counted before
 * its password is checked (and uncounted when it was right), so of 60 simultaneous wrong
 * passwords from one address exactly LOGIN_MAX_FAILURES_PER_USER_IP are checked. Right
 * passwords cost nothing: an office behind one address signs in as often as it likes,
 * and a user changes the password as often as they like.
 */
import test from 'ava';
import { type Request, client } from '../helpers/http.js';
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

const login = (req: Request, ip: string, password: string, username = 'victim') =>
  req('POST', '/auth/login', { json: { username, password }, headers: { 'x-forwarded-for': ip } });

const tally = (statuses: number[]) => {
  const c: Record<number, number> = {};
  for (const s of statuses) c[s] = (c[s] ?? 0) + 1;
  return c;
};

for (const kind of ['memory', 'redis']) {
  test(`${kind}: 60 simultaneous wrong passwords from one address: 10 are checked, 50 refused`, async (t) => {
    const srv = await startServer({ redis: kind === 'redis' ? redis : undefined, env: { TRUST_PROXY: '1' } });
    t.teardown(() => srv.close());
    await srv.addUser('victim', PASSWORD);
    const req = client(srv.url);
    const replies = await Promise.all(Array.from({ length: 60 }, () => login(req, '203.0.113.1', 'a wrong password, guess')));
    t.deepEqual(tally(replies.map((r) => r.status)), { 401: 10, 429: 50 });
    t.is((await login(req, '203.0.113.1', PASSWORD)).status, 429);
    t.is((await login(req, '198.51.100.1', PASSWORD)).status, 200);
  });

  test(`${kind}: successful sign-ins do not use up an address's allowance`, async (t) => {
    const srv = await startServer({
      redis: kind === 'redis' ? redis : undefined,
      env: { TRUST_PROXY: '1', LOGIN_MAX_FAILURES_PER_IP: '5', LOGIN_MAX_FAILURES_PER_USER_IP: '3' },
    });
    t.teardown(() => srv.close());
    for (const name of ['ann', 'ben', 'cy']) await srv.addUser(name, PASSWORD);
    const req = client(srv.url);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) for (const name of ['ann', 'ben', 'cy']) statuses.push((await login(req, '192.0.2.80', PASSWORD, name)).status);
    t.deepEqual(tally(statuses), { 200: 12 });
    // Four failures and the address still signs in; the fifth is its limit.
    for (let i = 0; i < 4; i++) t.is((await login(req, '192.0.2.80', 'a wrong password', ['ann', 'ben'][i % 2])).status, 401);
    t.is((await login(req, '192.0.2.80', PASSWORD, 'cy')).status, 200);
    t.is((await login(req, '192.0.2.80', 'a wrong password', 'cy')).status, 401);
    t.is((await login(req, '192.0.2.80', PASSWORD, 'cy')).status, 429);
  });
}

for (const kind of ['memory', 'redis']) {
  test(`${kind}: password changes with the right current password do not use up the allowance`, async (t) => {
    const srv = await startServer({
      redis: kind === 'redis' ? redis : undefined,
      env: { TRUST_PROXY: '1', LOGIN_MAX_FAILURES_PER_USER_IP: '3', LOGIN_MAX_FAILURES_PER_ACCOUNT: '3' },
    });
    t.teardown(() => srv.close());
    await srv.addUser('victim', PASSWORD);
    const req = client(srv.url);
    const first = await login(req, '192.0.2.90', PASSWORD);
    let cookie = first.cookie()!;
    const passwords = [PASSWORD, 'the second passphrase, long enough', 'the third passphrase, long enough'];
    for (let i = 0; i < 6; i++) {
      const [current, next] = [passwords[i % 3]!, passwords[(i + 1) % 3]!];
      const r = await req('POST', '/auth/password', {
        cookie,
        headers: { 'x-forwarded-for': '192.0.2.90' },
        json: { currentPassword: current, newPassword: next },
      });
      t.is(r.status, 204, `change ${i + 1}: ${r.text}`);
      cookie = r.cookie()!;
    }
    // A wrong one still counts: three and the address is refused for this account.
    for (let i = 0; i < 3; i++) {
      const r = await req('POST', '/auth/password', {
        cookie,
        headers: { 'x-forwarded-for': '192.0.2.90' },
        json: { currentPassword: 'a wrong password', newPassword: 'whatever, long enough here' },
      });
      t.is(r.status, 401);
    }
    const r = await req('POST', '/auth/password', {
      cookie,
      headers: { 'x-forwarded-for': '192.0.2.90' },
      json: { currentPassword: PASSWORD, newPassword: 'whatever, long enough here' },
    });
    t.is(r.status, 429);
  });
}
