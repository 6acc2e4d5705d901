/**
 * Device-bound sessions (issue 23) in a real browser: Debian's Chromium with Device Bound
 * Session Credentials on (software keys), against the real app over HTTPS (a certificate
 * made for the test, pinned in Chromium by its SPKI hash) with a real redis-server.
 *
 * The story: sign in on the login page → Chromium registers a key (CDP
 * `Network.deviceBoundSessionEventOccurred`) → a copy of its cookies works from another
 * machine at first → once the bound lifetime has passed on the server's clock the copy is
 * refused everywhere and cannot be renewed (no key) → the browser's own next request goes
 * through after a signed refresh → a Chromium without DBSC signs in and stays signed in.
 *
 * A ManualClock moves the server's proof clock without sleeping. The browser's own cookie
 * expiry is real time, so the bound cookie lives 300 s there and the browser is made to
 * refresh by deleting it over CDP (the next request in scope is then held until a
 * challenge and a signed refresh have gone through).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { ManualClock } from '../../src/clock.js';
import { launchChromium, launchDbscChromium } from '../helpers/chromium.js';
import { eventually } from '../helpers/eventually.js';
import { PASSWORD } from '../helpers/login.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { type TestServer, startServer } from '../helpers/server.js';
import { type TestCert, makeTestCert } from '../helpers/tls-cert.js';

interface Ctx {
  tls: TestCert;
  redis: RedisProcess;
  srv: TestServer;
  clock: ManualClock;
  dbsc: Browser;
  plain: Browser;
}
const test = anyTest as TestFn<Ctx>;

const SEC = 1000;
const MIN = 60 * SEC;
/** SESSION_BOUND_COOKIE_LIFETIME below: the server's proof clock. */
const BOUND_LIFETIME = 5 * MIN;
const BOUND_COOKIE = '__Host-sid-bound';
const SESSION_COOKIE = '__Host-sid';
/** Chromium's first start can take a while on a loaded machine: a liveness bound, not a timing assertion. */
const WAIT = { timeoutMs: 30_000 };

/** The DBSC browser's state, carried from one serial step of the story to the next. */
interface Story {
  context: BrowserContext;
  page: Page;
  cdp: CDPSession;
  events: DbscEvent[];
  handle: string;
  /** The Cookie header of the copy taken off the browser. */
  stolen: string;
}
let story: Story | undefined;
const theStory = (): Story => {
  if (!story) throw new Error('an earlier step of the story failed');
  return story;
};

test.before(async (t) => {
  const tls = makeTestCert();
  const redis = await startRedis();
  const clock = new ManualClock(Date.now());
  const srv = await startServer({
    redis,
    clock,
    tls,
    env: {
      COOKIE_SECURE: 'on',
      SESSION_DEVICE_BINDING: 'on',
      SESSION_BOUND_COOKIE_LIFETIME: '5m',
      SESSION_IDLE_TIMEOUT: '15m',
      SESSION_ABSOLUTE_LIFETIME: '2h',
    },
  });
  for (const u of ['alice', 'bob']) await srv.addUser(u, PASSWORD);
  const [dbsc, plain] = await Promise.all([launchDbscChromium(tls.spki), launchChromium()]);
  t.context = { tls, redis, srv, clock, dbsc, plain };
});

test.after.always(async (t) => {
  await story?.context.close();
  await t.context.dbsc?.close();
  await t.context.plain?.close();
  await t.context.srv?.close();
  await t.context.redis?.stop();
});

// ---------------------------------------------------------------------------------------
// CDP: the browser's DBSC events (Network.enable is not enough: enableDeviceBoundSessions).

interface DbscEvent {
  succeeded: boolean;
  sessionId?: string;
  creationEventDetails?: {
    fetchResult: string;
    newSession?: {
      key: { site: string; id: string };
      refreshUrl: string;
      inclusionRules: { origin: string; includeSite: boolean };
      cookieCravings: { name: string; path: string; secure: boolean; httpOnly: boolean; sameSite?: string }[];
    };
  };
  refreshEventDetails?: { refreshResult: string; fetchResult?: string };
  challengeEventDetails?: { challengeResult: string; challenge: string };
  terminationEventDetails?: { deletionReason: string };
}

