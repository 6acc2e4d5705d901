/**
 * The server-rendered pages (docs/pages.md). Every unsafe route runs, in order: the
 * cross-site check (403), the form body (415 / 413), the session (303 to /login when
 * there is none; a stale one is refreshed), the form token (403), then the action,
 * which answers 303 (post/redirect/get). Pages carry their own CSP: scripts and styles
 * from this origin only, nothing inline.
 */
import Router from 'koa-router';
import type { Context, Middleware } from 'koa';
import { AppError, csrfRefused, notFound } from '../../errors.js';
import { type Caller, ownerOf } from '../../sessions/service.js';
import { parseHandle, parseToken } from '../../sessions/token.js';
import { loadAssets } from '../../views/assets.js';
import { CONFIRM_PATH, type ConfirmNotice, confirmPage, isConfirmNotice } from '../../views/confirm.js';
import { deviceCookie } from '../device-cookie.js';
import { safeReturnTo } from '../return-to.js';
import { homePage } from '../../views/home.js';
import { isDeviceFlash, REVOKE_OTHERS_PATH, devicesPage } from '../../views/sessions.js';
import { CSRF_FIELD } from '../form-csrf.js';
import { csrfProtection } from '../middleware/csrf.js';
import { pageAuth, pageSession, redirect303 } from '../middleware/page-session.js';
import { loginRoutes } from './pages-login.js';
import { form, formBody, type PagesDeps, sendPage } from './pages-common.js';

export { PAGE_CSP, type PagesDeps } from './pages-common.js';

/** An action that ends other sessions, waiting for the password to be confirmed. */
type Pending = { kind: 'revoke-others' } | { kind: 'revoke'; handle: string };

const pendingName = (p: Pending): string => (p.kind === 'revoke-others' ? 'revoke-others' : `revoke:${p.handle}`);

function parsePending(v: unknown): Pending | null {
  if (v === 'revoke-others') return { kind: 'revoke-others' };
  if (typeof v !== 'string' || !v.startsWith('revoke:')) return null;
  const handle = v.slice('revoke:'.length);
  return parseHandle(handle) ? { kind: 'revoke', handle } : null;
}

/** Texts for the errors a confirmation can end with; anything else is an error page. */
const CONFIRM_ERRORS: Partial<Record<AppError['code'], string>> = {
  bad_request: 'Enter your password.',
  invalid_credentials: 'Wrong password.',
  too_many_attempts: 'Too many failed attempts. Please wait a while and try again.',
};

