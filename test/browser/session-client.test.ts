/**
 * The browser session client (issue 17) in Debian's Chromium against the real app and a
 * real redis-server: the module is imported from /assets/session-client.js by a page
 * under the pages' CSP, exactly as an app would. A ManualClock decides every expiry, so
 * the lapses need no sleeping. Refreshes are counted twice: as requests the browser
 * sent and as `session.refreshed` events the server logged. The last tests run the same
 * module in Node (no Web Locks there) through a fetch that keeps cookies.
 */
import { type IncomingHttpHeaders, get as httpGet } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { type SessionClient, SessionError, createSessionClient } from '../../src/client/session-client.js';
import { ManualClock } from '../../src/clock.js';
import { launchChromium } from '../helpers/chromium.js';
import { PASSWORD } from '../helpers/login.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { type TestServer, startServer } from '../helpers/server.js';

interface Ctx {
  redis: RedisProcess;
  srv: TestServer;
  clock: ManualClock;
  browser: Browser;
}
const test = anyTest as TestFn<Ctx>;

declare global {
  interface Window {
    sessionClient: SessionClient;
    loginRequiredCalls: string[];
  }
}

const MIN = 60_000;
const MODULE_URL = '/assets/session-client.js';

test.before(async (t) => {
  const redis = await startRedis();
  const clock = new ManualClock(Date.now());
  const srv = await startServer({
    redis,
    clock,
    env: { SESSION_IDLE_TIMEOUT: '15m', SESSION_ABSOLUTE_LIFETIME: '2h', SESSION_ROTATION_GRACE: '10s' },
  });
  for (const u of ['alice', 'bob', 'carol', 'dave', 'erin']) await srv.addUser(u, PASSWORD);
  const browser = await launchChromium();
  t.context = { redis, srv, clock, browser };
});

test.after.always(async (t) => {
  await t.context.browser?.close();
  await t.context.srv?.close();
  await t.context.redis?.stop();
});

/** One browser ("a device"): its tabs share the cookie jar; every POST /auth/refresh it sends is counted. */
async function device(t: ExecutionContext<Ctx>, srv: TestServer = t.context.srv) {
  const context = await t.context.browser.newContext({ baseURL: srv.url });
  t.teardown(() => context.close());
  const refreshes: string[] = [];
  const problems: string[] = [];
  context.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/auth/refresh') refreshes.push(r.url());
  });
  return { context, refreshes, problems, tab: () => tab(context, problems) };
}

/** A tab on one of the server's pages (its CSP applies) that imported the client as a module. */
async function tab(context: BrowserContext, problems: string[]): Promise<Page> {
  const page = await context.newPage();
  page.on('console', (m) => {
    // The 401/403/503 answers the tests provoke are logged by Chromium as well.
    if (m.type() === 'error' && !/status of (4\d\d|503)|Failed to fetch|ERR_CONNECTION_REFUSED/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  await page.goto('/login');
  // A string, not a function: the test runner's transpiler would name the callback
  // with a helper that does not exist in the page.
  await page.evaluate(`import(${JSON.stringify(MODULE_URL)}).then(({ createSessionClient }) => {
    window.loginRequiredCalls = [];
    window.sessionClient = createSessionClient({ onLoginRequired: (reason) => window.loginRequiredCalls.push(reason) });
  })`);
  return page;
}

/** Signs in through the client: a JSON string body without a Content-Type, which the client adds. */
function signIn(page: Page, username: string): Promise<number> {
  return page.evaluate(
    async ({ username, password }) =>
      (await window.sessionClient.fetch('/auth/login', { method: 'POST', body: JSON.stringify({ username, password }) })).status,
    { username, password: PASSWORD },
  );
}

type Outcome = { status: number } | { code: string; reason?: string; status?: number; name: string };

/** `n` concurrent client.fetch(path) in the tab: each one's status, or what it rejected with. */
function concurrently(page: Page, n: number, path = '/api/me'): Promise<Outcome[]> {
  return page.evaluate(
    ({ n, path }) =>
      Promise.all(
        Array.from({ length: n }, () =>
          window.sessionClient.fetch(path).then(
            (r) => ({ status: r.status }),
            (e) => ({ code: e.code, reason: e.reason, status: e.status, name: e.name }),
          ),
        ),
      ),
    { n, path },
  );
}

const loginCalls = (page: Page) => page.evaluate(() => window.loginRequiredCalls);
const events = (srv: TestServer, name: string) => srv.logs.events(name).length;

/**
 * A plain GET: fetch() would add `Cache-Control: no-cache` beside If-None-Match (its
 * cache mode turns no-store), which rightly forbids a 304; a browser revalidating its
 * cached copy does not.
 */
function get(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
    httpGet(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    }).on('error', reject);
  });
}

