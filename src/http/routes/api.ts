/**
 * The JSON API (docs/design.md, "HTTP API"). Every unsafe route runs, in order: the
 * cross-site check (403 csrf), the JSON body (415 / 413 / 400), and only then the
 * session, so a refused request never costs a store round trip. Authenticated reads
 * cost exactly one: the validate of `authenticate()`. Every change to a session is the
 * SessionService's, audit event included.
 */
import Router from 'koa-router';
import type { Context, Middleware } from 'koa';
import { loginRequired, notFound } from '../../errors.js';
import type { SessionInfo } from '../../sessions/types.js';
import type { AuthService } from '../../auth/auth-service.js';
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
  authenticatedAt: iso(s.authAt),
  refreshable: s.refreshable,
});

const userJson = (s: SessionInfo) => ({ id: s.userId, username: s.userId });

const body = (ctx: Context): Record<string, unknown> => ctx.state.body as Record<string, unknown>;
const jsonBody: Middleware = async (ctx, next) => {
  ctx.state.body = await readJsonBody(ctx);
  await next();
};

export function apiRouter({ sessions, auth, origin }: ApiDeps): Router {
  const { service } = sessions;
  const router = new Router();
  const unsafe = [csrfProtection(origin), jsonBody];
  const signedIn = sessions.authenticate();
  const ip = (ctx: Context) => ctx.state.clientIp as string;
  const actor = (ctx: Context) => ({ by: 'user' as const, ip: ip(ctx) });
  const owner = (s: SessionInfo) => ({ tag: s.tag, userId: s.userId, username: s.userId });
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
    const r = token ? await service.refresh(token, actor(ctx)) : undefined;
    if (!r?.ok) {
      sessions.clear(ctx);
      throw loginRequired(403, 'The session cannot be refreshed; please sign in.');
    }
    sessions.issue(ctx, r.token, r.session, service.persistent(r.session));
    ctx.body = { session: sessionJson(r.session) };
  });

  // Stale sessions are revoked too; an unknown one is already gone (idempotent).
  router.post('/auth/logout', ...unsafe, sessions.authenticate({ stale: 'allow', optional: true }), async (ctx) => {
    const r = sessions.result(ctx);
    if (r && r.state !== 'login_required') await service.logout(sessions.token(ctx), r.session, actor(ctx));
    sessions.clear(ctx);
    ctx.set('Clear-Site-Data', '"cookies"');
    ctx.status = 204;
  });

  router.post('/auth/logout-all', ...unsafe, sessions.authenticate({ stale: 'allow' }), async (ctx) => {
    const { session: s } = sessions.auth(ctx);
    await service.revokeAll(owner(s), 'logout_all', actor(ctx), { caller: s.handle });
    sessions.clear(ctx);
    ctx.set('Clear-Site-Data', '"cookies"');
    ctx.status = 204;
  });

  router.get('/auth/sessions', signedIn, async (ctx) => {
    const { session: me } = sessions.auth(ctx);
    const list = await service.list(me.tag);
    ctx.body = {
      sessions: list.map((s) => ({ ...sessionJson(s), ip: s.ip, userAgent: s.userAgent, current: s.handle === me.handle })),
    };
  });

  // Ending another session needs a recent password (403 reauthentication_required);
  // ending one's own does not.
  router.delete('/auth/sessions/:handle', ...unsafe, signedIn, async (ctx) => {
    const { session: me, now } = sessions.auth(ctx);
    if (!(await service.revokeOne(owner(me), ctx.params.handle ?? '', actor(ctx), { session: me, now }))) {
      throw notFound('No such session among yours.');
    }
    if (ctx.params.handle === me.handle) sessions.clear(ctx);
    ctx.status = 204;
  });

  router.post('/auth/reauthenticate', ...unsafe, sessions.authenticate({ stale: 'allow' }), async (ctx) => {
    const { session: s, token } = sessions.auth(ctx);
    const r = await auth.reauthenticate({ session: s, token, password: body(ctx).password, ip: ip(ctx), device: device.read(ctx) });
    sessions.issue(ctx, r.token, r.session, service.persistent(r.session));
    device.set(ctx, r.device);
    ctx.body = { session: sessionJson(r.session) };
  });

  router.post('/auth/password', ...unsafe, signedIn, async (ctx) => {
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
    sessions.issue(ctx, rotated.token, rotated.session, service.persistent(rotated.session));
    ctx.status = 204;
  });

  return router;
}