export function pagesRouter(deps: PagesDeps): Router {
  const { sessions, csrf, auth } = deps;
  const { service } = sessions;
  const device = deviceCookie(deps.cookieSecure);
  const router = new Router();
  const unsafe = [csrfProtection(deps.origin), formBody];
  const page = pageSession({ sessions, csrf });
  const action = pageSession({ sessions, csrf }, { returnTo: () => '/account/sessions' });
  const formToken: Middleware = async (ctx, next) => {
    if (!csrf.verify(form(ctx).get(CSRF_FIELD), 'session', pageAuth(ctx).csrfBindings)) throw csrfRefused();
    await next();
  };
  const actor = (ctx: Context) => ({ by: 'user' as const, ip: ctx.state.clientIp as string });

  const assets = loadAssets();
  router.get('/assets/:name', (ctx) => {
    const a = assets.get(ctx.params.name ?? '');
    if (!a) throw notFound();
    // Public, versionless files: revalidated by ETag (the page assets after a short while).
    ctx.set('Cache-Control', a.cacheControl);
    ctx.set('ETag', a.etag);
    ctx.type = a.type;
    // ctx.fresh only compares validators on a 2xx, and koa's status is 404 until a body is set.
    ctx.status = 200;
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

  /** Ends other sessions; outside the recent-authentication window it asks for the password first. */
  const act = async (ctx: Context, pending: Pending) => {
    const a = pageAuth(ctx);
    try {
      redirect303(ctx, await perform(ctx, pending, { session: a.session, now: a.now }));
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'reauthentication_required') throw err;
      redirect303(ctx, `${CONFIRM_PATH}?action=${encodeURIComponent(pendingName(pending))}`);
    }
  };

  const perform = async (ctx: Context, pending: Pending, caller: Caller): Promise<string> => {
    if (pending.kind === 'revoke-others') {
      await service.signOutOthers(caller, actor(ctx));
      return '/account/sessions?done=revoked_others';
    }
    // Another user's handle is treated exactly like one that does not exist.
    if (!(await service.revokeOne(ownerOf(caller.session), pending.handle, actor(ctx), caller))) {
      return '/account/sessions?done=not_found';
    }
    if (pending.handle === caller.session.handle) {
      sessions.clear(ctx);
      return '/login?notice=signed_out';
    }
    return '/account/sessions?done=revoked';
  };

  router.post(REVOKE_OTHERS_PATH, ...unsafe, ...action, formToken, (ctx) => act(ctx, { kind: 'revoke-others' }));

  router.post('/account/sessions/:handle/revoke', ...unsafe, ...action, formToken, (ctx) =>
    act(ctx, { kind: 'revoke', handle: ctx.params.handle ?? '' }),
  );

  const confirm = async (
    ctx: Context,
    o: { pending: Pending | null; returnTo: string | null; error?: string; notice?: ConfirmNotice | null; offerProceed?: boolean },
    status = 200,
  ) => {
    const a = pageAuth(ctx);
    const { pending } = o;
    const what = pending?.kind === 'revoke-others' ? 'Signing out everywhere else' : pending ? 'Signing out another device' : 'This action';
    const action = pending && pendingName(pending);
    // Back here after the provider, where the session is fresh and the action one click away.
    const back = action ? `${CONFIRM_PATH}?action=${encodeURIComponent(action)}` : (o.returnTo ?? '/account/sessions');
    // Redis's validate leaves the sign-in method out of the hot path: read here when it matters.
    const method = a.session.authMethod ?? (deps.oidcName ? (await service.get(a.session.handle))?.authMethod : undefined);
    const oidc = deps.oidcName && deps.oidcReauthPath && method?.startsWith('oidc:')
      ? { name: deps.oidcName, href: `${deps.oidcReauthPath}?returnTo=${encodeURIComponent(back)}` }
      : null;
    const proceed = o.offerProceed && pending && service.isFresh(a.session, a.now)
      ? pending.kind === 'revoke-others'
        ? { path: REVOKE_OTHERS_PATH, label: 'Sign out everywhere else' }
        : { path: `/account/sessions/${encodeURIComponent(pending.handle)}/revoke`, label: 'Sign out that device' }
      : null;
    sendPage(
      ctx,
      confirmPage({ username: a.session.userId, csrf: a.csrf, action, returnTo: o.returnTo, what, error: o.error, notice: o.notice, oidc, proceed }),
      status,
    );
  };

  router.get(CONFIRM_PATH, ...page, (ctx) => {
    const notice = isConfirmNotice(ctx.query.notice) ? ctx.query.notice : null;
    return confirm(ctx, { pending: parsePending(ctx.query.action), returnTo: safeReturnTo(ctx.query.returnTo), notice, offerProceed: true });
  });

  router.post(CONFIRM_PATH, ...unsafe, ...action, formToken, async (ctx) => {
    const a = pageAuth(ctx);
    const f = form(ctx);
    const pending = parsePending(f.get('action'));
    const returnTo = safeReturnTo(f.get('returnTo'));
    let r: Awaited<ReturnType<typeof auth.reauthenticate>>;
    try {
      r = await auth.reauthenticate({
        session: a.session, token: sessions.token(ctx)!, password: f.get('password') ?? '',
        ip: ctx.state.clientIp as string, device: device.read(ctx),
      });
    } catch (err) {
      const text = err instanceof AppError ? CONFIRM_ERRORS[err.code] : undefined;
      if (!text || !(err instanceof AppError)) throw err;
      for (const [name, value] of Object.entries(err.headers)) ctx.set(name, value);
      return confirm(ctx, { pending, returnTo, error: text }, err.status);
    }
    sessions.issue(ctx, r.token, r.session, service.persistent(r.session));
    device.set(ctx, r.device);
    // The action the user asked for, now that the password is fresh.
    redirect303(ctx, pending ? await perform(ctx, pending, { session: r.session, now: r.session.authAt }) : (returnTo ?? '/account/sessions'));
  });

  router.post('/logout', ...unsafe, sessions.authenticate({ stale: 'allow', optional: true }), async (ctx) => {
    const token = sessions.token(ctx);
    const r = sessions.result(ctx);
    if (token) {
      // The form was rendered for the cookie's ID or, after a rotation, the current one.
      const bindings = [parseToken(token)!.idHash, ...(r && r.state !== 'login_required' ? [r.ref.idHash] : [])];
      if (!csrf.verify(form(ctx).get(CSRF_FIELD), 'session', bindings)) throw csrfRefused();
      await sessions.signOut(ctx);
      ctx.set('Clear-Site-Data', '"cookies"');
    }
    redirect303(ctx, '/login?notice=signed_out');
  });

  return router;
}