async function watchDbsc(cdp: CDPSession): Promise<DbscEvent[]> {
  const events: DbscEvent[] = [];
  cdp.on('Network.deviceBoundSessionEventOccurred', (e) => events.push(e as DbscEvent));
  await cdp.send('Network.enable');
  await cdp.send('Network.enableDeviceBoundSessions', { enable: true });
  return events;
}

const describe = (events: DbscEvent[]) => () => `DBSC events so far: ${JSON.stringify(events)}`;

// ---------------------------------------------------------------------------------------
// The thief: the browser's cookies, replayed from Node over HTTPS (the test certificate trusted).

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: Record<string, unknown> | undefined;
  setCookies: string[];
}

/** An empty body unless `json`: the DBSC endpoints get what Chromium sends them (no Content-Type, no body). */
function call(
  t: ExecutionContext<Ctx>,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  json?: unknown,
): Promise<Answer> {
  const { srv, tls } = t.context;
  const url = new URL(path, srv.url);
  const body = json === undefined ? '' : JSON.stringify(json);
  // Unsafe requests carry this site's Origin, as a thief copying a browser's requests would.
  const h =
    method === 'GET'
      ? headers
      : { origin: srv.url, 'content-length': String(Buffer.byteLength(body)), ...(json === undefined ? {} : { 'content-type': 'application/json' }), ...headers };
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: h, ca: tls.cert, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => {
        let json: Record<string, unknown> | undefined;
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json, setCookies: res.headers['set-cookie'] ?? [] });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const setsCookie = (a: Answer, name: string) => a.setCookies.some((c) => c.startsWith(`${name}=`) && !/;\s*Max-Age=0/i.test(c));

/** `"<challenge>";id="<session>"` (RFC 8941 string item with an `id` parameter). */
function parseChallenge(header: string | string[] | undefined): { challenge: string; id: string | undefined } | null {
  const v = Array.isArray(header) ? header[0] : header;
  const m = v ? /^\s*"([^"]*)"(?:.*;\s*id="([^"]*)")?/.exec(v) : null;
  return m ? { challenge: m[1]!, id: m[2] } : null;
}

/** A `dbsc+jwt` proof for `jti`, signed by a key the thief made (not the browser's). */
async function thiefProof(jti: string, opts: { withJwk?: boolean } = {}): Promise<string> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const header = { alg: 'ES256', typ: 'dbsc+jwt', ...(opts.withJwk ? { jwk: await exportJWK(publicKey) } : {}) };
  return new SignJWT({ jti }).setProtectedHeader(header).sign(privateKey);
}

// ---------------------------------------------------------------------------------------
// The browser side.

async function signIn(page: Page, username: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await Promise.all([page.waitForURL((u) => u.pathname !== '/login'), page.getByRole('button', { name: 'Sign in' }).click()]);
}

/** A same-origin fetch made by the page, so it goes through the browser's own network stack (and DBSC). */
async function pageFetch(page: Page, path: string, method = 'GET'): Promise<{ status: number; json: Record<string, unknown> | null }> {
  return page.evaluate(
    async ([p, m]) => {
      const r = await fetch(p!, { method: m, headers: { accept: 'application/json' } });
      const text = await r.text();
      let json: Record<string, unknown> | null = null;
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        json = null;
      }
      return { status: r.status, json };
    },
    [path, method] as const,
  );
}

interface SessionRow {
  handle: string;
  current: boolean;
  bound: boolean;
}
async function mySession(page: Page): Promise<SessionRow | undefined> {
  const r = await pageFetch(page, '/auth/sessions');
  if (r.status !== 200) throw new Error(`/auth/sessions: ${r.status} ${JSON.stringify(r.json)}`);
  return ((r.json?.sessions ?? []) as SessionRow[]).find((s) => s.current);
}

const cookieOf = async (context: BrowserContext, name: string) => (await context.cookies()).find((c) => c.name === name);

// ---------------------------------------------------------------------------------------
// The story, in order: each step continues the state the previous one left.