test.serial('the module is served as a script with a strong ETag, revalidated on every use', async (t) => {
  const url = t.context.srv.url + MODULE_URL;
  const res = await get(url);
  t.is(res.status, 200);
  t.is(res.headers['content-type'], 'text/javascript; charset=utf-8');
  t.is(res.headers['cache-control'], 'no-cache');
  const etag = res.headers.etag ?? '';
  t.regex(etag, /^"[\w-]{16}"$/, 'a strong ETag');
  t.true(res.body.includes('export function createSessionClient'));
  const again = await get(url, { 'If-None-Match': etag });
  t.is(again.status, 304);
  t.is(again.body, '');
  t.is(again.headers.etag, etag);
  t.is((await get(url, { 'If-None-Match': '"stale"' })).status, 200);
  // The pages' own assets share the route and its revalidation.
  const css = await get(`${t.context.srv.url}/assets/style.css`);
  t.is(css.headers['cache-control'], 'public, max-age=300');
  t.is((await get(`${t.context.srv.url}/assets/style.css`, { 'If-None-Match': css.headers.etag ?? '' })).status, 304);
});

test.serial('after an idle lapse, 10 concurrent requests cause exactly one refresh and are all answered', async (t) => {
  const { srv, clock } = t.context;
  const d = await device(t);
  const page = await d.tab();
  t.is(await signIn(page, 'alice'), 200);
  t.deepEqual(await concurrently(page, 3), Array(3).fill({ status: 200 }));
  t.deepEqual(d.refreshes, [], 'no refresh while the session is active');

  const refreshedBefore = events(srv, 'session.refreshed');
  const sidBefore = await sid(d.context);
  clock.advance(16 * MIN);
  t.deepEqual(await concurrently(page, 10), Array(10).fill({ status: 200 }));
  t.is(d.refreshes.length, 1, 'one POST /auth/refresh left the browser');
  t.is(events(srv, 'session.refreshed') - refreshedBefore, 1, 'and one reached the server');
  t.not(await sid(d.context), sidBefore, 'the ID rotated');
  t.deepEqual(await loginCalls(page), []);
  t.deepEqual(d.problems, [], 'no CSP violation or script error');
});

test.serial('two tabs meeting the same lapse at once: one rotation, no replay, the session lives on', async (t) => {
  const { srv, clock } = t.context;
  const d = await device(t);
  const [a, b] = [await d.tab(), await d.tab()];
  t.is(await signIn(a, 'bob'), 200);
  const refreshedBefore = events(srv, 'session.refreshed');
  const replaysBefore = events(srv, 'session.reuse_detected');

  // Hold the first refresh until both tabs have met the lapse, so that each one has a
  // reason to refresh with the old cookie: only the lock keeps the second from doing so.
  const lapsed = new Set<Page>();
  let bothLapsed: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    bothLapsed = resolve;
  });
  d.context.on('response', (r) => {
    if (r.status() !== 401 || new URL(r.url()).pathname !== '/api/me') return;
    lapsed.add(r.frame().page());
    if (lapsed.size === 2) bothLapsed();
  });
  await d.context.route('**/auth/refresh', async (route) => {
    await Promise.race([gate, sleep(5000)]);
    await route.continue();
  });
  clock.advance(16 * MIN);
  const [fromA, fromB] = await Promise.all([concurrently(a, 5), concurrently(b, 5)]);
  t.is(lapsed.size, 2, 'both tabs met the lapse');
  t.deepEqual([...fromA!, ...fromB!], Array(10).fill({ status: 200 }));
  t.is(d.refreshes.length, 1, 'the second tab found the cookie already renewed');
  t.is(events(srv, 'session.refreshed') - refreshedBefore, 1);
  t.is(events(srv, 'session.reuse_detected') - replaysBefore, 0, 'no replay detection');

  // Past the rotation grace an old ID would be a replay: both tabs still work.
  clock.advance(MIN);
  t.deepEqual(await concurrently(a, 2), Array(2).fill({ status: 200 }));
  t.deepEqual(await concurrently(b, 2), Array(2).fill({ status: 200 }));
  t.is(events(srv, 'session.reuse_detected') - replaysBefore, 0);
  t.deepEqual([...(await loginCalls(a)), ...(await loginCalls(b))], []);
  t.deepEqual(d.problems, []);
});

