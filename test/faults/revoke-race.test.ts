/**
 * Revocation finality at the HTTP level (no record is ever recreated): a slow request that
 * changes session data races a logout. Afterwards the record is absent, the cookie gets
 * 401, no write touched the record after its DEL (MONITOR), and the slow response sets
 * no cookie carrying the revoked ID. Repeated with the order forced both ways, with
 * jitter, and with `CLIENT PAUSE … WRITE` spanning the race.
 *
 * The product has no slow data-writing route, so the test mounts one on the real app
 * (createApp, the same middleware a library user mounts): it validates, waits on a gate
 * the test controls, then changes ctx.session, which koa-session commits through the
 * store's conditional updateData.
 */
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import test from 'ava';
import type { Middleware } from 'koa';
import type { Redis } from 'ioredis';
import { createApp } from '../../src/app.js';
import { loadConfig, policyFromConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { newTag, parseToken } from '../../src/sessions/token.js';
import { createRedisConnection, waitForReady } from '../../src/store/connection.js';
import { keySpace } from '../../src/store/keys.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { RedisThrottle } from '../../src/throttle/redis-throttle.js';
import { RedisUserStore } from '../../src/users/redis-user-store.js';
import { type Request, client } from '../helpers/http.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { keysUnder, sleep } from './helpers.js';

let redis: RedisProcess;
let direct: Redis;

interface RaceApp {
  url: string;
  prefix: string;
  store: RedisStore;
  req: Request;
  /** Resolves the gate of the slow request that is waiting on it. */
  release(): void;
  /** Resolves once a slow request has validated and is waiting on the gate. */
  parked(): Promise<void>;
  close(): Promise<void>;
}

let apps = 0;
async function raceApp(commandTimeout: string): Promise<RaceApp> {
  const config = loadConfig({ PORT: '0', LOG_LEVEL: 'warn', REDIS_COMMAND_TIMEOUT: commandTimeout, SESSION_TOUCH_INTERVAL: '0' });
  const prefix = `race${++apps}:`;
  const conn = createRedisConnection({ url: redis.url, commandTimeoutMs: config.redisCommandTimeoutMs });
  await waitForReady(conn);
  const store = new RedisStore({ client: conn, policy: policyFromConfig(config), keys: keySpace(prefix) });
  const limits = { maxFailuresPerUserIp: 10, maxFailuresPerIp: 100, windowMs: 60_000 };
  const log = createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const handle = createApp({
    config, store, log,
    users: new RedisUserStore(conn, { keyPrefix: prefix }),
    throttle: new RedisThrottle(conn, limits, { keyPrefix: prefix }),
  });
  let gate: (() => void) | undefined;
  let onParked: (() => void) | undefined;
  const slow: Middleware = (ctx, next) => {
    if (ctx.path !== '/test/slow-write') return next();
    return handle.sessions.middleware(ctx, () =>
      handle.sessions.authenticate()(ctx, async () => {
        await new Promise<void>((r) => { gate = r; onParked?.(); });
        const s = ctx.session as unknown as Record<string, unknown>;
        s.cart = ['a', 'b', String(Math.random())];
        ctx.body = { ok: true };
      }),
    );
  };
  // Before the 404/405 fallthrough, after the product's routes.
  handle.app.middleware.splice(handle.app.middleware.length - 1, 0, slow);
  const server: Server = handle.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const addr = server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return {
    url, prefix, store, req: client(url),
    release: () => gate?.(),
    parked: () => new Promise<void>((r) => { onParked = r; }),
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await store.close();
    },
  };
}

test.before(async () => {
  redis = await startRedis();
  direct = redis.client();
});
test.after.always(async () => {
  await redis?.stop();
});

/** One race; `order` decides whether the logout or the data write reaches Redis first. */
async function race(app: RaceApp, order: 'logout-first' | 'write-first' | 'jitter') {
  const tag = newTag();
  const issued = await app.store.create({ userId: `u-${tag}`, tag });
  if (!issued) throw new Error('create refused');
  const token = issued.token;
  const parked = app.parked();
  const slowReply = app.req('GET', '/test/slow-write', { cookie: token });
  await parked;
  let logout: Promise<Awaited<ReturnType<Request>>>;
  if (order === 'logout-first') {
    logout = app.req('POST', '/auth/logout', { cookie: token });
    await logout;
    app.release();
  } else if (order === 'write-first') {
    app.release();
    await sleep(5);
    logout = app.req('POST', '/auth/logout', { cookie: token });
  } else {
    const d = Math.floor(Math.random() * 6);
    setTimeout(() => app.release(), d);
    await sleep(Math.floor(Math.random() * 6));
    logout = app.req('POST', '/auth/logout', { cookie: token });
  }
  const [slow, out] = await Promise.all([slowReply, logout]);
  const keys = await keysUnder(direct, `${app.prefix}{${tag}}:s:`);
  const after = await app.req('GET', '/api/me', { cookie: token });
  return { token, tag, slow, out, keys, after };
}

