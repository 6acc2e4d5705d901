/**
 * The session layer for Koa: one authenticate path (`authenticate()`) for the JSON API,
 * the pages and library routes alike, over the SessionService. A request costs one
 * validate round trip at most, decided once and remembered for the rest of the request
 * (so `authenticate()` after the `ctx.session` data adapter reuses its answer).
 *
 * The cookie is read here and only here: exact name, exactly once, token shape checked
 * before any store call, so a malformed, duplicated or absent cookie never reaches the
 * store and costs no round trip.
 */
import type Koa from 'koa';
import type { Context, Middleware } from 'koa';
import type { AuditLog } from '../../audit/types.js';
import { AppError, deviceProofRequired, loginRequired, refreshRequired } from '../../errors.js';
import type { Logger } from '../../log.js';
import { SessionService, type SignInInput } from '../../sessions/service.js';
import { parseToken } from '../../sessions/token.js';
import type { IssuedSession, LoginRequiredReason, RotateOptions, SessionInfo, SessionRef, SessionStore, ValidateResult } from '../../sessions/types.js';
import { type CookieRead, type CookieSettings, clearSessionCookie, readSessionCookie, setSessionCookie } from '../cookies.js';
import { compactUserAgent } from '../../devices/user-agent.js';
import type { DeviceBinding } from '../device-binding.js';
import { sessionData } from './session-data.js';

const STATE = Symbol('sliding-sessions');
/** How long after its sign-in a session's responses leave the binding offer to the sign-in's own. */
const OFFER_SETTLE_MS = 10_000;

export interface RequestState {
  cookie: CookieRead;
  /** The token now in effect (the cookie's, or the one issued by this request). */
  token: string | undefined;
  /** What validation decided; undefined until it ran (or when there was no cookie). */
  result: ValidateResult | undefined;
  /**
   * The store's answer before the device-binding check (a bound session past its proof
   * is `result` login_required 'unproven' but `presented` active): for the DBSC refresh.
   */
  presented: ValidateResult | undefined;
  /** The client address (for the log line of a refusal). */
  ip: string | undefined;
  /** The record app data is written to; moves with a rotation. */
  ref: SessionRef | undefined;
  /** This request rotated a stale session (pages). */
  refreshed: boolean;
}

export interface Authenticated {
  session: SessionInfo;
  ref: SessionRef;
  /** The presented token (never log it). */
  token: string;
  state: 'active' | 'stale';
  viaGrace: boolean;
  /** Store time of the decision (ms). */
  now: number;
  /** This request rotated a stale session (new ID, new cookie). */
  refreshed: boolean;
}

export interface AuthenticateOptions {
  /**
   * What a stale session (idle window lapsed, refreshable) gets: `reject` (default) a
   * 401 `refresh_required`, for API clients that refresh themselves; `allow` admits it as
   * it is (logout-all); `refresh` rotates it at once and sends the new cookie (pages,
   * whose browser never sees the lapse).
   */
  stale?: 'reject' | 'allow' | 'refresh';
  /** Let a request without a usable session through instead of answering 401. */
  optional?: boolean;
  /**
   * Sensitive routes: the session's owner must have proved the password within this
   * many ms (`true`: SESSION_REAUTH_WINDOW), else 403 `reauthentication_required`.
   * Decided on the request's one validate; no extra round trip.
   */
  freshWithin?: number | true;
}

/** The 401/403 an authentication failure throws, with why (pages turn it into a notice). */
export class SessionRequired extends AppError {
  constructor(
    readonly reason: LoginRequiredReason | 'required' | 'stale',
    base: AppError,
  ) {
    super(base.status, base.code, base.message, { headers: base.headers });
  }
}

export interface SessionsOptions {
  /** The lifecycle service; or give `store` (+ `log`, `audit`) and one is made. */
  service?: SessionService;
  store?: SessionStore;
  log?: Logger;
  audit?: AuditLog;
  cookie: CookieSettings;
  /** Device binding (DBSC), when SESSION_DEVICE_BINDING is in effect (Secure cookies). */
  binding?: DeviceBinding;
}