test.serial('after the absolute lifetime onLoginRequired is called once per lapse and requests reject with login_required', async (t) => {
  const { clock } = t.context;
  const d = await device(t);
  const page = await d.tab();
  t.is(await signIn(page, 'carol'), 200);

  clock.advance(2 * 60 * MIN + MIN);
  const outcomes = await concurrently(page, 10);
  t.is(outcomes.length, 10);
  for (const o of outcomes) t.like(o, { name: 'SessionError', code: 'login_required' });
  const calls = await loginCalls(page);
  t.is(calls.length, 1, 'once for the ten requests');
  t.true(calls[0] === 'session_ended' || calls[0] === 'refresh_refused', calls[0]);
  t.like(await concurrently(page, 1), [{ code: 'login_required' }]);
  t.is((await loginCalls(page)).length, 1, 'not again within the same lapse');

  // Signed in again, the next lapse is reported again.
  t.is(await signIn(page, 'carol'), 200);
  t.deepEqual(await concurrently(page, 1), [{ status: 200 }]);
  clock.advance(2 * 60 * MIN + MIN);
  t.like(await concurrently(page, 2), [{ code: 'login_required' }, { code: 'login_required' }]);
  t.is((await loginCalls(page)).length, 2);
  t.deepEqual(d.problems, []);
});

