/**
 * Pages on top of the one authenticate path. Where the JSON API answers 401
 * `refresh_required`, a page refreshes a stale session transparently: rotate the ID,
 * send the new cookie, serve the page — the browser never sees the idle lapse.
 *
 * Cost: one validate, plus one refresh only on the first request after an idle lapse.
 */
import type { Context, Middleware } from 'koa';
import { parseToken } from '../../sessions/token.js';
import type { LoginRequiredReason, SessionInfo, SessionRef } from '../../sessions/types.js';
import type { NoticeCode } from '../../views/login.js';
import type { FormCsrf } from '../form-csrf.js';
import type { Sessions } from './session.js';

export interface PageAuth {
  session: SessionInfo;
  ref: SessionRef;
  /** Store time of the decision (ms). */
  now: number;
  /** This request renewed a stale session (new ID, new cookie). */
  refreshed: boolean;
  /** Token for the forms this response renders: bound to the current ID. */
  csrf: string;
  /**
   * ID hashes a submitted form token may be bound to: the ID the browser sent, and the
   * current one (they differ when this request rotated a stale session, or the cookie
   * was an old ID inside its grace period).
   */
  csrfBindings: string[];
}

export interface PageSessionDeps {
  sessions: Sessions;
  csrf: FormCsrf;
}

export interface PageSessionOptions {
  /** Where to come back to after signing in; default the requested URL (GET) or "/". */
  returnTo?: (ctx: Context) => string;
}

const PAGE = Symbol('page-auth');

export const pageAuth = (ctx: Context): PageAuth => {
  const a = (ctx.state as { [PAGE]?: PageAuth })[PAGE];
  if (!a) throw new Error('pageAuth() used on a route without pageSession()');
  return a;
};

const NOTICE_BY_REASON: Record<LoginRequiredReason, NoticeCode> = {
  unknown: 'ended',
  expired: 'expired',
  idle: 'idle',
  replay: 'replay',
  unproven: 'unproven',
};

export function loginLocation(notice: NoticeCode | null, returnTo: string | null): string {
  const q = new URLSearchParams();
  if (returnTo) q.set('returnTo', returnTo);
  if (notice) q.set('notice', notice);
  const s = q.toString();
  return s ? `/login?${s}` : '/login';
}

export function redirect303(ctx: Context, location: string): void {
  ctx.status = 303;
  ctx.set('Location', location);
}

/**
 * The page flavour of `authenticate()`: a stale session is refreshed transparently (the
 * same authenticate path, `stale: 'refresh'`), and with no usable session the browser
 * goes to the sign-in form (303) with a notice and the page to come back to. Spread it
 * into a route.
 */
export function pageSession(deps: PageSessionDeps, opts: PageSessionOptions = {}): Middleware[] {
  const { sessions, csrf } = deps;
  const returnTo = opts.returnTo ?? ((ctx: Context) => (ctx.method === 'GET' || ctx.method === 'HEAD' ? ctx.originalUrl : '/'));

  const toLogin = (ctx: Context, notice: NoticeCode) => {
    // A dead cookie is dropped so the browser stops presenting it; a bound session past
    // its proof is not dead: its device renews it (and a copy of it is useless anyway).
    if (sessions.token(ctx) && notice !== 'unproven') sessions.clear(ctx);
    redirect303(ctx, loginLocation(notice, returnTo(ctx)));
  };

  const sent = (ctx: Context): string | undefined => {
    const token = sessions.token(ctx);
    return token ? parseToken(token)?.idHash : undefined;
  };

  const resolve: Middleware = async function resolvePageSession(ctx, next) {
    const r = sessions.result(ctx);
    if (r?.state !== 'active') return toLogin(ctx, r?.state === 'login_required' ? NOTICE_BY_REASON[r.reason] : 'required');
    const a = sessions.auth(ctx);
    (ctx.state as { [PAGE]?: PageAuth })[PAGE] = {
      session: a.session,
      ref: a.ref,
      now: a.now,
      refreshed: a.refreshed,
      csrf: csrf.issue('session', a.ref.idHash),
      csrfBindings: [...new Set([...((ctx.state as Sent)[SENT] ?? []), a.ref.idHash])],
    };
    await next();
  };

  // The ID the browser sent, before a refresh replaces it: its forms were bound to it.
  const remember: Middleware = async function rememberSentId(ctx, next) {
    const id = sent(ctx);
    (ctx.state as Sent)[SENT] = id ? [id] : [];
    await next();
  };

  return [remember, sessions.authenticate({ stale: 'refresh', optional: true }), resolve];
}

const SENT = Symbol('sent-id');
type Sent = { [SENT]?: string[] };