export interface Sessions {
  readonly service: SessionService;
  readonly cookie: CookieSettings;
  readonly binding: DeviceBinding | undefined;
  /** What a plain rotation must check (a bound session's proof clock), for service.refresh. */
  readonly rotation: Pick<RotateOptions, 'proofWithinMs'>;
  /** The store's answer before the device-binding check (the DBSC refresh endpoint's). */
  presented(ctx: Context): ValidateResult | undefined;
  /** The one authenticate path: 401 unless the request carries a usable session (reuses a decision already made in this request). */
  authenticate(opts?: AuthenticateOptions): Middleware;
  /** koa-session's `ctx.session` (the session's small app data) over the store. */
  readonly middleware: Middleware;
  /** The cookie's token when exactly one well-formed session cookie was sent. */
  token(ctx: Context): string | undefined;
  /** What validation decided (undefined when there was nothing to validate). */
  result(ctx: Context): ValidateResult | undefined;
  /** The caller's session after `authenticate()`. */
  auth(ctx: Context): Authenticated;
  /** Decides the request's session once (no cookie: no store call) and remembers it. */
  load(ctx: Context): Promise<ValidateResult | undefined>;
  /** Sends a newly issued or rotated token; later data writes go to its record. */
  issue(ctx: Context, token: string, session: SessionInfo, persistent: boolean): void;
  /** Clears the cookie; the session itself is revoked by the service. */
  clear(ctx: Context): void;
  /**
   * The one sign-in for a user the caller authenticated (SessionService.signIn: the
   * browser's old cookie checked and ended, the epoch, the audit event and the metric),
   * then the cookie. null: a revocation of the user's sessions landed meanwhile.
   */
  signIn(ctx: Context, user: SignInInput['user'], opts: SignInOptions): Promise<IssuedSession | null>;
  /** The one sign-out: ends the caller's session (stale included; idempotent) and clears its cookie. */
  signOut(ctx: Context): Promise<void>;
}

export type SignInOptions = Pick<SignInInput, 'method' | 'remember' | 'expectedEpoch' | 'beforeIssue'>;

