/**
 * The JSON API of DESIGN §5. Every unsafe route runs, in order: the cross-site check
 * (403 csrf), the JSON body (415 / 413 / 400), and only then the session, so a refused
 * request never costs a store round trip. Authenticated reads cost exactly one: the
 * validate inside the session middleware.
 */
import Router from 'koa-router';
import type { Context, Middleware } from 'koa';
import { loginRequired, notFound } from '../../errors.js';
import { parseHandle } from '../../sessions/token.js';
import type { SessionInfo } from '../../sessions/types.js';
import type { AuthService } from '../auth-service.js';
import { readJsonBody } from '../body.js';
import { type OriginPolicy, csrfProtection } from '../middleware/csrf.js';
import type { Sessions } from '../middleware/session.js';
import { deviceCookie } from '../device-cookie.js';
import { compactUserAgent } from '../user-agent.js';
import { isoTime as iso } from '../../iso-time.js';

export interface ApiDeps {
  sessions: Sessions;
  auth: AuthService;
  origin: OriginPolicy;
}

export const sessionJson = (s: SessionInfo) => ({
  handle: s.handle,
  createdAt: iso(s.createdAt),
  lastActiveAt: iso(s.lastActiveAt),
  idleExpiresAt: iso(s.idleExpiresAt),
  absoluteExpiresAt: iso(s.absoluteExpiresAt),
  refreshable: s.refreshable,
});

const userJson = (s: SessionInfo) => ({ id: s.userId, username: s.userId });

const body = (ctx: Context): Record<string, unknown> => ctx.state.body as Record<string, unknown>;
const jsonBody: Middleware = async (ctx, next) => {
  ctx.state.body = await readJsonBody(ctx);
  await next();
};

export function apiRouter({ sessions, auth, origin }: ApiDeps): Router {
  const { store } = sessions;
  const router = new Router();
  const unsafe = [csrfProtection(origin), jsonBody];
  const session = sessions.middleware;
  // A rotated cookie keeps Expires when the session is a `remember` one. Without
  // SESSION_REFRESH every session is unrefreshable, so `remember` is not recorded:
  // the cookie then keeps the absolute deadline.
  const persistent = (s: SessionInfo) => s.refreshable || !store.policy.refreshEnabled;
  const ip = (ctx: Context) => ctx.state.clientIp as string;
  const device = deviceCookie(origin.secure);

  router.post('/auth/login', ...unsafe, async (ctx) => {
    const b = body(ctx);
    const { user, issued, remember, device: next } = await auth.login({
      username: b.username,
      password: b.password,
      remember: b.remember,
      ip: ip(ctx),
      userAgent: compactUserAgent(ctx.get('User-Agent')),
      previousToken: sessions.token(ctx),
      device: device.read(ctx),
    });
    sessions.issue(ctx, issued.token, issued.session, remember);
    device.set(ctx, next);
    ctx.body = {
      user: { id: user.id, username: user.username },
      session: {
        handle: issued.session.handle,
        idleExpiresAt: iso(issued.session.idleExpiresAt),
        absoluteExpiresAt: iso(issued.session.absoluteExpiresAt),
      },
    };
  });

  // The hot path: cookie → one validate (or a cache hit) → handler; no ctx.session.
  router.get('/api/me', sessions.authenticate(), (ctx) => {
    const { session: s } = sessions.auth(ctx);
    ctx.body = { user: userJson(s), session: sessionJson(s) };
  });

  router.post('/auth/refresh', ...unsafe, async (ctx) => {
    const token = sessions.token(ctx);
    const r = token ? await store.refresh(token) : undefined;
    if (!r?.ok) {
      sessions.clear(ctx);
      if (r?.reason === 'replay') {
        await auth.event({ type: 'session.reuse_detected', handle: r.handle, ip: ip(ctx), reason: 'replay', by: 'system' }, 'rotated-away session ID replayed: session revoked');
      }
      throw loginRequired(403, 'The session cannot be refreshed; please sign in.');
    }
    sessions.issue(ctx, r.token, r.session, persistent(r.session));
    await auth.event({ type: 'session.refreshed', userId: r.session.userId, handle: r.session.handle, ip: ip(ctx) }, 'session refreshed');
    ctx.body = { session: sessionJson(r.session) };
  });

  router.post('/auth/logout', ...unsafe, session, async (ctx) => {
    const token = sessions.token(ctx);
    const r = sessions.result(ctx);
    // Stale sessions are revoked too; an unknown one is already gone (idempotent).
    if (token && r && r.state !== 'login_required') {
      await store.revoke(token);
      await auth.event({ type: 'session.revoked', userId: r.session.userId, handle: r.session.handle, ip: ip(ctx), reason: 'logout', by: 'user' }, 'logout');
    }
    sessions.clear(ctx);
    ctx.set('Clear-Site-Data', '"cookies"');
    ctx.status = 204;
  });

  router.post('/auth/logout-all', ...unsafe, session, sessions.require({ allowStale: true }), async (ctx) => {
    const { session: s } = sessions.auth(ctx);
    const count = await store.revokeAll(s.tag);
    await auth.event({ type: 'session.revoked', userId: s.userId, handle: s.handle, ip: ip(ctx), reason: 'logout_all', by: 'user', count }, 'logout everywhere');
    sessions.clear(ctx);
    ctx.set('Clear-Site-Data', '"cookies"');
    ctx.status = 204;
  });

  router.get('/auth/sessions', session, sessions.require(), async (ctx) => {
    const { session: me } = sessions.auth(ctx);
    const list = await store.list(me.tag);
    ctx.body = {
      sessions: list.map((s) => ({ ...sessionJson(s), ip: s.ip, userAgent: s.userAgent, current: s.handle === me.handle })),
    };
  });

  router.delete('/auth/sessions/:handle', ...unsafe, session, sessions.require(), async (ctx) => {
    const { session: me } = sessions.auth(ctx);
    const target = parseHandle(ctx.params.handle);
    // Another user's handle answers exactly like a handle that does not exist.
    if (!target || target.tag !== me.tag || !(await store.revokeHandle(target.handle))) {
      throw notFound('No such session among yours.');
    }
    await auth.event({ type: 'session.revoked', userId: me.userId, handle: target.handle, ip: ip(ctx), reason: 'kill', by: 'user' }, 'session revoked');
    if (target.handle === me.handle) sessions.clear(ctx);
    ctx.status = 204;
  });

  router.post('/auth/password', ...unsafe, session, sessions.require(), async (ctx) => {
    const { session: s, token } = sessions.auth(ctx);
    const b = body(ctx);
    const rotated = await auth.changePassword({
      session: s,
      token,
      currentPassword: b.currentPassword,
      newPassword: b.newPassword,
      ip: ip(ctx),
      device: device.read(ctx),
    });
    sessions.issue(ctx, rotated.token, rotated.session, persistent(rotated.session));
    ctx.status = 204;
  });

  return router;
}
