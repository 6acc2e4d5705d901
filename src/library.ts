/**
 * The package mounted in a few lines: sessions for an app that keeps its own users.
 *
 *   const sessions = slidingSessions(app, { redis: process.env.REDIS_URL });
 *   app.use(sessions.errors());
 *   app.use(sessions.routes());              // refresh, logout, logout-all, your sessions
 *   router.post('/login', async (ctx) => {   // the app checks the password itself
 *     await sessions.signIn(ctx, user.id);
 *   });
 *   router.get('/me', sessions.require(), (ctx) => { ctx.body = sessions.current(ctx).session; });
 *
 * Settings come from the server's own schema (environment names: SESSION_IDLE_TIMEOUT,
 * SESSION_REAUTH_WINDOW, COOKIE_SECURE, …), so one configuration reads the same
 * everywhere. The lower-level exports (createSessions, SessionService, the stores)
 * stay for apps that need to assemble the pieces themselves.
 */
import { randomBytes } from 'node:crypto';
import type Koa from 'koa';
import type { Context, Middleware } from 'koa';
import Router from 'koa-router';
import { observedAudit } from './audit/observed.js';
import { RedisAuditLog } from './store/redis-audit.js';
import type { AuditLog } from './audit/types.js';
import { type Config, type Env, loadConfig, policyFromConfig } from './config.js';
import { csrfRefused, loginRequired } from './errors.js';
import { clientIp } from './http/client-ip.js';
import { cookieSettings } from './http/cookies.js';
import { isSameOriginRequest } from './http/middleware/csrf.js';
import { errorHandler } from './http/middleware/error-handler.js';
import { type Authenticated, type AuthenticateOptions, type Sessions, SessionRequired, createSessions } from './http/middleware/session.js';
import { sessionRoutes } from './http/routes/session-routes.js';
import { deviceBindingFor } from './http/device-binding.js';
import { sharedFormKey } from './store/form-key.js';
import { type Logger, createLogger } from './log.js';
import { SessionService } from './sessions/service.js';
import type { SessionInfo, SessionStore } from './sessions/types.js';
import { checkRedis, waitReady } from './store/checks.js';
import { type RedisClient, createRedisConnection } from './store/connection.js';
import { keySpace } from './store/keys.js';
import { MemoryStore } from './store/memory-store.js';
import { redisSessionStore } from './store/stack.js';
import { MemoryUserTags, RedisUserTags, type UserTags } from './users/user-tags.js';

export interface SlidingSessionsOptions {
  /**
   * `redis://` / `rediss://` URL or an ioredis client; unset (or undefined, so that
   * `{ redis: process.env.REDIS_URL }` reads naturally): the embedded store, one process only.
   */
  redis?: string | RedisClient | undefined;
  /** Settings by their environment names, read by the server's schema, over process.env. */
  env?: Env;
  log?: Logger;
  /** Default: with Redis, the audit stream the admin CLI reads (`admin events`); else none. */
  audit?: AuditLog;
}

export interface SlidingSessions<Data extends Record<string, unknown> = Record<string, unknown>> {
  readonly config: Readonly<Config>;
  /**
   * Resolves once the store answers and is safe to keep sessions in; rejects naming the
   * setting otherwise (an evicting maxmemory-policy without REDIS_ALLOW_EVICTION, a
   * database index Redis refused). Await it before listening, as the server does.
   */
  ready(): Promise<void>;
  readonly service: SessionService;
  /** The session layer underneath (authenticate, issue, clear, the ctx.session adapter). */
  readonly sessions: Sessions;
  /** 401 unless the request carries a usable session (options as `authenticate()`). */
  require(opts?: AuthenticateOptions): Middleware;
  /** JSON routes of the session's own lifecycle: POST /auth/refresh, /auth/logout, /auth/logout-all, GET /auth/sessions, DELETE /auth/sessions/:handle. */
  routes(): Middleware;
  /** Errors as `{"error","message"}` with their status and headers (Retry-After, …). */
  errors(): Middleware;
  /** koa-session's `ctx.session` over the store, for routes that keep app data in the session. */
  data(): Middleware;
  /** The session's app data, typed (after `data()`); null without a session. */
  session(ctx: Context): Partial<Data> | null;
  /** The caller's session after `require()`. */
  current(ctx: Context): Authenticated;
  /** Starts a session for a user the app has authenticated (fresh ID; a cookie the browser had ends). */
  signIn(ctx: Context, userId: string, opts?: { remember?: boolean }): Promise<SessionInfo>;
  /** Ends the caller's session and clears the cookie (idempotent). */
  signOut(ctx: Context): Promise<void>;
  /** Ends every session of a user (after the app changed their password, or deleted them). */
  signOutEverywhere(userId: string): Promise<number>;
  /** The app checked the password again: rotate the caller's session and renew its third clock. */
  reauthenticated(ctx: Context): Promise<SessionInfo>;
  close(): Promise<void>;
}

