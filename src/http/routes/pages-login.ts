/**
 * GET/POST /login. The form's CSRF token is bound to a random pre-session cookie
 * (login CSRF); that cookie is cleared at sign-in and never becomes the
 * session, whose ID is always fresh. Sign-in itself is the JSON login's AuthService:
 * the same throttle, timing equalisation and fixation defence. A failed attempt
 * re-renders the form with the error and the username kept; a store failure is the
 * 503 error page, never "wrong password".
 */
import type { Context, Middleware } from 'koa';
import type Router from 'koa-router';
import { AppError } from '../../errors.js';
import { loginPage, isNotice } from '../../views/login.js';
import { deviceCookie } from '../device-cookie.js';
import { CSRF_FIELD, isPreId, newPreId, preCookieName } from '../form-csrf.js';
import { redirect303 } from '../middleware/page-session.js';
import { returnToOrHome, safeReturnTo } from '../return-to.js';
import { compactUserAgent } from '../../devices/user-agent.js';
import { form, type PagesDeps, sendPage } from './pages-common.js';
import { expiredCookie } from '../cookies.js';

/** Texts for the errors a sign-in can end with; anything else is an error page. */
const LOGIN_ERRORS: Partial<Record<AppError['code'], string>> = {
  bad_request: 'Enter your username and password.',
  invalid_credentials: 'Unknown username or wrong password.',
  too_many_attempts: 'Too many failed sign-in attempts. Please wait a while and try again.',
  csrf: 'The sign-in form had expired. Please try again.',
};

export function loginRoutes(router: Router, deps: PagesDeps & { unsafe: Middleware[] }): void {
  const { sessions, auth, csrf } = deps;
  const pre = preCookieName(deps.cookieSecure);
  const preAttrs = `; Path=/; HttpOnly; SameSite=Lax${deps.cookieSecure ? '; Secure' : ''}`;
  const device = deviceCookie(deps.cookieSecure);

  /** The pre-session id this browser holds, or a new one sent with this response. */
  const preSession = (ctx: Context, renew = false): string => {
    const have = ctx.cookies.get(pre);
    if (!renew && isPreId(have)) return have;
    const id = newPreId();
    ctx.append('Set-Cookie', `${pre}=${id}${preAttrs}`);
    return id;
  };

  const render = (ctx: Context, status: number, o: { username?: string; remember?: boolean; returnTo?: string | null; error?: string; renew?: boolean }) => {
    const token = csrf.issue('pre', preSession(ctx, o.renew));
    const notice = o.error ? null : isNotice(ctx.query.notice) ? ctx.query.notice : null;
    sendPage(ctx, loginPage({ csrf: token, username: o.username, remember: o.remember, returnTo: o.returnTo, notice, error: o.error, oidcName: deps.oidcName }), status);
  };

  router.get('/login', sessions.middleware, (ctx) => {
    const returnTo = safeReturnTo(ctx.query.returnTo);
    const r = sessions.result(ctx);
    // Already signed in (a stale session is renewed by the page it lands on).
    if (r && r.state !== 'login_required') return redirect303(ctx, returnToOrHome(returnTo));
    if (sessions.token(ctx)) sessions.clear(ctx);
    render(ctx, 200, { returnTo });
  });

  router.post('/login', ...deps.unsafe, async (ctx) => {
    const f = form(ctx);
    const returnTo = safeReturnTo(f.get('returnTo') ?? ctx.query.returnTo);
    const username = f.get('username') ?? '';
    const remember = f.has('remember');
    const keep = { username: username.slice(0, 256), remember, returnTo };
    if (!csrf.verify(f.get(CSRF_FIELD), 'pre', [ctx.cookies.get(pre) ?? ''])) {
      return render(ctx, 403, { ...keep, error: LOGIN_ERRORS.csrf!, renew: true });
    }
    try {
      const { issued, device: next } = await auth.login({
        username,
        password: f.get('password') ?? '',
        remember,
        ip: ctx.state.clientIp as string,
        userAgent: compactUserAgent(ctx.get('User-Agent')),
        previousToken: sessions.token(ctx),
        device: device.read(ctx),
      });
      sessions.issue(ctx, issued.token, issued.session, remember);
      device.set(ctx, next);
      // The pre-session ends here: its token must not outlive the sign-in.
      ctx.append('Set-Cookie', expiredCookie(pre, preAttrs));
      redirect303(ctx, returnToOrHome(returnTo));
    } catch (err) {
      const text = err instanceof AppError ? LOGIN_ERRORS[err.code] : undefined;
      if (!text || !(err instanceof AppError)) throw err;
      for (const [name, value] of Object.entries(err.headers)) ctx.set(name, value);
      render(ctx, err.status, { ...keep, error: text });
    }
  });
}
