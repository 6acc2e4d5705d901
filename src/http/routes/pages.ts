/**
 * The server-rendered pages of DESIGN §6. Every unsafe route runs, in order: the
 * cross-site check (403), the form body (415 / 413), the session (303 to /login when
 * there is none; a stale one is refreshed), the form token (403), then the action,
 * which answers 303 (post/redirect/get). Pages carry their own CSP: scripts and styles
 * from this origin only, nothing inline.
 */
import Router from 'koa-router';
import type { Context, Middleware } from 'koa';
import { type AppError, csrfRefused, notFound } from '../../errors.js';
import { parseHandle, parseToken } from '../../sessions/token.js';
import { loadAssets } from '../../views/assets.js';
import { errorPage } from '../../views/error.js';
import { homePage } from '../../views/home.js';
import { isDeviceFlash, REVOKE_OTHERS_PATH, devicesPage } from '../../views/sessions.js';
import type { AuthService } from '../auth-service.js';
import { CSRF_FIELD, type FormCsrf } from '../form-csrf.js';
import { type OriginPolicy, csrfProtection } from '../middleware/csrf.js';
import { pageAuth, pageSession, redirect303 } from '../middleware/page-session.js';
import type { Sessions } from '../middleware/session.js';
import { loginRoutes } from './pages-login.js';
import { form, formBody, sendPage } from './pages-common.js';

export { PAGE_CSP } from './pages-common.js';

export interface PagesDeps {
  sessions: Sessions;
  auth: AuthService;
  origin: OriginPolicy;
  csrf: FormCsrf;
  /** COOKIE_SECURE: the pre-session cookie gets `__Host-` and Secure like the session's. */
  cookieSecure: boolean;
  /** OIDC_NAME when OpenID Connect sign-in is on (the login page's button). */
  oidcName?: string | undefined;
}

export function pagesRouter(deps: PagesDeps): Router {
  const { sessions, auth, csrf } = deps;
  const { store } = sessions;
  const router = new Router();
  const unsafe = [csrfProtection(deps.origin), formBody];
  const page = pageSession({ sessions, auth, csrf });
  const action = pageSession({ sessions, auth, csrf }, { returnTo: () => '/account/sessions' });
  const formToken: Middleware = async (ctx, next) => {
    if (!csrf.verify(form(ctx).get(CSRF_FIELD), 'session', pageAuth(ctx).csrfBindings)) throw csrfRefused();
    await next();
  };
  const ip = (ctx: Context) => ctx.state.clientIp as string;

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
    const list = await store.list(a.session.tag);
    const flash = isDeviceFlash(ctx.query.done) ? ctx.query.done : null;
    sendPage(
      ctx,
      devicesPage({ username: a.session.userId, sessions: list, currentHandle: a.session.handle, now: a.now, csrf: a.csrf, flash }),
    );
  });

  router.post(REVOKE_OTHERS_PATH, ...unsafe, ...action, formToken, async (ctx) => {
    const { session: me } = pageAuth(ctx);
    const count = await store.revokeAll(me.tag, { exceptHandle: me.handle });
    await auth.event(
      { type: 'session.revoked', userId: me.userId, handle: me.handle, ip: ip(ctx), reason: 'logout_others', by: 'user', count },
      'sign out everywhere else',
    );
    redirect303(ctx, '/account/sessions?done=revoked_others');
  });

  router.post('/account/sessions/:handle/revoke', ...unsafe, ...action, formToken, async (ctx) => {
    const { session: me } = pageAuth(ctx);
    const target = parseHandle(ctx.params.handle);
    // Another user's handle is treated exactly like one that does not exist.
    if (!target || target.tag !== me.tag || !(await store.revokeHandle(target.handle))) {
      return redirect303(ctx, '/account/sessions?done=not_found');
    }
    await auth.event(
      { type: 'session.revoked', userId: me.userId, handle: target.handle, ip: ip(ctx), reason: 'kill', by: 'user' },
      'session revoked',
    );
    if (target.handle === me.handle) {
      sessions.clear(ctx);
      return redirect303(ctx, '/login?notice=signed_out');
    }
    redirect303(ctx, '/account/sessions?done=revoked');
  });

  router.post('/logout', ...unsafe, sessions.middleware, async (ctx) => {
    const token = sessions.token(ctx);
    const r = sessions.result(ctx);
    if (token) {
      // The form was rendered for the cookie's ID or, after a rotation, the current one.
      const bindings = [parseToken(token)!.idHash, ...(r && r.state !== 'login_required' ? [r.ref.idHash] : [])];
      if (!csrf.verify(form(ctx).get(CSRF_FIELD), 'session', bindings)) throw csrfRefused();
      // Stale sessions are revoked too; an unknown one is already gone (idempotent).
      if (r && r.state !== 'login_required') {
        await store.revoke(token);
        await auth.event(
          { type: 'session.revoked', userId: r.session.userId, handle: r.session.handle, ip: ip(ctx), reason: 'logout', by: 'user' },
          'logout',
        );
      }
      sessions.clear(ctx);
      ctx.set('Clear-Site-Data', '"cookies"');
    }
    redirect303(ctx, '/login?notice=signed_out');
  });

  return router;
}

/**
 * Errors on the site's own pages (and unknown paths) are HTML for a browser and JSON
 * for anything that prefers it; the JSON API and the ops endpoints always answer JSON.
 */
export function pageErrors(): Middleware {
  const API = /^\/(?:auth|api)(?:\/|$)|^\/(?:healthz|readyz|metrics)$/;
  return async function renderPageErrors(ctx, next) {
    if (!API.test(ctx.path)) ctx.state.renderError = renderPageError;
    await next();
  };
}

export function renderPageError(ctx: Context, err: AppError): void {
  if (ctx.accepts('json', 'html') !== 'html') {
    ctx.body = err.toJSON();
    return;
  }
  sendPage(ctx, errorPage({ status: err.status, message: err.expose ? err.message : undefined }), err.status);
}
