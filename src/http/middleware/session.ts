/**
 * The session layer for Koa: koa-session gives `ctx.session` (the session's small app
 * data) over our SessionStore, which decides everything else.
 *
 * How koa-session is used, and why (README "How koa-session is used"):
 * - The cookie is ours. koa-session's `externalKey.get` hands it the cookie value we
 *   already checked (exact name, exactly once, parseToken shape), so a malformed,
 *   duplicated or absent cookie never reaches the store; `externalKey.set` is a no-op
 *   because koa-session cannot write our cookie (Expires at the absolute deadline for
 *   `remember`, the `__Host-` prefix, Max-Age=0 when clearing) and must never mint one.
 * - `store.get` is SessionStore.validate: the one round trip of an authenticated request
 *   (validate + slide in one script). It returns the app data of an *active* session
 *   only; a stale or dead one yields no data and `requireSession` answers 401.
 * - `store.set` runs only when the data changed (koa-session's own change detection);
 *   it is SessionStore.updateData, which writes only if the session still exists: a
 *   request finishing after a revoke cannot bring the session back. A plain read never
 *   writes, so the hot path stays at one round trip.
 * - koa-session's `genid` would mint IDs for anonymous visitors: it returns a
 *   placeholder that names no session, so anonymous data goes nowhere. Sessions are
 *   created only by a login (fresh ID, SessionStore.create).
 * - `ctx.session = null` (koa-session's logout) revokes through `store.destroy`.
 * What it cannot do is rotation and refresh: those are SessionStore.refresh, called
 * by the routes, which then send the new cookie with `issue()`.
 */
import type Koa from 'koa';
import type { Context, Middleware } from 'koa';
import koaSession, { type CreateSessionOptions } from 'koa-session';
import { type AuditEvent, type AuditLog, noAudit } from '../../audit/types.js';
import { loginRequired, refreshRequired } from '../../errors.js';
import type { Logger } from '../../log.js';
import { parseToken } from '../../sessions/token.js';
import type { SessionInfo, SessionRef, SessionStore, ValidateResult } from '../../sessions/types.js';
import { type CookieRead, type CookieSettings, clearSessionCookie, readSessionCookie, setSessionCookie } from '../cookies.js';

declare module 'koa' {
  interface ExtendableContext {
    /** The session's app data (koa-session): empty for visitors; `= null` revokes. */
    session: Record<string, unknown> | null;
  }
}

/** koa-session's placeholder key for "no session": never a token, never stored. */
const NO_SESSION = '-';
const STATE = Symbol('sliding-sessions');

/** Keys koa-session's Session object reserves; app data may not use them. */
const RESERVED = new Set(['isNew', 'maxAge', 'length', 'populated', 'externalKey', 'save', 'regenerate', 'manuallyCommit', 'commit', 'toJSON']);
const appData = (obj: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(obj).filter(([k]) => !k.startsWith('_') && !RESERVED.has(k)));

interface RequestState {
  cookie: CookieRead;
  /** The token now in effect (the cookie's, or the one issued by this request). */
  token: string | undefined;
  result: ValidateResult | undefined;
  /** The record app data is written to; moves with a rotation. */
  ref: SessionRef | undefined;
}

export interface Authenticated {
  session: SessionInfo;
  ref: SessionRef;
  /** The presented token (never log it). */
  token: string;
  state: 'active' | 'stale';
  viaGrace: boolean;
}

export interface SessionsOptions {
  store: SessionStore;
  cookie: CookieSettings;
  log?: Logger;
  audit?: AuditLog;
}

export interface Sessions {
  readonly store: SessionStore;
  readonly cookie: CookieSettings;
  /** koa-session over the store: validates the cookie (one round trip), sets ctx.session. */
  readonly middleware: Middleware;
  /**
   * The same validation (one round trip) without koa-session, for routes that never
   * read or write ctx.session (GET /api/me): koa-session's per-request Session object
   * and its JSON + CRC change detection are avoidable work on the hot path.
   */
  readonly validate: Middleware;
  /** After `middleware`: 401 unless the session is active (or stale, with allowStale). */
  require(opts?: { allowStale?: boolean }): Middleware;
  /**
   * `validate` and `require()` in one middleware, for routes that never read or write
   * ctx.session (GET /api/me): one layer and one async frame less per request.
   */
  authenticate(opts?: { allowStale?: boolean }): Middleware;
  /** The cookie's token when exactly one well-formed session cookie was sent. */
  token(ctx: Context): string | undefined;
  /** What validation decided (undefined when there was nothing to validate). */
  result(ctx: Context): ValidateResult | undefined;
  /** The caller's session after `require()`. */
  auth(ctx: Context): Authenticated;
  /** Sends a newly issued or rotated token; later data writes go to its record. */
  issue(ctx: Context, token: string, session: SessionInfo, persistent: boolean): void;
  /** Clears the cookie; the session itself is revoked by the caller. */
  clear(ctx: Context): void;
}

