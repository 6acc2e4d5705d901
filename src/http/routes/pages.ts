/**
 * The server-rendered pages (docs/pages.md). Every unsafe route runs, in order: the
 * cross-site check (403), the form body (415 / 413), the session (303 to /login when
 * there is none; a stale one is refreshed), the form token (403), then the action,
 * which answers 303 (post/redirect/get). Pages carry their own CSP: scripts and styles
 * from this origin only, nothing inline.
 */
import Router from 'koa-router';
import type { Context, Middleware } from 'koa';
import { csrfRefused, notFound } from '../../errors.js';
import { parseToken } from '../../sessions/token.js';
import type { SessionInfo } from '../../sessions/types.js';
import { loadAssets } from '../../views/assets.js';
import { homePage } from '../../views/home.js';
import { isDeviceFlash, REVOKE_OTHERS_PATH, devicesPage } from '../../views/sessions.js';
import { CSRF_FIELD } from '../form-csrf.js';
import { csrfProtection } from '../middleware/csrf.js';
import { pageAuth, pageSession, redirect303 } from '../middleware/page-session.js';
import { loginRoutes } from './pages-login.js';
import { form, formBody, type PagesDeps, sendPage } from './pages-common.js';

export { PAGE_CSP, type PagesDeps } from './pages-common.js';

export function pagesRouter(deps: PagesDeps): Router {
  const { sessions, csrf } = deps;
  const { service } = sessions;
  const router = new Router();
  const unsafe = [csrfProtection(deps.origin), formBody];
  const page = pageSession({ sessions, csrf });
  const action = pageSession({ sessions, csrf }, { returnTo: () => '/account/sessions' });
  const formToken: Middleware = async (ctx, next) => {
    if (!csrf.verify(form(ctx).get(CSRF_FIELD), 'session', pageAuth(ctx).csrfBindings)) throw csrfRefused();
    await next();
  };
  const actor = (ctx: Context) => ({ by: 'user' as const, ip: ctx.state.clientIp as string });
  const owner = (s: SessionInfo) => ({ tag: s.tag, userId: s.userId, username: s.userId });

  const assets = loadAssets();
  router.get('/assets/:name', (ctx) => {
    const a = assets.get(ctx.params.name ?? '');
    if (!a) throw notFound();
    // Public, versionless files: cached briefly and revalidated by ETag.
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.set('ETag', a.etag);
    ctx.type = a.type;
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    ctx.body = a.body;
  });

  loginRoutes(router, { ...deps, unsafe });

  router.get('/', ...page, (ctx) => {
    const a = pageAuth(ctx);
    sendPage(ctx, homePage({ username: a.session.userId, session: a.session, now: a.now, csrf: a.csrf, refreshed: a.refreshed }));
  });

  router.get('/account/sessions', ...page, async (ctx) => {
    const a = pageAuth(ctx);
    const list = await service.list(a.session.tag);
    const flash = isDeviceFlash(ctx.query.done) ? ctx.query.done : null;
    sendPage(
      ctx,
      devicesPage({ username: a.session.userId, sessions: list, currentHandle: a.session.handle, now: a.now, csrf: a.csrf, flash }),
    );
  });

  router.post(REVOKE_OTHERS_PATH, ...unsafe, ...action, formToken, async (ctx) => {
    const { session: me } = pageAuth(ctx);
    await service.revokeAll(owner(me), 'logout_others', actor(ctx), { exceptHandle: me.handle });
    redirect303(ctx, '/account/sessions?done=revoked_others');
  });

  router.post('/account/sessions/:handle/revoke', ...unsafe, ...action, formToken, async (ctx) => {
    const { session: me } = pageAuth(ctx);
    // Another user's handle is treated exactly like one that does not exist.
    if (!(await service.revokeOne(owner(me), ctx.params.handle ?? '', actor(ctx)))) {
      return redirect303(ctx, '/account/sessions?done=not_found');
    }
    if (ctx.params.handle === me.handle) {
      sessions.clear(ctx);
      return redirect303(ctx, '/login?notice=signed_out');
    }
    redirect303(ctx, '/account/sessions?done=revoked');
  });

  router.post('/logout', ...unsafe, sessions.authenticate({ stale: 'allow', optional: true }), async (ctx) => {
    const token = sessions.token(ctx);
    const r = sessions.result(ctx);
    if (token) {
      // The form was rendered for the cookie's ID or, after a rotation, the current one.
      const bindings = [parseToken(token)!.idHash, ...(r && r.state !== 'login_required' ? [r.ref.idHash] : [])];
      if (!csrf.verify(form(ctx).get(CSRF_FIELD), 'session', bindings)) throw csrfRefused();
      // Stale sessions are revoked too; an unknown one is already gone (idempotent).
      if (r && r.state !== 'login_required') await service.logout(token, r.session, actor(ctx));
      sessions.clear(ctx);
      ctx.set('Clear-Site-Data', '"cookies"');
    }
    redirect303(ctx, '/login?notice=signed_out');
  });

  return router;
}