test.serial('a slow data write racing a logout never brings the session back (forced orders, jitter), and MONITOR shows no write after the DEL', async (t) => {
  const app = await raceApp('500ms');
  const monitor = await direct.monitor();
  const log: string[][] = [];
  monitor.on('monitor', (_time: string, args: string[]) => log.push(args));
  const runs = [
    ...Array.from({ length: 15 }, () => 'logout-first' as const),
    ...Array.from({ length: 15 }, () => 'write-first' as const),
    ...Array.from({ length: 40 }, () => 'jitter' as const),
  ];
  const results = [];
  for (const order of runs) results.push({ order, ...(await race(app, order)) });
  await sleep(100);
  monitor.disconnect();
  await app.close();

  for (const r of results) {
    t.is(r.out.status, 204, `${r.order}: logout acknowledged`);
    t.deepEqual(r.keys, [], `${r.order}: no session record left`);
    t.is(r.after.status, 401, `${r.order}: the cookie is refused`);
    t.is(r.after.body?.error, 'login_required');
    t.true([200, 401].includes(r.slow.status), `${r.order}: slow request → ${r.slow.status}`);
    t.false(r.slow.setCookies.some((c) => c.startsWith(`sid=${r.token}`)), `${r.order}: no Set-Cookie re-sets the revoked ID`);
    // No write to the record after the command that deleted it.
    const sessionKey = (k: string | undefined) => k?.startsWith(`${app.prefix}{${r.tag}}:s:`);
    const touching = log.filter((a) => sessionKey(a[1]));
    const del = touching.findIndex((a) => /^(del|unlink)$/i.test(a[0]!));
    t.true(del >= 0, `${r.order}: the DEL was seen`);
    const writesAfter = touching.slice(del + 1).filter((a) => /^(hset|hsetnx|hmset|set|pexpire|expire|hdel|restore)$/i.test(a[0]!));
    t.deepEqual(writesAfter, [], `${r.order}: nothing written after the DEL`);
    if (r.order === 'logout-first') {
      // Proof the race was real: the data write did reach Redis, after the DEL.
      const key = `${app.prefix}{${r.tag}}:s:${parseToken(r.token)!.idHash}`;
      const all = log.map((a) => a.join(' '));
      const delAt = all.findIndex((l) => /^del /i.test(l) && l.includes(key));
      const lateWrite = all.findIndex((l, i) => i > delAt && /^eval(sha)? /i.test(l) && l.includes(key) && l.includes('cart'));
      t.true(lateWrite > delAt, 'the conditional data write arrived after the DEL');
    }
  }
  t.log(`${results.length} races; slow replies: ${results.filter((r) => r.slow.status === 200).length}×200, ${results.filter((r) => r.slow.status === 401).length}×401`);
});

test.serial('the same race with CLIENT PAUSE WRITE spanning it: the queued data write cannot resurrect the record', async (t) => {
  // A command timeout longer than the pause, so the logout is acknowledged, late.
  const app = await raceApp('3s');
  for (let i = 0; i < 6; i++) {
    const tag = newTag();
    const issued = await app.store.create({ userId: `u-${tag}`, tag });
    if (!issued) throw new Error('create refused');
    const parked = app.parked();
    const slowReply = app.req('GET', '/test/slow-write', { cookie: issued.token });
    await parked;
    await direct.call('CLIENT', 'PAUSE', '600', 'WRITE');
    let slow: Awaited<ReturnType<Request>>;
    let out: Awaited<ReturnType<Request>>;
    if (i % 2 === 0) {
      const logout = app.req('POST', '/auth/logout', { cookie: issued.token });
      await sleep(50);
      app.release();
      [slow, out] = await Promise.all([slowReply, logout]);
    } else {
      app.release();
      await sleep(50);
      [slow, out] = await Promise.all([slowReply, app.req('POST', '/auth/logout', { cookie: issued.token })]);
    }
    t.is(out.status, 204);
    t.false(slow.setCookies.some((c) => c.startsWith(`sid=${issued.token}`)));
    t.deepEqual(await keysUnder(direct, `${app.prefix}{${tag}}:s:`), []);
    t.is((await app.req('GET', '/api/me', { cookie: issued.token })).status, 401);
  }
  await app.close();
});
