/**
 * The JSON routes of a session's own lifecycle, whoever signed the user in (this
 * server's password login, a provider, or an app's own users through the library):
 * refresh, logout, logout everywhere, the list of one's sessions and ending one of them.
 * Every unsafe route runs the cross-site check and the JSON body before the session.
 */
import type Router from 'koa-router';
import type { Context } from 'koa';
import { deviceProofRequired, loginRequired, notFound } from '../../errors.js';
import { ownerOf } from '../../sessions/service.js';
import { type OriginPolicy, csrfProtection } from '../middleware/csrf.js';
import type { Sessions } from '../middleware/session.js';
import { jsonBody, sessionJson } from './api-json.js';
import { bindingRoutes } from './binding-routes.js';

export interface SessionRoutesDeps {
  sessions: Sessions;
  origin: OriginPolicy;
}

export function sessionRoutes(router: Router, { sessions, origin }: SessionRoutesDeps): void {
  const { service } = sessions;
  const unsafe = [csrfProtection(origin), jsonBody];
  const signedIn = sessions.authenticate();
  const actor = (ctx: Context) => ({ by: 'user' as const, ip: ctx.state.clientIp as string });

  if (sessions.binding) bindingRoutes(router, sessions, sessions.binding);

  router.post('/auth/refresh', ...unsafe, async (ctx) => {
    const token = sessions.token(ctx);
    const r = token ? await service.refresh(token, actor(ctx), sessions.rotation) : undefined;
    // A bound session past its proof is renewed by its device's signature only (invariant
    // 11); its cookie stays, for the device to renew it.
    if (r?.ok === false && r.reason === 'unproven') throw deviceProofRequired();
    if (!r?.ok) {
      sessions.clear(ctx);
      throw loginRequired(403, 'The session cannot be refreshed; please sign in.');
    }
    sessions.issue(ctx, r.token, r.session, service.persistent(r.session));
    ctx.body = { session: sessionJson(r.session) };
  });

  router.post('/auth/logout', ...unsafe, async (ctx) => {
    await sessions.signOut(ctx);
    ctx.set('Clear-Site-Data', '"cookies"');
    ctx.status = 204;
  });

  router.post('/auth/logout-all', ...unsafe, sessions.authenticate({ stale: 'allow' }), async (ctx) => {
    const { session: s } = sessions.auth(ctx);
    await service.revokeAll(ownerOf(s), 'logout_all', actor(ctx), { caller: s.handle });
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
    if (!(await service.revokeOne(ownerOf(me), ctx.params.handle ?? '', actor(ctx), { session: me, now }))) {
      throw notFound('No such session among yours.');
    }
    if (ctx.params.handle === me.handle) sessions.clear(ctx);
    ctx.status = 204;
  });
}
