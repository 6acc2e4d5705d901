/**
 * GET /auth/oidc/login, GET /auth/oidc/reauthenticate and GET /auth/oidc/callback: the
 * authorization code flow with PKCE (S256), `state` and `nonce`, for a sign-in or for
 * the re-authentication of a signed-in session (src/oidc/reauth.ts).
 *
 * login: a one-time record (src/oidc/state-store.ts) under the hash of a fresh `state`
 * holds the nonce, the validated returnTo and the hash of a pre-session cookie set on
 * this browser; the PKCE verifier is an HMAC of that cookie and the state, so it is
 * never stored. Then 302 to the provider. Starts are counted per client address: each
 * stores a record, and none needs a session.
 *
 * callback: the record is taken (deleted as it is read: a replayed callback URL finds
 * nothing), the browser must hold the cookie that started it (an attacker cannot make a
 * victim finish the attacker's sign-in), then openid-client checks the response and the
 * ID token and exchanges the code. Every failure is 303 /login?notice=… and no session
 * (a re-authentication's: 303 to the confirm step with a notice, the session unchanged).
 *
 * backchannel-logout: the provider's logout token (src/oidc/backchannel.ts) revokes the
 * sessions of that provider session (`sid`), or all of the user's sessions made through
 * this provider (`sub` alone). 200, or 400 and nothing revoked.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import Router from 'koa-router';
import * as oc from 'openid-client';
import { AppError } from '../errors.js';
import type { AuthService } from '../auth/auth-service.js';
import { readFormBody } from '../http/form-body.js';
import { isPreId, newPreId } from '../http/form-csrf.js';
import { loginLocation, redirect303 } from '../http/middleware/page-session.js';
import type { Authenticated, Sessions } from '../http/middleware/session.js';
import { returnToOrHome, safeReturnTo } from '../http/return-to.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../ops/metrics.js';
import { sha256 } from '../sessions/token.js';
import { ipGroup } from '../throttle/ip-group.js';
import type { UserStore } from '../users/types.js';
import { type ConfirmNotice, confirmLocation } from '../views/confirm.js';
import type { NoticeCode } from '../views/login.js';
import type { OidcClient } from './client.js';
import { LOGOUT_TOKEN_MAX_AGE_MS, logoutVerifier } from './backchannel.js';
import { OIDC_BACKCHANNEL_LOGOUT_PATH, OIDC_CALLBACK_PATH, OIDC_LOGIN_PATH, OIDC_REAUTH_PATH } from './config.js';
import type { IdentityStore } from './identity-store.js';
import type { OidcLogoutStore } from './logout-store.js';
import { REAUTH_STATE_PREFIX, reauthRenewal, stateKey } from './reauth.js';
import { MAX_RETURN_TO_CHARS, type OidcStateStore, STATE_TTL_MS } from './state-store.js';
import { localUser } from './users.js';
import { expiredCookie } from '../http/cookies.js';

/** What an app needs to offer OpenID Connect sign-in (see src/oidc/setup.ts). */
export interface OidcDeps {
  client: OidcClient;
  states: OidcStateStore;
  identities: IdentityStore;
  logouts: OidcLogoutStore;
}

export interface OidcRouteDeps extends OidcDeps {
  sessions: Sessions;
  users: UserStore;
  auth: AuthService;
  hashPassword(password: string): Promise<string>;
  log: Logger;
  metrics?: Metrics;
  cookieSecure: boolean;
}

/** The pre-session cookie of a sign-in in flight (Lax: the provider's redirect back is a top-level GET). */
const oidcCookieName = (secure: boolean) => (secure ? '__Host-oidc' : 'oidc');

/** The PKCE code verifier: 43 base64url characters, derived rather than stored. */
const verifier = (pre: string, state: string) => createHmac('sha256', pre).update(`pkce\0${state}`).digest('base64url');

const MAX_STATE_CHARS = 256;

/** A returnTo short enough to keep in a state record; a longer one is dropped (home). */
const boundedReturnTo = (v: unknown): string | null => {
  const path = safeReturnTo(v);
  return path && path.length <= MAX_RETURN_TO_CHARS ? path : null;
};

const tooManyStarts = (resetInMs: number) =>
  new AppError(429, 'too_many_attempts', 'Too many sign-ins started from this address; try again later.', {
    headers: { 'Retry-After': String(Math.max(1, Math.ceil(resetInMs / 1000))) },
  });

const validSid = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 && v.length <= 255 ? v : undefined);