export function createSessions(app: Koa, opts: SessionsOptions): Sessions {
  const { store, cookie } = opts;
  const audit = opts.audit ?? noAudit;
  const log = opts.log;

  const state = (ctx: Context): RequestState => {
    const s = ctx.state as { [STATE]?: RequestState };
    if (!s[STATE]) {
      const read = readSessionCookie(ctx.get('Cookie') || undefined, cookie.name);
      const token = read.kind === 'token' ? read.token : undefined;
      s[STATE] = { cookie: read, token, result: undefined, ref: undefined };
    }
    return s[STATE];
  };

  // Audit is best effort: a failing audit log never fails the request (AuditLog contract).
  const record = (e: AuditEvent) =>
    void audit.append(e).catch((err: unknown) => log?.warn({ err, event: e.type }, 'audit append failed'));

  const noteGone = (ctx: Context, r: ValidateResult) => {
    if (r.state !== 'login_required' || !log) return;
    if (r.reason === 'replay') {
      log.warn({ event: 'session.reuse_detected', handle: r.handle, ip: ctx.state.clientIp }, 'rotated-away session ID replayed: session revoked');
      record({ type: 'session.reuse_detected', handle: r.handle, ip: ctx.state.clientIp, reason: 'replay', by: 'system' });
    } else if (r.reason === 'expired' || r.reason === 'idle') {
      log.info({ event: 'session.timeout', reason: r.reason, handle: r.handle }, 'session ended by timeout');
    }
  };

  /** Remembers what validation decided for the rest of the request. */
  const settle = (ctx: Context, s: RequestState, r: ValidateResult): ValidateResult => {
    s.result = r;
    noteGone(ctx, r);
    if (r.state === 'active') s.ref = r.ref;
    return r;
  };

  /** The one round trip: decide the presented token, remember the answer for the request. */
  const load = async (ctx: Context): Promise<ValidateResult> => {
    const s = state(ctx);
    return settle(ctx, s, await store.validate(s.token));
  };

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
        return r.state === 'active' ? appData(r.session.data) : undefined;
      },
      async set(_key: string, sess: Record<string, unknown>, _maxAge: number, { ctx, changed }: { ctx?: Context; changed: boolean }) {
        const ref = state(ctx!).ref;
        // Only a changed object of a live session is written, and only if the record
        // still exists (updateData): anonymous data has nowhere to go.
        if (!changed || !ref) return;
        await store.updateData(ref, appData(sess));
      },
      async destroy(_key: string, { ctx }: { ctx?: Context }) {
        const s = state(ctx!);
        if (!s.token) return;
        await store.revoke(s.token);
        const handle = s.result && s.result.state !== 'login_required' ? s.result.session.handle : undefined;
        log?.info({ event: 'session.revoked', reason: 'logout', handle }, 'session revoked');
        record({ type: 'session.revoked', handle, reason: 'logout', by: 'user' });
        s.token = undefined;
        s.ref = undefined;
      },
    },
  };
  const ks = koaSession(options, app);

  const middleware: Middleware = async function session(ctx, next) {
    state(ctx);
    // COOKIE_SECURE says TLS ends before us: let koa's cookie writer (used by
    // koa-session when clearing) emit Secure over the proxy's plain HTTP hop.
    if (cookie.secure) ctx.cookies.secure = true;
    return ks(ctx, next);
  };

  /** Throws unless the request may go on: an active session, or a stale one with allowStale. */
  const admit = (r: ValidateResult | undefined, o: { allowStale?: boolean }): void => {
    if (r?.state === 'active' || (o.allowStale && r?.state === 'stale')) return;
    if (r?.state === 'stale') throw refreshRequired();
    throw loginRequired(401);
  };

  const validate: Middleware = async function validateSession(ctx, next) {
    // Like koa-session, no cookie means no store call at all.
    if (state(ctx).token !== undefined) await load(ctx);
    return next();
  };

  const sessions: Sessions = {
    store,
    cookie,
    middleware,
    validate,
    require(o = {}) {
      return async function requireSession(ctx, next) {
        admit(state(ctx).result, o);
        return next();
      };
    },
    authenticate(o = {}) {
      return async function authenticate(ctx, next) {
        const s = state(ctx);
        // Like koa-session, no cookie means no store call at all.
        admit(s.token === undefined ? undefined : settle(ctx, s, await store.validate(s.token)), o);
        return next();
      };
    },
    token: (ctx) => state(ctx).token,
    result: (ctx) => state(ctx).result,
    auth(ctx) {
      const s = state(ctx);
      const r = s.result;
      if (!s.token || !r || r.state === 'login_required') throw loginRequired(401);
      return { session: r.session, ref: r.ref, token: s.token, state: r.state, viaGrace: r.state === 'active' && r.viaGrace };
    },
    issue(ctx, token, session, persistent) {
      const s = state(ctx);
      const parsed = parseToken(token);
      s.token = token;
      s.ref = parsed ? { tag: parsed.tag, idHash: parsed.idHash } : undefined;
      setSessionCookie(ctx, cookie, token, session, persistent);
    },
    clear(ctx) {
      const s = state(ctx);
      s.token = undefined;
      s.ref = undefined;
      clearSessionCookie(ctx, cookie);
    },
  };
  return sessions;
}