test.serial('sign in on the login page: Chromium registers a device key, and the session says bound', async (t) => {
  const { srv } = t.context;
  const context = await t.context.dbsc.newContext({ baseURL: srv.url });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  const events = await watchDbsc(cdp);

  await signIn(page, 'alice');
  t.is(new URL(page.url()).pathname, '/');

  // The sign-in's answer offered registration; Chromium signed up a key in the background.
  await eventually(() => events.some((e) => e.succeeded && e.creationEventDetails?.fetchResult === 'Success'), {
    ...WAIT,
    what: describe(events),
  });
  const created = events.find((e) => e.succeeded && e.creationEventDetails?.fetchResult === 'Success')!;
  const session = created.creationEventDetails!.newSession!;
  t.is(session.refreshUrl, `${srv.url}/auth/dbsc/refresh`);
  t.is(session.inclusionRules.origin, srv.url);
  t.false(session.inclusionRules.includeSite);
  t.deepEqual(
    session.cookieCravings.map((c) => [c.name, c.path, c.secure, c.httpOnly, c.sameSite]),
    [[BOUND_COOKIE, '/', true, true, 'Lax']],
  );
  // No registration was refused or replaced on the way (a bound session is offered no new key).
  t.deepEqual(
    events.filter((e) => e.terminationEventDetails),
    [],
  );

  await eventually(async () => (await cookieOf(context, BOUND_COOKIE)) !== undefined, { ...WAIT, what: 'the bound cookie in the browser' });
  const bound = (await cookieOf(context, BOUND_COOKIE))!;
  t.true(bound.httpOnly);
  t.true(bound.secure);
  t.is(bound.path, '/');
  // Max-Age = the bound lifetime (the browser's expiry is real time; a few seconds of slack).
  t.true(bound.expires * SEC > Date.now() + BOUND_LIFETIME - MIN && bound.expires * SEC <= Date.now() + BOUND_LIFETIME + 5 * SEC);

  const me = await mySession(page);
  t.truthy(me);
  t.true(me!.bound);
  t.is(created.sessionId, me!.handle, 'session_identifier is the session handle');

  const stolen = (await context.cookies(srv.url)).map((c) => `${c.name}=${c.value}`).join('; ');
  t.true(stolen.includes(`${SESSION_COOKIE}=`));
  story = { context, page, cdp, events, handle: me!.handle, stolen };
});

test.serial('a copy of the browser\'s cookies works from another machine at first', async (t) => {
  const s = theStory();
  const r = await call(t, 'GET', '/api/me', { cookie: s.stolen });
  t.is(r.status, 200, r.text);
  t.is((r.json?.user as { username?: string } | undefined)?.username, 'alice');
});

test.serial('past the bound lifetime the copy is refused everywhere and cannot be renewed without the device key', async (t) => {
  const s = theStory();
  const { clock } = t.context;
  // Past the proof clock, well inside the idle timeout (15 min) and the absolute lifetime.
  clock.advance(BOUND_LIFETIME + 30 * SEC);

  const me = await call(t, 'GET', '/api/me', { cookie: s.stolen });
  t.is(me.status, 401, me.text);
  t.is(me.json?.error, 'device_proof_required');
  t.falsy(me.headers['secure-session-registration'], 'a bound session is offered no new key');

  const refresh = await call(t, 'POST', '/auth/refresh', { cookie: s.stolen }, {});
  t.is(refresh.status, 401, refresh.text);
  t.is(refresh.json?.error, 'device_proof_required');
  t.false(setsCookie(refresh, SESSION_COOKIE), 'no new session ID without a proof');

  // The DBSC refresh endpoint only answers with a challenge…
  const ask = await call(t, 'POST', '/auth/dbsc/refresh', { cookie: s.stolen, 'sec-secure-session-id': s.handle });
  t.is(ask.status, 403, ask.text);
  const challenge = parseChallenge(ask.headers['secure-session-challenge']);
  t.truthy(challenge, `a Secure-Session-Challenge header: ${JSON.stringify(ask.headers)}`);
  t.is(challenge!.id, s.handle);
  t.false(setsCookie(ask, SESSION_COOKIE));
  t.false(setsCookie(ask, BOUND_COOKIE));

  // …and a proof signed with the thief's own key is refused: no cookie, nothing renewed.
  const forged = await call(t, 'POST', '/auth/dbsc/refresh', {
    cookie: s.stolen,
    'sec-secure-session-id': s.handle,
    'secure-session-response': await thiefProof(challenge!.challenge),
  });
  t.not(forged.status, 200, forged.text);
  t.true(forged.status >= 400 && forged.status < 500, `refused: ${forged.status} ${forged.text}`);
  t.false(setsCookie(forged, SESSION_COOKIE));
  t.false(setsCookie(forged, BOUND_COOKIE));

  // Binding a key of his own to the session is refused as well.
  const rebind = await call(t, 'POST', '/auth/dbsc/register', {
    cookie: s.stolen,
    'secure-session-response': await thiefProof(challenge!.challenge, { withJwk: true }),
  });
  t.true(rebind.status >= 400 && rebind.status < 500, `refused: ${rebind.status} ${rebind.text}`);
  t.false(setsCookie(rebind, SESSION_COOKIE));
  t.false(setsCookie(rebind, BOUND_COOKIE));

  const still = await call(t, 'GET', '/api/me', { cookie: s.stolen });
  t.is(still.status, 401, still.text);
  t.is(still.json?.error, 'device_proof_required');
});

