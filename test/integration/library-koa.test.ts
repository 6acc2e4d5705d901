/**
 * The package used as a library: a plain Koa app mounting createSessions (koa-session
 * over a SessionStore) with its own routes, as in the README. ctx.session is the
 * session's app data: a read costs one store call, a change adds one conditional
 * write, anonymous data goes nowhere, a write never resurrects a revoked session, and
 * `ctx.session = null` revokes.
 */
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import test from 'ava';
import Koa from 'koa';
import Router from 'koa-router';
import { ManualClock, MemoryStore, type SessionStore, cookieSettings, createSessions, errorHandler } from '../../src/internals.js';
import { createLogger } from '../../src/log.js';
import { client } from '../helpers/http.js';

async function libraryApp(t: import('ava').ExecutionContext) {
  const calls: string[] = [];
  const clock = new ManualClock(Date.now());
  const inner = new MemoryStore({ clock, sweepIntervalMs: 0 });
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as SessionStore;

  const app = new Koa();
  const sessions = createSessions(app, { store, cookie: cookieSettings(false) });
  const router = new Router();
  router.get('/count', sessions.middleware, async (ctx) => {
    ctx.body = { count: (ctx.session?.count as number | undefined) ?? null };
  });
  router.post('/count', sessions.middleware, async (ctx) => {
    const s = ctx.session!;
    s.count = ((s.count as number | undefined) ?? 0) + 1;
    ctx.body = { count: s.count };
  });
  router.get('/who', sessions.authenticate(), (ctx) => {
    ctx.body = { user: sessions.auth(ctx).session.userId };
  });
  router.get('/who-even-stale', sessions.authenticate({ stale: 'allow' }), (ctx) => {
    ctx.body = { user: sessions.auth(ctx).session.userId, state: sessions.auth(ctx).state };
  });
  // An app's own sensitive route (e.g. changing an email address): a password proved
  // within the last minute.
  router.post('/email', sessions.authenticate({ freshWithin: 60_000 }), (ctx) => {
    ctx.body = { changed: true };
  });
  router.post('/bye', sessions.middleware, sessions.authenticate(), async (ctx) => {
    ctx.session = null;
    ctx.status = 204;
  });
  app.use(errorHandler(createLogger({ level: 'silent' })));
  app.use(router.routes());
  const server = createServer(app.callback()).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issued = await inner.create({ userId: 'alice', tag: 'AAAAAAAAAAAA' });
  return { req: client(url), calls, token: issued!.token, inner, clock };
}

test('ctx.session: a read is one validate, a change one conditional write, and the data persists', async (t) => {
  const { req, calls, token } = await libraryApp(t);
  t.deepEqual((await req('GET', '/count', { cookie: token })).body, { count: null });
  t.deepEqual(calls, ['validate']);
  calls.length = 0;
  t.deepEqual((await req('POST', '/count', { cookie: token })).body, { count: 1 });
  t.deepEqual(calls, ['validate', 'updateData']);
  t.deepEqual((await req('POST', '/count', { cookie: token })).body, { count: 2 });
  calls.length = 0;
  const read = await req('GET', '/count', { cookie: token });
  t.deepEqual(read.body, { count: 2 });
  t.deepEqual(calls, ['validate'], 'no write on a plain read');
  t.deepEqual(read.setCookies, [], 'koa-session never sends the cookie');
});

test('anonymous visitors get an empty ctx.session that is never stored or sent as a cookie', async (t) => {
  const { req, calls } = await libraryApp(t);
  for (const cookie of [undefined, 'sid=*', `sid=AAAAAAAAAAAA.${'x'.repeat(43)}`]) {
    const r = await req('POST', '/count', { cookie });
    t.deepEqual(r.body, { count: 1 });
    t.deepEqual(r.setCookies, []);
  }
  t.deepEqual(calls, ['validate'], 'only the well-formed unknown cookie reached the store, and nothing was written');
});

test('a data write after a revoke does not bring the session back', async (t) => {
  const { req, token, inner } = await libraryApp(t);
  await req('POST', '/count', { cookie: token });
  const before = await inner.validate(token);
  t.is(before.state, 'active');
  await inner.revoke(token);
  t.deepEqual((await req('POST', '/count', { cookie: token })).body, { count: 1 }, 'served as anonymous');
  t.is((await inner.validate(token)).state, 'login_required');
});

test('ctx.session = null revokes the session and clears the cookie', async (t) => {
  const { req, token, inner } = await libraryApp(t);
  const r = await req('POST', '/bye', { cookie: token });
  t.is(r.status, 204);
  t.is(r.cookie(), '');
  t.is((await inner.validate(token)).state, 'login_required');
  t.is((await req('POST', '/bye', { cookie: token })).status, 401);
});

test('authenticate(): one validate without koa-session, 401 without a live session, stale only when allowed', async (t) => {
  const { req, calls, token, inner, clock } = await libraryApp(t);
  const who = await req('GET', '/who', { cookie: token });
  t.is(who.status, 200);
  t.deepEqual(who.body, { user: 'alice' });
  t.deepEqual(calls, ['validate']);
  calls.length = 0;
  t.like(await req('GET', '/who'), { status: 401, body: { error: 'login_required' } });
  t.deepEqual(calls, [], 'no cookie, no store call');
  clock.advance(inner.policy.idleTimeoutMs);
  t.like(await req('GET', '/who', { cookie: token }), { status: 401, body: { error: 'refresh_required' } });
  t.like(await req('GET', '/who-even-stale', { cookie: token }), { status: 200, body: { user: 'alice', state: 'stale' } });
  await inner.revoke(token);
  t.like(await req('GET', '/who-even-stale', { cookie: token }), { status: 401, body: { error: 'login_required' } });
});

test('an app protects its own sensitive route with authenticate({ freshWithin }): one store call, 403 once the password is old', async (t) => {
  const { req, calls, token, clock } = await libraryApp(t);
  clock.advance(30_000);
  t.is((await req('POST', '/email', { cookie: token, json: {} })).status, 200);
  t.deepEqual(calls.splice(0), ['validate'], 'the freshness check rides on the one validate');
  clock.advance(31_000);
  const old = await req('POST', '/email', { cookie: token, json: {} });
  t.is(old.status, 403);
  t.is(old.body!.error, 'reauthentication_required');
  t.is((await req('POST', '/email', { json: {} })).status, 401);
});
