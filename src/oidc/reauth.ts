/**
 * Re-authentication through the provider: the third clock (authenticatedAt) renewed by
 * signing in again at the provider instead of with a password, which an account made by
 * an OpenID Connect sign-in does not know (src/oidc/users.ts). The authorization request
 * carries `prompt=login` and `max_age=0`; the callback then requires the identity linked
 * to the session's user and an `auth_time` no older than the request, and renews the
 * session exactly as a password confirmation does (SessionService.reauthenticated: a new
 * ID, the same handle and deadlines).
 */
import type { Context } from 'koa';
import type { AuthService } from '../auth/auth-service.js';
import type { Authenticated, Sessions } from '../http/middleware/session.js';
import { sha256 } from '../sessions/token.js';
import type { ConfirmNotice } from '../views/confirm.js';
import type { OidcClient } from './client.js';
import type { IdentityStore } from './identity-store.js';
import type { OidcLogoutStore } from './logout-store.js';

/**
 * Re-authentication states carry this prefix (a sign-in's random state never has a
 * dot), so the callback knows which record to look for; that record is keyed apart
 * (`stateKey`), so a node that knows only sign-ins finds nothing for it rather than
 * signing someone in.
 */
export const REAUTH_STATE_PREFIX = 'r.';

export const stateKey = (state: string): string =>
  state.startsWith(REAUTH_STATE_PREFIX) ? sha256(`reauth\0${state}`) : sha256(state);

/** Two machines' clocks, and an auth_time in whole seconds. */
const AUTH_TIME_SKEW_MS = 5_000;

export interface ReauthDeps {
  client: OidcClient;
  identities: IdentityStore;
  logouts: OidcLogoutStore;
  sessions: Sessions;
  auth: AuthService;
}

export interface ProviderSignIn {
  sub: string;
  sid: string | undefined;
  /** The ID token's `auth_time`, unchecked. */
  authTime: unknown;
  /** When the re-authentication was asked for (ms). */
  askedAt: number;
}

/** Why the session was not renewed: the confirm step's notice, and the log's reason. */
export type ReauthRefusal = { notice: ConfirmNotice; reason: string };

/** Renews the session `a` (new cookie on `ctx`) after the provider signed in `id`; or says why not. */
export function reauthRenewal(d: ReauthDeps) {
  return async (ctx: Context, a: Authenticated, id: ProviderSignIn): Promise<ReauthRefusal | null> => {
    const ip = ctx.state.clientIp as string;
    const link = await d.identities.find(d.client.issuer, id.sub);
    // Never a new account or link here: an identity linked to no one proves nothing.
    if (!link || link.tag !== a.session.tag || link.username !== a.session.userId) {
      await d.auth.event(
        { type: 'login.failed', username: a.session.userId, handle: a.session.handle, ip, reason: 'oidc_reauth_other_identity' },
        're-authentication by another identity',
      );
      return { notice: 'oidc_other_account', reason: 'other_identity' };
    }
    // prompt=login and max_age=0 are requests; auth_time says whether the provider obeyed.
    if (typeof id.authTime !== 'number' || id.authTime * 1000 < id.askedAt - AUTH_TIME_SKEW_MS) {
      return { notice: 'oidc_not_fresh', reason: 'auth_time' };
    }
    // The provider session may be a new one now: its logout must end this session too.
    if (id.sid) await d.logouts.addSession(d.client.issuer, id.sid, a.session.handle, d.sessions.service.policy.absoluteLifetimeMs);
    const r = await d.sessions.service.reauthenticated(a.token, { by: 'user', ip });
    if (!r.ok) return { notice: 'oidc_expired', reason: 'session_ended' };
    d.sessions.issue(ctx, r.token, r.session, d.sessions.service.persistent(r.session));
    return null;
  };
}
