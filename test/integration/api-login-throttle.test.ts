/**
 * The account-wide login limit through the real app (JSON API and the sign-in page):
 * guesses for one account from many addresses, the owner's device cookie, IPv6 /64
 * grouping, and the end of a lock-out on the injected clock. Addresses come from
 * X-Forwarded-For with TRUST_PROXY=1, as behind one reverse proxy.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { ManualClock } from '../../src/clock.js';
import { type Reply, type Request, client } from '../helpers/http.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { type TestServer, startServer } from '../helpers/server.js';
import { PageClient, csrfOf } from '../helpers/pages-client.js';

const PASSWORD = 'correct horse battery staple';
let redis: RedisProcess;
test.before(async () => {
  redis = await startRedis();
});
test.after.always(async () => {
  await redis?.stop();
});

const login = (req: Request, ip: string, password: string, device?: string, username = 'victim') =>
  req('POST', '/auth/login', {
    json: { username, password },
    headers: { 'x-forwarded-for': ip, ...(device ? { cookie: `did=${device}` } : {}) },
  });

/** 101 wrong passwords for the victim, each from its own IPv4 address. */
async function spray(req: Request): Promise<Reply[]> {
  const replies: Reply[] = [];
  for (let i = 0; i < 101; i++) replies.push(await login(req, `10.1.${i >> 8}.${i & 0xff}`, 'wrong password, guess'));
  return replies;
}

const refused = (t: ExecutionContext, r: Reply, maxSeconds = 15 * 60) => {
  t.is(r.status, 429, r.text);
  t.is(r.body?.error, 'too_many_attempts');
  const after = Number(r.headers.get('retry-after'));
  t.true(after >= 1 && after <= maxSeconds, String(after));
};

async function server(t: ExecutionContext, kind: string, clock?: ManualClock): Promise<TestServer> {
  const srv = await startServer({ redis: kind === 'redis' ? redis : undefined, clock, env: { TRUST_PROXY: '1' } });
  t.teardown(() => srv.close());
  await srv.addUser('victim', PASSWORD);
  return srv;
}

for (const kind of ['memory', 'redis']) {
  test(`${kind}: 101 guesses from 101 addresses: 51 are tried, then the right password from a new address is 429; the owner's browser still gets in`, async (t) => {
    const srv = await server(t, kind);
    const req = client(srv.url);
    const first = await login(req, '192.0.2.10', PASSWORD);
    t.is(first.status, 200);
    const device = first.cookie('did');
    t.regex(device ?? '', /^[A-Za-z0-9_-]{32}$/);
    t.regex(first.setCookies.find((c) => c.startsWith('did='))!, /; HttpOnly/i);

    const replies = await spray(req);
    t.is(replies.filter((r) => r.status === 401).length, 51);
    t.is(replies.filter((r) => r.status === 429).length, 50);

    refused(t, await login(req, '198.51.100.7', PASSWORD));
    refused(t, await login(req, '198.51.100.7', PASSWORD, 'x'.repeat(32)));
    const throttled = srv.logs.events('login.throttled');
    t.true(throttled.length > 0 && throttled.every((e) => e.username === 'victim'));

    const owner = await login(req, '198.51.100.8', PASSWORD, device);
    t.is(owner.status, 200, owner.text);
    t.not(owner.cookie('did'), device);
    // The owner's success cleared the account counter.
    t.is((await login(req, '198.51.100.9', PASSWORD)).status, 200);
  });

  test(`${kind}: failures from 2001:db8::1 and 2001:db8::2 share one counter`, async (t) => {
    const srv = await server(t, kind);
    const req = client(srv.url);
    for (let i = 0; i < 5; i++) t.is((await login(req, '2001:db8::1', 'wrong password, guess')).status, 401);
    for (let i = 0; i < 5; i++) t.is((await login(req, '2001:db8::2', 'wrong password, guess')).status, 401);
    // LOGIN_MAX_FAILURES_PER_USER_IP = 10 for the whole /64.
    refused(t, await login(req, '2001:db8::3', PASSWORD), 15 * 60);
    t.is((await login(req, '2001:db8:0:1::1', PASSWORD)).status, 200);
  });
}

/** Signs in through the form from `ip`, keeping cookies like a browser. */
async function pageLogin(browser: PageClient, ip: string, password: string) {
  const xff = { 'x-forwarded-for': ip };
  const form = await browser.get('/login', xff);
  return browser.post('/login', { _csrf: csrfOf(form.body), username: 'victim', password }, xff);
}

test('memory: the lock-out ends on the clock; the sign-in page sets and honours the device cookie too', async (t) => {
  const clock = new ManualClock(Date.now());
  const srv = await server(t, 'memory', clock);
  const req = client(srv.url);
  const owner = new PageClient(srv.url);
  t.is((await pageLogin(owner, '192.0.2.30', PASSWORD)).status, 303);
  t.true(owner.cookies.has('did'));
  owner.cookies.delete('sid'); // signed out, the device cookie stays

  await spray(req);
  const r = await login(req, '198.51.100.20', PASSWORD);
  refused(t, r);
  const stranger = await pageLogin(new PageClient(srv.url), '198.51.100.21', PASSWORD);
  t.is(stranger.status, 429);
  t.regex(stranger.body, /Too many failed sign-in attempts/);
  t.truthy(stranger.headers.get('retry-after'));
  t.is((await pageLogin(owner, '198.51.100.22', PASSWORD)).status, 303);

  await spray(req);
  const again = await login(req, '198.51.100.23', PASSWORD);
  refused(t, again);
  // Not permanent: once the delay has passed on the clock, the right password gets in.
  clock.advance(Number(again.headers.get('retry-after')) * 1000);
  t.is((await login(req, '198.51.100.23', PASSWORD)).status, 200);
});
