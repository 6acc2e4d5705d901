/**
 * The pages in a real browser (issue 4): Debian's Chromium driven by playwright-core,
 * against the real app on a free port with a real redis-server. A ManualClock decides
 * every expiry, so the idle and absolute lapses need no sleeping. Screenshots of the
 * login, home and devices pages are written to test-results/screenshots/ on every run;
 * with UPDATE_SCREENSHOTS=1 they replace the README's copies in docs/screenshots/
 * (so a plain `npm test` leaves the work tree clean).
 */
import { mkdirSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import type { Browser, BrowserContext, Page } from 'playwright-core';
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

const MIN = 60_000;
const SHOTS = new URL(
  process.env.UPDATE_SCREENSHOTS === '1' ? '../../docs/screenshots/' : '../../test-results/screenshots/',
  import.meta.url,
);
const IPHONE_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1';
const FIREFOX_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';

test.before(async (t) => {
  const redis = await startRedis();
  const clock = new ManualClock(Date.now());
  const srv = await startServer({
    redis,
    clock,
    env: { SESSION_IDLE_TIMEOUT: '15m', SESSION_ABSOLUTE_LIFETIME: '2h', SESSION_ROTATION_GRACE: '10s' },
  });
  for (const u of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']) await srv.addUser(u, PASSWORD);
  const browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
  t.context = { redis, srv, clock, browser };
});

test.after.always(async (t) => {
  await t.context.browser?.close();
  await t.context.srv?.close();
  await t.context.redis?.stop();
});

/** A browser context ("a device") whose pages fail the test on any CSP violation or script error. */
async function device(t: ExecutionContext<Ctx>, opts: { userAgent?: string; viewport?: { width: number; height: number } } = {}) {
  const context = await t.context.browser.newContext({
    baseURL: t.context.srv.url,
    viewport: opts.viewport ?? { width: 1100, height: 760 },
    ...(opts.userAgent ? { userAgent: opts.userAgent } : {}),
  });
  const problems: string[] = [];
  context.on('page', (p) => watch(p, problems));
  t.teardown(async () => {
    await context.close();
  });
  const page = await context.newPage();
  watch(page, problems);
  return { context, page, problems };
}

function watch(page: Page, problems: string[]) {
  page.on('console', (m) => {
    // Refused requests (401/403 answers the test provokes) are logged by Chromium too.
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
}

async function signIn(page: Page, username: string, opts: { remember?: boolean; path?: string } = {}) {
  await page.goto(opts.path ?? '/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  if (opts.remember === false) await page.getByLabel('Keep me signed in').uncheck();
  await Promise.all([page.waitForURL((u) => u.pathname !== '/login'), page.getByRole('button', { name: 'Sign in' }).click()]);
}

const sid = async (context: BrowserContext) => (await context.cookies()).find((c) => c.name === 'sid')?.value;

test.serial('sign in through the form; the session cookie is invisible to document.cookie', async (t) => {
  const { page, context, problems } = await device(t);
  await page.goto('/');
  t.is(new URL(page.url()).pathname, '/login');
  t.is(new URL(page.url()).searchParams.get('returnTo'), '/');
  await t.notThrowsAsync(page.getByText('Please sign in to continue.').waitFor());
  await page.getByLabel('Username').fill('alice');
  await page.screenshot({ path: new URL('login.png', SHOTS).pathname });
  await page.getByLabel('Password').fill(PASSWORD);
  await Promise.all([page.waitForURL((u) => u.pathname === '/'), page.getByRole('button', { name: 'Sign in' }).click()]);
  await t.notThrowsAsync(page.getByRole('heading', { name: 'Signed in as alice' }).waitFor());
  const cookie = (await context.cookies()).find((c) => c.name === 'sid');
  t.truthy(cookie);
  t.true(cookie!.httpOnly);
  t.is(cookie!.sameSite, 'Lax');
  t.false((await page.evaluate(() => document.cookie)).includes(cookie!.value));
  t.false((await page.evaluate(() => document.cookie)).includes('sid='));
  // The countdown script (a same-origin file, CSP-allowed) is running.
  const first = await page.locator('#idle-countdown').textContent();
  await page.waitForFunction((f) => document.querySelector('#idle-countdown')?.textContent !== f, first);
  await page.screenshot({ path: new URL('home.png', SHOTS).pathname, fullPage: true });
  t.deepEqual(problems, [], 'no CSP violation or script error');
});

test.serial('after the idle window a reload stays signed in, with a new cookie value', async (t) => {
  const { page, context } = await device(t);
  await signIn(page, 'bob');
  const before = await sid(context);
  t.context.clock.advance(16 * MIN);
  await page.reload();
  t.is(new URL(page.url()).pathname, '/');
  await t.notThrowsAsync(page.getByRole('heading', { name: 'Signed in as bob' }).waitFor());
  await t.notThrowsAsync(page.getByText('renewed with a new session ID').waitFor());
  const after = await sid(context);
  t.truthy(after);
  t.not(after, before);
});

test.serial('after the absolute lifetime a reload lands on the sign-in form with the notice', async (t) => {
  const { page } = await device(t);
  await signIn(page, 'carol');
  t.context.clock.advance(2 * 60 * MIN + MIN);
  await page.reload();
  const url = new URL(page.url());
  t.is(url.pathname, '/login');
  t.is(url.searchParams.get('notice'), 'expired');
  await t.notThrowsAsync(page.getByText('Your session reached its maximum lifetime').waitFor());
});

test.serial('two devices: A lists both, signs B out, and B\'s next navigation lands on the sign-in form', async (t) => {
  const a = await device(t);
  const b = await device(t, { userAgent: IPHONE_UA });
  await signIn(a.page, 'dave');
  await signIn(b.page, 'dave');
  await a.page.getByRole('link', { name: 'Your devices', exact: true }).click();
  await a.page.waitForURL('**/account/sessions');
  const rows = a.page.locator('tbody tr');
  t.is(await rows.count(), 2);
  t.is(await a.page.locator('tr.current').count(), 1);
  t.regex((await a.page.locator('tr.current').textContent()) ?? '', /this device/);
  await t.notThrowsAsync(a.page.getByText('Mobile Safari 17 on iOS 17.2 (iPhone)').waitFor());
  await a.page.screenshot({ path: new URL('devices.png', SHOTS).pathname, fullPage: true });
  await a.page.getByRole('button', { name: /Sign out Mobile Safari/ }).click();
  await a.page.waitForURL('**/account/sessions?done=revoked');
  t.is(await rows.count(), 1);
  await b.page.goto('/account/sessions');
  const url = new URL(b.page.url());
  t.is(url.pathname, '/login');
  t.is(url.searchParams.get('notice'), 'ended');
  t.is(url.searchParams.get('returnTo'), '/account/sessions');
  await t.notThrowsAsync(b.page.getByText('signed out from another device').waitFor());
  // Phone-sized view of A's devices page (responsive layout) for the README.
  await a.page.setViewportSize({ width: 390, height: 760 });
  await signIn(b.page, 'dave', { path: '/login' });
  await a.page.reload();
  await a.page.screenshot({ path: new URL('devices-phone.png', SHOTS).pathname, fullPage: true });
  t.deepEqual([...a.problems, ...b.problems], []);
});

test.serial('"Sign out everywhere else" ends every other device', async (t) => {
  const a = await device(t);
  const others = [await device(t, { userAgent: IPHONE_UA }), await device(t, { userAgent: FIREFOX_UA })];
  await signIn(a.page, 'erin');
  for (const o of others) await signIn(o.page, 'erin');
  await a.page.goto('/account/sessions');
  t.is(await a.page.locator('tbody tr').count(), 3);
  await a.page.getByRole('button', { name: 'Sign out everywhere else' }).click();
  await a.page.waitForURL('**/account/sessions?done=revoked_others');
  t.is(await a.page.locator('tbody tr').count(), 1);
  for (const o of others) {
    await o.page.goto('/');
    t.is(new URL(o.page.url()).pathname, '/login');
  }
  await a.page.goto('/');
  t.is(new URL(a.page.url()).pathname, '/');
});

test.serial('outside the recent-authentication window, signing another device out asks for the password, then does it', async (t) => {
  const a = await device(t);
  const b = await device(t, { userAgent: FIREFOX_UA });
  const c = await device(t, { userAgent: IPHONE_UA });
  await signIn(a.page, 'frank');
  await signIn(b.page, 'frank');
  await signIn(c.page, 'frank');
  t.context.clock.advance(11 * MIN);
  await a.page.goto('/account/sessions');
  await a.page.getByRole('button', { name: /Sign out Firefox/ }).click();
  await a.page.waitForURL((u) => u.pathname === '/account/confirm');
  await t.notThrowsAsync(a.page.getByRole('heading', { name: 'Confirm your password' }).waitFor());
  t.is(await a.page.locator('tbody tr').count(), 0, 'nothing was signed out yet');
  await a.page.getByLabel('Password').fill('not the password at all');
  await a.page.getByRole('button', { name: 'Confirm' }).click();
  await t.notThrowsAsync(a.page.getByText('Wrong password.').waitFor());
  await a.page.getByLabel('Password').fill(PASSWORD);
  await Promise.all([a.page.waitForURL('**/account/sessions?done=revoked'), a.page.getByRole('button', { name: 'Confirm' }).click()]);
  t.is(await a.page.locator('tbody tr').count(), 2, 'the action the user asked for was completed');
  await b.page.goto('/');
  t.is(new URL(b.page.url()).pathname, '/login');
  // The password is fresh now: "sign out everywhere else" goes through at once.
  await Promise.all([
    a.page.waitForURL('**/account/sessions?done=revoked_others'),
    a.page.getByRole('button', { name: 'Sign out everywhere else' }).click(),
  ]);
  await c.page.goto('/');
  t.is(new URL(c.page.url()).pathname, '/login');
  await a.page.goto('/');
  t.is(new URL(a.page.url()).pathname, '/', 'the confirming device stays signed in (its rotated cookie)');
  t.deepEqual([...a.problems, ...b.problems, ...c.problems], []);
});

test.serial('a returnTo pointing at another origin never leaves the site', async (t) => {
  const { page, context } = await device(t);
  const offsite: string[] = [];
  const local = new URL(t.context.srv.url).host;
  context.on('request', (r) => {
    if (new URL(r.url()).host !== local) offsite.push(r.url());
  });
  for (const target of ['//evil.example/', 'https://evil.example/', '/\\evil.example', '/%2F%2Fevil.example', '/%5Cevil.example']) {
    await context.clearCookies();
    await signIn(page, 'alice', { path: `/login?returnTo=${encodeURIComponent(target)}` });
    t.is(new URL(page.url()).host, local, target);
    t.is(new URL(page.url()).pathname, '/', target);
  }
  t.deepEqual(offsite, []);
});

test.serial('an HTML-looking username and user agent are shown as text', async (t) => {
  const ua = 'Mozilla/5.0 <img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
  const { page, problems } = await device(t, { userAgent: ua });
  const name = '<script>window.__xss=3</script>';
  await page.goto('/login');
  await page.getByLabel('Username').fill(name);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await t.notThrowsAsync(page.getByText('Unknown username or wrong password.').waitFor());
  t.is(await page.getByLabel('Username').inputValue(), name, 'the typed name is kept, as text');
  t.is(await page.evaluate(() => (window as { __xss?: number }).__xss), undefined);
  // The user agent is stored with the session and shown on the devices page.
  await page.getByLabel('Username').fill('bob');
  await page.getByLabel('Password').fill(PASSWORD);
  await Promise.all([page.waitForURL((u) => u.pathname === '/'), page.getByRole('button', { name: 'Sign in' }).click()]);
  await page.goto('/account/sessions');
  const current = (await page.locator('tr.current .device').textContent()) ?? '';
  t.true(current.startsWith('Mozilla/5.0 <img src=x'), current);
  t.is(await page.locator('tr.current img').count(), 0);
  t.is(await page.evaluate(() => (window as { __xss?: number }).__xss), undefined);
  t.deepEqual(problems, []);
});

test.serial('a form posted without its CSRF token is refused, and so is one from another site', async (t) => {
  const { page, context } = await device(t);
  await signIn(page, 'carol');
  // The page's own sign-out form, with its token removed.
  await page.locator('header form input[name="_csrf"]').evaluate((el) => el.remove());
  const [res] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/logout')), page.getByRole('button', { name: 'Sign out' }).first().click()]);
  t.is(res.status(), 403);
  await t.notThrowsAsync(page.getByRole('heading', { name: 'Request refused' }).waitFor());
  await page.goto('/');
  t.is(new URL(page.url()).pathname, '/', 'still signed in');

  // A page on another site that submits a form to us on load.
  const target = `${t.context.srv.url}/account/sessions/revoke-others`;
  const evil: Server = createServer((_req, r) => {
    r.setHeader('content-type', 'text/html');
    r.end(`<form id="f" method="post" action="${target}"><input name="_csrf" value="x"></form><script>document.getElementById('f').submit()</script>`);
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => evil.close(() => r())));
  const evilPort = (evil.address() as AddressInfo).port;
  const other = await context.newPage();
  const [posted] = await Promise.all([
    other.waitForResponse((r) => r.url() === target),
    // "localhost" is another site than "127.0.0.1" for the browser.
    other.goto(`http://localhost:${evilPort}/`),
  ]);
  t.is(posted.status(), 403);
  await page.goto('/');
  t.is(new URL(page.url()).pathname, '/', 'still signed in');
});