test.serial('the browser\'s own next request goes through after a signed refresh, with a rotated session ID', async (t) => {
  const s = theStory();
  const { srv } = t.context;
  const sidBefore = (await cookieOf(s.context, SESSION_COOKIE))!.value;
  const seen = s.events.length;

  // The browser's bound cookie would only expire in real time: delete it, so the next
  // request in scope waits for a refresh.
  await s.cdp.send('Network.deleteCookies', { name: BOUND_COOKIE, url: `${srv.url}/` });
  const me = await pageFetch(s.page, '/api/me');
  t.is(me.status, 200, JSON.stringify(me.json));
  t.is((me.json?.user as { username?: string } | undefined)?.username, 'alice');

  // Chromium got a challenge (403) and answered it with a signature of its key.
  const fresh = () => s.events.slice(seen);
  await eventually(() => fresh().some((e) => e.refreshEventDetails), { ...WAIT, what: describe(s.events) });
  const challenged = fresh().find((e) => e.challengeEventDetails);
  t.truthy(challenged, describe(s.events)());
  t.is(challenged!.sessionId, s.handle);
  t.true(challenged!.succeeded);
  const refreshed = fresh().find((e) => e.refreshEventDetails)!;
  t.true(refreshed.succeeded, describe(s.events)());
  t.is(refreshed.refreshEventDetails!.refreshResult, 'Refreshed');
  t.is(refreshed.sessionId, s.handle);
  t.deepEqual(
    fresh().filter((e) => e.terminationEventDetails),
    [],
  );

  // The server rotated the session ID and issued a new bound cookie.
  const sidAfter = (await cookieOf(s.context, SESSION_COOKIE))?.value;
  t.truthy(sidAfter);
  t.not(sidAfter, sidBefore);
  t.truthy(await cookieOf(s.context, BOUND_COOKIE));
  const row = await mySession(s.page);
  t.is(row?.handle, s.handle, 'the same session, under a new ID');
  t.true(row?.bound);

  // A page load of the browser works as well.
  await s.page.goto('/');
  t.is(new URL(s.page.url()).pathname, '/');
  await t.notThrowsAsync(s.page.getByRole('heading', { name: 'Signed in as alice' }).waitFor());
  // (The copy taken earlier now holds a rotated-away ID: presenting it would be a replay
  // that revokes the whole session, by design. It is not used again.)
});

test.serial('a Chromium without DBSC signs in over the same HTTPS server and stays signed in past the bound lifetime', async (t) => {
  const { srv, clock } = t.context;
  // The plain browser has no pinned certificate: Playwright accepts it per context (which would also switch DBSC off).
  const context = await t.context.plain.newContext({ baseURL: srv.url, ignoreHTTPSErrors: true });
  t.teardown(() => context.close());
  const page = await context.newPage();
  await signIn(page, 'bob');
  t.is(new URL(page.url()).pathname, '/');
  t.truthy(await cookieOf(context, SESSION_COOKIE));
  t.is(await cookieOf(context, BOUND_COOKIE), undefined);

  const before = await mySession(page);
  t.false(before!.bound);

  clock.advance(BOUND_LIFETIME + MIN); // still inside the 15 min idle timeout
  const me = await pageFetch(page, '/api/me');
  t.is(me.status, 200, JSON.stringify(me.json));
  t.is((me.json?.user as { username?: string } | undefined)?.username, 'bob');
  const after = await mySession(page);
  t.false(after!.bound);
  t.is(after!.handle, before!.handle);
  await page.goto('/');
  await t.notThrowsAsync(page.getByRole('heading', { name: 'Signed in as bob' }).waitFor());
});