export function createSessions(app: Koa, opts: SessionsOptions): Sessions {
  const { cookie, binding } = opts;
  const rotation: Pick<RotateOptions, 'proofWithinMs'> = binding ? { proofWithinMs: binding.lifetimeMs } : {};
  const service = opts.service ?? new SessionService({ store: opts.store!, log: opts.log, audit: opts.audit });

  const state = (ctx: Context): RequestState => {
    const s = ctx.state as { [STATE]?: RequestState };
    if (!s[STATE]) {
      const read = readSessionCookie(ctx.get('Cookie') || undefined, cookie.name);
      const token = read.kind === 'token' ? read.token : undefined;
      s[STATE] = {
        cookie: read, token, result: undefined, presented: undefined, ref: undefined, refreshed: false,
        ip: ctx.state.clientIp as string | undefined,
      };
    }
    return s[STATE];
  };

  const settle = (s: RequestState, presented: ValidateResult): ValidateResult => {
    s.presented = presented;
    let r = presented;
    // Invariant 11: a bound session past its proof is refused, whatever its activity.
    if (binding && r.state !== 'login_required' && binding.overdue(r.session, r.now)) {
      service.unproven(r.session, s.ip);
      r = { state: 'login_required', reason: 'unproven', now: r.now, handle: r.session.handle };
    }
    s.result = r;
    if (r.state === 'active') s.ref = r.ref;
    return r;
  };

  /** This node's answer without a round trip (a cache hit), settled at once. */
  const peek = service.peeks ? (s: RequestState, token: string) => {
    const hit = service.peek(token);
    return hit && settle(s, hit);
  } : () => undefined;

  const load = async (ctx: Context): Promise<ValidateResult | undefined> => {
    const s = state(ctx);
    // No cookie means no store call at all.
    if (s.result || s.token === undefined) return s.result;
    return peek(s, s.token) ?? settle(s, service.settle(await service.lookup(s.token), ctx.state.clientIp));
  };

  const issue = (ctx: Context, token: string, session: SessionInfo, persistent: boolean) => {
    const s = state(ctx);
    const parsed = parseToken(token);
    s.token = token;
    s.ref = parsed ? { tag: parsed.tag, idHash: parsed.idHash } : undefined;
    setSessionCookie(ctx, cookie, token, session, persistent);
    // Every new ID of a session not bound yet comes with the offer (sign-in, rotation):
    // its lastActiveAt is the store's time of the issue.
    if (binding && session.boundAt === undefined) binding.offer(ctx, session, session.lastActiveAt);
  };

  const clear = (ctx: Context) => {
    const s = state(ctx);
    s.token = undefined;
    s.ref = undefined;
    clearSessionCookie(ctx, cookie);
    binding?.clearCookie(ctx);
  };

  /** A stale session on a page: rotate it now and carry on as the new one. */
  const renew = async (ctx: Context, s: RequestState, token: string): Promise<ValidateResult> => {
    const r = await service.refresh(token, { by: 'user', ip: ctx.state.clientIp }, rotation);
    if (!r.ok) return settle(s, { state: 'login_required', reason: r.reason === 'proof_used' ? 'unknown' : r.reason, now: r.now, handle: r.handle });
    issue(ctx, r.token, r.session, service.persistent(r.session));
    s.refreshed = true;
    const p = parseToken(r.token)!;
    return settle(s, { state: 'active', session: r.session, now: r.now, viaGrace: false, ref: { tag: p.tag, idHash: p.idHash } });
  };

  const refuse = (r: ValidateResult | undefined): never => {
    if (r?.state === 'stale') throw new SessionRequired('stale', refreshRequired());
    if (r?.state === 'login_required' && r.reason === 'unproven') throw new SessionRequired('unproven', deviceProofRequired());
    throw new SessionRequired(r?.state === 'login_required' ? r.reason : 'required', loginRequired(401));
  };

  const authenticate = (o: AuthenticateOptions = {}): Middleware => {
    const stale = o.stale ?? 'reject';
    return async function authenticateSession(ctx, next) {
      const s = state(ctx);
      let r = s.result;
      // A cache hit decides without awaiting anything.
      if (!r && s.token !== undefined) {
        r = peek(s, s.token) ?? settle(s, service.settle(await service.lookup(s.token), ctx.state.clientIp));
      }
      if (r?.state === 'stale' && stale === 'refresh') r = await renew(ctx, s, s.token!);
      const admitted = r?.state === 'active' || (r?.state === 'stale' && stale === 'allow');
      if (!admitted && !o.optional) refuse(r);
      if (admitted && o.freshWithin !== undefined && r && r.state !== 'login_required') {
        service.requireFresh(r, o.freshWithin === true ? undefined : o.freshWithin);
      }
      // A session not bound yet is offered binding on its responses (a browser without DBSC
      // ignores it); not in the first seconds after its sign-in, whose own response made
      // the offer: the page the sign-in redirects to is served before the browser's
      // registration arrives, and a second offer there would make it register twice.
      if (binding && r?.state === 'active' && r.session.boundAt === undefined && r.now - r.session.createdAt >= OFFER_SETTLE_MS) {
        binding.offer(ctx, r.session, r.now);
      }
      return next();
    };
  };

  const actor = (ctx: Context) => ({ by: 'user' as const, ip: ctx.state.clientIp as string | undefined });

  const signIn = async (ctx: Context, user: SignInInput['user'], o: SignInOptions): Promise<IssuedSession | null> => {
    const previous = state(ctx).token;
    const issued = await service.signIn({
      ...o, user, ip: ctx.state.clientIp as string | undefined, userAgent: compactUserAgent(ctx.get('User-Agent')),
      ...(previous ? { previousToken: previous } : {}),
    });
    if (issued) issue(ctx, issued.token, issued.session, o.remember);
    return issued;
  };

  const signOut = async (ctx: Context): Promise<void> => {
    const token = state(ctx).token;
    // Stale sessions are revoked too; a dead one is already gone (idempotent).
    const r = token === undefined ? undefined : await load(ctx);
    if (token && r && r.state !== 'login_required') await service.logout(token, r.session, actor(ctx));
    clear(ctx);
  };

  const sessions: Sessions = {
    service,
    cookie,
    binding,
    rotation,
    presented: (ctx) => state(ctx).presented,
    authenticate,
    middleware: sessionData(app, { cookie, service, state, load }),
    token: (ctx) => state(ctx).token,
    result: (ctx) => state(ctx).result,
    auth(ctx) {
      const s = state(ctx);
      const r = s.result;
      if (!s.token || !r || r.state === 'login_required') throw new SessionRequired('required', loginRequired(401));
      return {
        session: r.session, ref: r.ref, token: s.token, state: r.state,
        viaGrace: r.state === 'active' && r.viaGrace, now: r.now, refreshed: s.refreshed,
      };
    },
    load,
    issue,
    clear,
    signIn,
    signOut,
  };
  return sessions;
}
