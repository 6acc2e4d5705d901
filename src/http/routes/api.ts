/**
 * The JSON API (README.md, "API"). Every unsafe route runs, in order: the
 * cross-site check (403 csrf), the JSON body (415 / 413 / 400), and only then the
 * session, so a refused request never costs a store round trip. Authenticated reads
 * cost exactly one: the validate of `authenticate()`. Every change to a session is the
 * SessionService's, audit event included.
 */
import Router from 'koa-router';
import type { Context } from 'koa';
import type { SessionInfo } from '../../sessions/types.js';
import type { AuthService } from '../../auth/auth-service.js';
import { type OriginPolicy, csrfProtection } from '../middleware/csrf.js';
import type { Sessions } from '../middleware/session.js';
import { deviceCookie } from '../device-cookie.js';
import { compactUserAgent } from '../../devices/user-agent.js';
import { isoTime as iso } from '../../iso-time.js';
import { body, jsonBody, sessionJson } from './api-json.js';
import { sessionRoutes } from './session-routes.js';

export interface ApiDeps {
  sessions: Sessions;
  auth: AuthService;
  origin: OriginPolicy;
}

export { sessionJson } from './api-json.js';

const userJson = (s: SessionInfo) => ({ id: s.userId, username: s.userId });

/**
 * GET /api/me's body. A frozen session is one that SESSION_CACHE hands to every request
 * it serves from memory until the session changes (a change is a new object), so its
 * answer is serialized once, not on each hit.
 */
const meBodies = new WeakMap<SessionInfo, string>();
const JSON_TYPE = 'application/json; charset=utf-8';
function meJson(s: SessionInfo): string {
  let json = meBodies.get(s);
  if (json === undefined) {
    json = JSON.stringify({ user: userJson(s), session: sessionJson(s) });
    if (Object.isFrozen(s)) meBodies.set(s, json);
  }
  return json;
}

export function apiRouter({ sessions, auth, origin }: ApiDeps): Router {
  const { service } = sessions;
  const router = new Router();
  const unsafe = [csrfProtection(origin), jsonBody];
  const signedIn = sessions.authenticate();
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
  router.get('/api/me', signedIn, (ctx) => {
    // Straight on the Node response, like the security headers: a constant needs no
    // MIME lookup, and koa then keeps it for the string body.
    ctx.res.setHeader('Content-Type', JSON_TYPE);
    ctx.body = meJson(sessions.auth(ctx).session);
  });

  sessionRoutes(router, { sessions, origin });

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