export function slidingSessions<Data extends Record<string, unknown> = Record<string, unknown>>(
  app: Koa,
  opts: SlidingSessionsOptions = {},
): SlidingSessions<Data> {
  // Overrides merge over the environment: NODE_ENV=production must still make cookies Secure.
  const config = loadConfig({ ...process.env, ...opts.env }, undefined, { redisGiven: opts.redis !== undefined });
  const log = opts.log ?? createLogger({ level: config.logLevel });
  const keys = keySpace(config.keyPrefix);
  let store: SessionStore;
  let tags: UserTags;
  let client: RedisClient | undefined;
  if (opts.redis === undefined) {
    store = new MemoryStore({ policy: policyFromConfig(config) });
    tags = new MemoryUserTags();
  } else {
    client = typeof opts.redis === 'string'
      ? createRedisConnection({ url: opts.redis, commandTimeoutMs: config.redisCommandTimeoutMs, onError: (err) => log.warn({ event: 'redis.error', err: err.message }, 'redis connection error') })
      : opts.redis;
    store = redisSessionStore({ client, keys, config, ownsClient: typeof opts.redis === 'string' });
    tags = new RedisUserTags(client, keys, config.redisRetryBudgetMs);
  }
  const audit = opts.audit ?? (client
    ? observedAudit(new RedisAuditLog(client, { keys }), (err, e) => log.warn({ err, event: e.type }, 'audit append failed'))
    : undefined);
  const service = new SessionService({ store, log, ...(audit ? { audit } : {}), reauthWindowMs: config.reauthWindowMs });
  // DBSC challenges are MACed with the form key shared through Redis (read at ready()),
  // so a challenge one node offers verifies on the others; until then, this node's own.
  let bindingKey: Buffer = config.formCsrfKey === undefined ? randomBytes(32) : Buffer.from(config.formCsrfKey);
  const cookie = cookieSettings(config.cookieSecure);
  const binding = deviceBindingFor(config, cookie.name, () => bindingKey);
  const sessions = createSessions(app, { service, cookie, ...(binding ? { binding } : {}) });
  const origin = { publicOrigin: config.publicOrigin, secure: config.cookieSecure };

  const ip = (ctx: Context): string => {
    ctx.state.clientIp ??= clientIp(ctx.req, config.trustProxy);
    return ctx.state.clientIp as string;
  };
  const withIp: Middleware = (ctx, next) => {
    ip(ctx);
    return next();
  };
  const actor = (ctx: Context) => ({ by: 'user' as const, ip: ip(ctx) });
  const render = errorHandler(log);
  const router = new Router();
  sessionRoutes(router, { sessions, origin });
  const routes = router.routes();

  return {
    config,
    service,
    sessions,
    async ready() {
      if (client) {
        await waitReady(client, 10_000);
        await checkRedis(client, { allowEviction: config.redisAllowEviction, log });
        if (binding && config.formCsrfKey === undefined) bindingKey = await sharedFormKey(client, keys);
      }
      await store.ping();
    },
    require: (o) => {
      const auth = sessions.authenticate(o);
      // Its refusal is rendered here as JSON, so an app that forgot errors() still gives
      // the session client an error code to act on; the app's own errors pass through.
      const refuse = (ctx: Context) => render(ctx, () => Promise.reject(ctx.state.refusal));
      return (ctx, next) => withIp(ctx, async () => {
        try {
          await auth(ctx, next);
        } catch (err) {
          if (!(err instanceof SessionRequired)) throw err;
          ctx.state.refusal = err;
          await refuse(ctx);
        }
      });
    },
    routes: () => (ctx, next) => withIp(ctx, () => routes(ctx as Parameters<typeof routes>[0], next)),
    errors: () => errorHandler(log),
    data: () => sessions.middleware,
    session: (ctx) => ctx.session as Partial<Data> | null,
    current: (ctx) => sessions.auth(ctx),
    async signIn(ctx, userId, o = {}) {
      // Login CSRF: a cross-site form must not sign the browser in as someone else.
      if (!isSameOriginRequest(ctx, origin)) throw csrfRefused();
      ip(ctx);
      const tag = await tags.tagFor(userId);
      const issued = await sessions.signIn(ctx, { id: userId, tag }, { method: 'app', remember: o.remember ?? true });
      // Only a revoke-all of this very user landing between the epoch read and the create.
      if (!issued) throw loginRequired(401, 'Your sessions were just revoked; please sign in again.');
      return issued.session;
    },
    async signOut(ctx) {
      ip(ctx);
      await sessions.signOut(ctx);
    },
    async signOutEverywhere(userId) {
      const tag = await tags.find(userId);
      if (!tag) return 0;
      return service.revokeAll({ tag, userId }, 'logout_all', { by: 'system' });
    },
    async reauthenticated(ctx) {
      const { token } = sessions.auth(ctx);
      const r = await service.reauthenticated(token, actor(ctx));
      if (!r.ok) throw loginRequired(401);
      sessions.issue(ctx, r.token, r.session, service.persistent(r.session));
      return r.session;
    },
    async close() {
      await store.close();
    },
  };
}
