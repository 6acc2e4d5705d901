/**
 * koa-session as the `ctx.session` data layer for library routes that keep small app
 * data in the session; our own routes never read it, so they never run it. It works
 * over the same request state as `authenticate()` (one validate per request, whichever
 * runs first):
 * - The cookie is ours. `externalKey.get` hands koa-session the token the session layer
 *   already checked; `externalKey.set` is a no-op because koa-session cannot write our
 *   cookie (Expires at the absolute deadline, the `__Host-` prefix, Max-Age=0 when
 *   clearing) and must never mint one.
 * - `store.get` is the request's validate; it yields the app data of an *active*
 *   session only.
 * - `store.set` runs only when the data changed (koa-session's change detection) and
 *   writes only while the record exists (SessionStore.updateData): a request finishing
 *   after a revoke cannot bring the session back. A plain read never writes.
 * - koa-session's `genid` would mint IDs for anonymous visitors: it returns a
 *   placeholder that names no session, so anonymous data goes nowhere.
 * - `ctx.session = null` (koa-session's logout) revokes through the SessionService.
 * Rotation and refresh are not koa-session's: they are the service's.
 */
import type Koa from 'koa';
import type { Context, Middleware } from 'koa';
import koaSession, { type CreateSessionOptions } from 'koa-session';
import type { SessionService } from '../../sessions/service.js';
import type { ValidateResult } from '../../sessions/types.js';
import type { CookieSettings } from '../cookies.js';
import type { RequestState } from './session.js';

declare module 'koa' {
  interface ExtendableContext {
    /** The session's app data (koa-session): empty for visitors; `= null` revokes. */
    session: Record<string, unknown> | null;
  }
}

/** koa-session's placeholder key for "no session": never a token, never stored. */
const NO_SESSION = '-';

/** Keys koa-session's Session object reserves; app data may not use them. */
const RESERVED = new Set(['isNew', 'maxAge', 'length', 'populated', 'externalKey', 'save', 'regenerate', 'manuallyCommit', 'commit', 'toJSON']);
const appData = (obj: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(obj).filter(([k]) => !k.startsWith('_') && !RESERVED.has(k)));

export interface SessionDataDeps {
  cookie: CookieSettings;
  service: SessionService;
  state(ctx: Context): RequestState;
  load(ctx: Context): Promise<ValidateResult | undefined>;
}

export function sessionData(app: Koa, { cookie, service, state, load }: SessionDataDeps): Middleware {
  const options: CreateSessionOptions = {
    key: cookie.name,
    signed: false,
    httpOnly: true,
    sameSite: 'lax',
    secure: cookie.secure,
    overwrite: true,
    maxAge: 'session',
    autoCommit: true,
    genid: () => NO_SESSION,
    externalKey: {
      get: (ctx: Context) => state(ctx).token ?? '',
      set: () => {},
    },
    store: {
      async get(_key: string, _maxAge: number, { ctx }: { ctx?: Context }) {
        const r = await load(ctx!);
        return r?.state === 'active' ? appData(r.session.data) : undefined;
      },
      async set(_key: string, sess: Record<string, unknown>, _maxAge: number, { ctx, changed }: { ctx?: Context; changed: boolean }) {
        const ref = state(ctx!).ref;
        if (!changed || !ref) return;
        await service.updateData(ref, appData(sess));
      },
      async destroy(_key: string, { ctx }: { ctx?: Context }) {
        const s = state(ctx!);
        const r = s.result;
        await service.logout(s.token, r && r.state !== 'login_required' ? r.session : undefined, { by: 'user', ip: ctx!.state.clientIp });
        s.token = undefined;
        s.ref = undefined;
      },
    },
  };
  const ks = koaSession(options, app);
  return async function sessionDataLayer(ctx, next) {
    state(ctx);
    // COOKIE_SECURE says TLS ends before us: let koa's cookie writer (used by
    // koa-session when clearing) emit Secure over the proxy's plain HTTP hop.
    if (cookie.secure) ctx.cookies.secure = true;
    return ks(ctx, next);
  };
}
