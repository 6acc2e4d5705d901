/**
 * The page flavour of the session middleware (DESIGN §1, §6). Where the JSON API
 * answers 401 `refresh_required`, a page refreshes a stale session transparently:
 * rotate the ID, send the new cookie, serve the page — the browser never sees the
 * idle lapse. With no usable session the browser goes to the sign-in form (303), with
 * a notice that says why and the page to come back to.
 *
 * Cost: one validate (the session middleware), plus one refresh only on the first
 * request after an idle lapse.
 */
import type { Context, Middleware } from 'koa';
import { parseToken } from '../../sessions/token.js';
import type { LoginRequiredReason, SessionInfo, SessionRef } from '../../sessions/types.js';
import type { NoticeCode } from '../../views/login.js';
import type { AuthService } from '../auth-service.js';
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
  auth: AuthService;
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

/** The session middleware followed by the page decision; spread it into a route. */
export function pageSession(deps: PageSessionDeps, opts: PageSessionOptions = {}): Middleware[] {
  const { sessions, auth, csrf } = deps;
  const { store } = sessions;
  const returnTo = opts.returnTo ?? ((ctx: Context) => (ctx.method === 'GET' || ctx.method === 'HEAD' ? ctx.originalUrl : '/'));
  // As the JSON refresh: a rotated cookie of a `remember` session keeps its Expires.
  const persistent = (s: SessionInfo) => s.refreshable || !store.policy.refreshEnabled;

  const toLogin = (ctx: Context, notice: NoticeCode) => {
    // A dead cookie is dropped so the browser stops presenting it.
    if (sessions.token(ctx)) sessions.clear(ctx);
    redirect303(ctx, loginLocation(notice, returnTo(ctx)));
  };

  const resolve: Middleware = async function resolvePageSession(ctx, next) {
    const token = sessions.token(ctx);
    const r = sessions.result(ctx);
    if (!token || !r) return toLogin(ctx, 'required');
    const sent = parseToken(token)!.idHash;
    let a: Omit<PageAuth, 'csrf' | 'csrfBindings'>;
    if (r.state === 'active') {
      a = { session: r.session, ref: r.ref, now: r.now, refreshed: false };
    } else if (r.state === 'stale') {
      const rotated = await store.refresh(token);
      if (!rotated.ok) {
        if (rotated.reason === 'replay') {
          await auth.event(
            { type: 'session.reuse_detected', handle: rotated.handle, ip: ctx.state.clientIp, reason: 'replay', by: 'system' },
            'rotated-away session ID replayed: session revoked',
          );
        }
        return toLogin(ctx, NOTICE_BY_REASON[rotated.reason]);
      }
      sessions.issue(ctx, rotated.token, rotated.session, persistent(rotated.session));
      const p = parseToken(rotated.token)!;
      a = { session: rotated.session, ref: { tag: p.tag, idHash: p.idHash }, now: rotated.now, refreshed: true };
      await auth.event(
        { type: 'session.refreshed', userId: rotated.session.userId, handle: rotated.session.handle, ip: ctx.state.clientIp },
        'session refreshed (page)',
      );
    } else {
      return toLogin(ctx, NOTICE_BY_REASON[r.reason]);
    }
    (ctx.state as { [PAGE]?: PageAuth })[PAGE] = {
      ...a,
      csrf: csrf.issue('session', a.ref.idHash),
      csrfBindings: [...new Set([sent, a.ref.idHash])],
    };
    await next();
  };

  return [sessions.middleware, resolve];
}