test.serial('a refresh refused with 403 is a login_required too, reported once', async (t) => {
  const { clock, srv } = t.context;
  const d = await device(t);
  const page = await d.tab();
  t.is(await signIn(page, 'dave'), 200);
  // Another device signs every session of dave out just as this idle one refreshes.
  const other = await fetch(`${srv.url}/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'dave', password: PASSWORD }),
  });
  const cookie = other.headers.getSetCookie()[0]!.split(';')[0]!;
  await d.context.route('**/auth/refresh', async (route) => {
    const all = await fetch(`${srv.url}/auth/logout-all`, { method: 'POST', headers: { 'Content-Type': 'application/json', cookie } });
    t.is(all.status, 204);
    await route.continue();
  });
  clock.advance(16 * MIN);
  t.like(await concurrently(page, 4), Array(4).fill({ code: 'login_required', reason: 'refresh_refused', status: 403 }));
  t.is(d.refreshes.length, 1);
  t.deepEqual(await loginCalls(page), ['refresh_refused']);
  t.is(await sid(d.context), undefined, 'the server cleared the cookie');
});

test.serial('a 503 or a network error rejects without refreshing or signing out', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const srv = await startServer({ redis });
  t.teardown(() => srv.close());
  await srv.addUser('erin', PASSWORD);
  const d = await device(t, srv);
  const page = await d.tab();
  t.is(await signIn(page, 'erin'), 200);
  t.deepEqual(await concurrently(page, 1), [{ status: 200 }]);

  await redis.kill('SIGTERM');
  t.like(await concurrently(page, 3), Array(3).fill({ name: 'SessionError', code: 'store_unavailable', status: 503 }));
  await srv.close();
  const offline = await concurrently(page, 2);
  t.like(offline, Array(2).fill({ name: 'TypeError' }), 'fetch\'s own network error');
  t.deepEqual(d.refreshes, []);
  t.deepEqual(await loginCalls(page), []);
  t.true((await sid(d.context)) !== undefined, 'the cookie is kept');
});

async function sid(context: BrowserContext) {
  return (await context.cookies()).find((c) => c.name === 'sid')?.value;
}

interface Interleave {
  /** Runs before a request leaves (to hold it back); `sent` numbers the requests in order. */
  send?: (req: Request, sent: number) => Promise<void>;
  /** Runs before a response is handed to the client (to delay it). */
  deliver?: (req: Request, res: Response, sent: number) => Promise<void>;
}

/** Node's fetch keeps no cookies: this one does (the session's and the device cookie). */
function cookieFetch({ send, deliver }: Interleave = {}) {
  const jar = new Map<string, string>();
  let count = 0;
  return async (req: Request): Promise<Response> => {
    const sent = ++count;
    await send?.(req, sent);
    if (jar.size > 0) req.headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(req);
    for (const line of res.headers.getSetCookie()) {
      const [, name = '', value = ''] = /^([^=]+)=([^;]*)/.exec(line) ?? [];
      if (value === '' || /max-age=0/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    await deliver?.(req, res, sent);
    return res;
  };
}

test.serial('in Node (no Web Locks) concurrent requests after a lapse still share one refresh', async (t) => {
  const { srv, clock } = t.context;
  const refreshed = () => events(srv, 'session.refreshed');
  const calls: string[] = [];
  const client = createSessionClient({ baseUrl: srv.url, fetch: cookieFetch(), onLoginRequired: (r) => calls.push(r) });
  const login = await client.fetch('/auth/login', { method: 'POST', body: JSON.stringify({ username: 'alice', password: PASSWORD }) });
  t.is(login.status, 200);

  const before = refreshed();
  clock.advance(16 * MIN);
  const answers = await Promise.all(Array.from({ length: 10 }, () => client.fetch('/api/me')));
  t.deepEqual(answers.map((r) => r.status), Array(10).fill(200));
  t.is(refreshed() - before, 1);

  // A bodiless unsafe request gets the JSON type the API asks for, and an explicit one is kept.
  const wrongType = await client.fetch('/auth/logout', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '' });
  t.is(wrongType.status, 415);
  t.is((await client.fetch('/auth/logout', { method: 'POST' })).status, 204);
  const err = await t.throwsAsync(client.fetch('/api/me'), { instanceOf: SessionError });
  t.is(err?.code, 'login_required');
  t.is(err?.reason, 'session_ended');
  t.deepEqual(calls, ['session_ended']);
});

test.serial('answers to the old ID that arrive after the refresh are retried without refreshing again', async (t) => {
  const { srv, clock } = t.context;
  let renewed: () => void = () => {};
  const retried = new Promise<void>((resolve) => {
    renewed = resolve;
  });
  // The ten are sent together and all answered by the server before the refresh goes
  // out; three of their 401s reach the client only once the refresh is over (a request
  // with the new cookie was answered), as when they cross it on a slow network. In a
  // browser the re-check under the Web Lock would catch them as well; Node has no Web
  // Locks.
  const isFirstTen = (sent: number) => sent >= 2 && sent <= 11; // request 1 is the login
  let answered = 0;
  let allAnswered: () => void = () => {};
  const tenAnswered = new Promise<void>((resolve) => {
    allAnswered = resolve;
  });
  let late = 0;
  const client = createSessionClient({
    baseUrl: srv.url,
    fetch: cookieFetch({
      send: async (req) => {
        if (new URL(req.url).pathname === '/auth/refresh') await Promise.race([tenAnswered, sleep(5000)]);
      },
      deliver: async (_req, res, sent) => {
        if (isFirstTen(sent) && ++answered === 10) allAnswered();
        if (res.status === 200 && sent > 11) renewed();
        if (sent >= 3 && sent <= 5) {
          t.is(res.status, 401);
          late++;
          await Promise.race([retried, sleep(5000)]);
        }
      },
    }),
  });
  const login = await client.fetch('/auth/login', { method: 'POST', body: JSON.stringify({ username: 'bob', password: PASSWORD }) });
  t.is(login.status, 200);
  const before = events(srv, 'session.refreshed');
  clock.advance(16 * MIN);
  const answers = await Promise.all(Array.from({ length: 10 }, () => client.fetch('/api/me')));
  t.deepEqual(answers.map((r) => r.status), Array(10).fill(200));
  t.is(events(srv, 'session.refreshed') - before, 1);
  t.is(late, 3);
});