export function oidcRouter(d: OidcRouteDeps): Router {
  const router = new Router();
  const { configuration, settings } = d.client;
  const cookie = oidcCookieName(d.cookieSecure);
  const attrs = `; Path=/; HttpOnly; SameSite=Lax${d.cookieSecure ? '; Secure' : ''}`;
  const method = `oidc:${d.client.issuer}` as const;
  /** Ends the pre-session cookie once its flow is done. */
  const clearPre = expiredCookie(cookie, attrs);

  /**
   * Stores the one-time record of a flow and answers 302 to the provider. Counted per
   * address first: a refused start stores nothing, not even the pre-session cookie.
   */
  const begin = async (ctx: Context, returnTo: string | null, reauth?: { handle: string }) => {
    ctx.set('Cache-Control', 'no-store');
    const starts = await d.states.countStart(ipGroup(ctx.state.clientIp as string));
    if (starts.count > settings.startsPerAddress) throw tooManyStarts(starts.resetInMs);
    const have = ctx.cookies.get(cookie);
    // Kept when present, so sign-ins started in two tabs both complete.
    const pre = isPreId(have) ? have : newPreId();
    ctx.append('Set-Cookie', `${cookie}=${pre}${attrs}; Max-Age=${STATE_TTL_MS / 1000}`);
    const state = `${reauth ? REAUTH_STATE_PREFIX : ''}${randomBytes(32).toString('base64url')}`;
    const nonce = randomBytes(32).toString('base64url');
    // `at` is compared with the provider's auth_time, a wall-clock time: this machine's
    // wall clock, not the store's clock, is the one to compare it with.
    const rec = { pre: sha256(pre), nonce, returnTo, ...(reauth ? { reauth: { handle: reauth.handle, at: Date.now() } } : {}) };
    await d.states.put(stateKey(state), rec);
    const url = oc.buildAuthorizationUrl(configuration, {
      redirect_uri: settings.redirectUri,
      scope: settings.scopes,
      state,
      nonce,
      code_challenge: await oc.calculatePKCECodeChallenge(verifier(pre, state)),
      code_challenge_method: 'S256',
      // The provider must ask again, whatever session it has with this browser.
      ...(reauth ? { prompt: 'login', max_age: '0' } : {}),
    });
    ctx.status = 302;
    ctx.set('Location', url.href);
  };

  router.get(OIDC_LOGIN_PATH, (ctx) => begin(ctx, boundedReturnTo(ctx.query.returnTo)));

  // Top-level navigation (a GET): the session cookie is SameSite=Lax. Started from
  // another site it only makes the user sign in at the provider to renew their own
  // session; it carries no action.
  router.get(OIDC_REAUTH_PATH, d.sessions.authenticate({ stale: 'allow' }), (ctx) =>
    begin(ctx, boundedReturnTo(ctx.query.returnTo), { handle: d.sessions.auth(ctx).session.handle }),
  );

  const renew = reauthRenewal(d);

  router.get(OIDC_CALLBACK_PATH, async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const state = ctx.query.state;
    const reauth = typeof state === 'string' && state.startsWith(REAUTH_STATE_PREFIX);
    const failed = (reason: string, err?: unknown) => {
      // Never the code, the state or a token: only why.
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : undefined;
      d.log.info(
        { event: 'oidc.failed', reason, reauth, ip: ctx.state.clientIp, err: err instanceof Error ? err.message : undefined, cause },
        reauth ? 'OpenID Connect re-authentication refused' : 'OpenID Connect sign-in refused',
      );
    };
    // A sign-in goes back to the sign-in page, a re-authentication to the confirm step.
    const refuse = (notice: NoticeCode & ConfirmNotice, reason: string, returnTo: string | null = null, err?: unknown) => {
      failed(reason, err);
      if (reauth) return redirect303(ctx, confirmLocation(notice, returnTo));
      d.metrics?.logins.inc({ result: 'failed' });
      redirect303(ctx, loginLocation(notice, returnTo));
    };

    if (typeof state !== 'string' || state.length === 0 || state.length > MAX_STATE_CHARS) {
      return refuse(typeof ctx.query.error === 'string' ? 'oidc_denied' : 'oidc_expired', 'no_state');
    }
    const pending = await d.states.take(stateKey(state));
    if (!pending || Boolean(pending.reauth) !== reauth) return refuse('oidc_expired', 'unknown_state');
    const pre = ctx.cookies.get(cookie);
    if (!isPreId(pre) || sha256(pre) !== pending.pre) return refuse('oidc_expired', 'other_browser', pending.returnTo);
    let renewing: Authenticated | null = null;
    if (pending.reauth) {
      const r = await d.sessions.load(ctx);
      if (!r || r.state === 'login_required') {
        failed('no_session');
        return redirect303(ctx, loginLocation('required', pending.returnTo));
      }
      // Only the session that asked: another one in this browser now is not renewed on its behalf.
      if (r.session.handle !== pending.reauth.handle) return refuse('oidc_expired', 'other_session', pending.returnTo);
      renewing = d.sessions.auth(ctx);
    }

    const current = new URL(settings.redirectUri);
    current.search = ctx.querystring;
    let claims: oc.IDToken | undefined;
    let accessToken = '';
    try {
      const tokens = await oc.authorizationCodeGrant(configuration, current, {
        pkceCodeVerifier: verifier(pre, state),
        expectedState: state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      claims = tokens.claims();
      accessToken = tokens.access_token;
    } catch (err) {
      if (err instanceof oc.AuthorizationResponseError) {
        return refuse('oidc_denied', `provider_error:${err.error.slice(0, 64)}`, pending.returnTo);
      }
      return refuse('oidc_failed', err instanceof oc.ClientError && err.code ? err.code : 'token_exchange', pending.returnTo, err);
    }
    if (!claims || typeof claims.sub !== 'string' || claims.sub.length === 0 || claims.sub.length > 255) {
      return refuse('oidc_failed', 'no_subject', pending.returnTo);
    }

    const sub = claims.sub;
    const sid = validSid(claims.sid);
    if (renewing && pending.reauth) {
      const why = await renew(ctx, renewing, { sub, sid, authTime: claims.auth_time, askedAt: pending.reauth.at });
      if (why) {
        failed(why.reason);
        return redirect303(ctx, confirmLocation(why.notice, pending.returnTo));
      }
      ctx.append('Set-Cookie', clearPre);
      return redirect303(ctx, returnToOrHome(pending.returnTo));
    }

    const userInfo = configuration.serverMetadata().userinfo_endpoint
      ? () => oc.fetchUserInfo(configuration, accessToken, sub)
      : undefined;
    const { user, created } = await localUser(
      { issuer: d.client.issuer, subject: sub, preferredUsername: claims.preferred_username, email: claims.email, userInfo },
      { users: d.users, identities: d.identities, hashPassword: d.hashPassword },
    );
    if (created) {
      await d.auth.event({ type: 'user.created', username: user.username, userId: user.id, by: method }, 'user created at first OpenID Connect sign-in');
    }
    // For back-channel logout by provider session (a provider without sids logs out by
    // sub): in the index before the cookie goes out, or a session could exist that the
    // provider's logout cannot end.
    const index = sid
      ? (handle: string) => d.logouts.addSession(d.client.issuer, sid, handle, d.sessions.service.policy.absoluteLifetimeMs)
      : undefined;
    // The same session as a password login with "keep me signed in", plus how the user signed in.
    const issued = await d.sessions.signIn(ctx, user, { method, remember: true, ...(index ? { beforeIssue: index } : {}) });
    if (!issued) {
      // Not a provider failure: the session service refused (a revoke-all landed) and has
      // already counted and audited it as a failed sign-in.
      failed('revoked_meanwhile');
      return redirect303(ctx, loginLocation('oidc_failed', pending.returnTo));
    }
    ctx.append('Set-Cookie', clearPre);
    redirect303(ctx, returnToOrHome(pending.returnTo));
  });

  const verifyLogout = logoutVerifier(d.client);
  router.post(OIDC_BACKCHANNEL_LOGOUT_PATH, async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const refuse = (reason: string) => {
      d.log.info({ event: 'oidc.logout_refused', reason, ip: ctx.state.clientIp }, 'back-channel logout token refused');
      ctx.status = 400;
      ctx.body = { error: 'invalid_request', error_description: 'The logout token is not valid.' };
    };
    let token: string | undefined;
    try {
      token = (await readFormBody(ctx)).get('logout_token');
    } catch (err) {
      if (err instanceof AppError && err.status < 500) return refuse(err.code);
      throw err;
    }
    if (!token || token.length > 16_384) return refuse('no_token');
    let claims: Awaited<ReturnType<typeof verifyLogout>>;
    try {
      claims = await verifyLogout(token);
    } catch (err) {
      return refuse(err instanceof Error ? err.message : 'invalid');
    }
    if (await d.logouts.used(d.client.issuer, claims.jti)) return refuse('replayed');

    // Revoking first and recording the jti after: both work when Redis is full, and a
    // failure in between leaves a token the provider may send again, to the same effect.
    let handles: string[] = [];
    let userId: string | undefined;
    if (claims.sid) {
      handles = await d.logouts.sessions(d.client.issuer, claims.sid);
      if (claims.sub) {
        // Both name the user: a token whose sid leads to someone else's session is not
        // about that session. Only live sessions count (the index keeps ended ones).
        const link = await d.identities.find(d.client.issuer, claims.sub);
        const live = (await Promise.all(handles.map((h) => d.sessions.service.get(h)))).filter((x) => x !== null);
        if (live.length > 0 && (!link || live.some((x) => x.tag !== link.tag))) return refuse('sid_sub_mismatch');
        userId = link?.username;
      }
    } else if (claims.sub) {
      const link = await d.identities.find(d.client.issuer, claims.sub);
      if (link) {
        userId = link.username;
        handles = (await d.sessions.service.list(link.tag)).filter((s) => s.authMethod === method).map((s) => s.handle);
      }
    }
    await d.sessions.service.revokeHandles(handles, 'oidc_backchannel_logout', { by: method }, userId);
    if (claims.sid) await d.logouts.forget(d.client.issuer, claims.sid, handles);
    await d.logouts.markUsed(d.client.issuer, claims.jti, LOGOUT_TOKEN_MAX_AGE_MS);
    ctx.status = 200;
    ctx.body = '';
  });

  return router;
}

