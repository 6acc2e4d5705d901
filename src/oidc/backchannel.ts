/**
 * OpenID Connect Back-Channel Logout 1.0: the provider POSTs a `logout_token` (a JWT)
 * when a user signs out there. It is verified as the specification's section 2.6 asks:
 * signature against the provider's JWKS, `iss`, `aud` (this client), `iat` (recent),
 * `exp` when present, an `events` member with the back-channel logout event, no
 * `nonce` (an ID token must not pass for one), `sub` and/or `sid`, and a `jti` not
 * seen before.
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { OidcClient } from './client.js';

const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** How old a logout token may be; its `jti` is remembered this long. */
export const LOGOUT_TOKEN_MAX_AGE_MS = 10 * 60_000;

export interface LogoutClaims {
  sub?: string;
  sid?: string;
  jti: string;
}

class LogoutTokenError extends Error {
  override name = 'LogoutTokenError';
}

export type LogoutVerifier = (token: string) => Promise<LogoutClaims>;

export function logoutVerifier(client: OidcClient): LogoutVerifier {
  const meta = client.configuration.serverMetadata();
  // jose caches the key set and refetches it when a token names an unknown key (rotation).
  const jwks = createRemoteJWKSet(new URL(meta.jwks_uri!), { timeoutDuration: 5000 });
  const algorithms = meta.id_token_signing_alg_values_supported?.filter((a) => a !== 'none');
  return async (token) => {
    let payload: Record<string, unknown>;
    try {
      const verified = await jwtVerify(token, jwks, {
        issuer: client.issuer,
        audience: client.settings.clientId,
        maxTokenAge: LOGOUT_TOKEN_MAX_AGE_MS / 1000,
        requiredClaims: ['iat', 'jti', 'events'],
        ...(algorithms && algorithms.length > 0 ? { algorithms } : {}),
      });
      payload = verified.payload as Record<string, unknown>;
      const typ = verified.protectedHeader.typ?.toLowerCase();
      if (typ !== undefined && typ !== 'logout+jwt' && typ !== 'application/logout+jwt' && typ !== 'jwt') {
        throw new LogoutTokenError(`unexpected typ ${typ}`);
      }
    } catch (err) {
      if (err instanceof LogoutTokenError) throw err;
      throw new LogoutTokenError(err instanceof Error ? err.message : 'invalid token');
    }
    const events = payload.events as Record<string, unknown> | undefined;
    const event = events && typeof events === 'object' ? events[LOGOUT_EVENT] : undefined;
    if (!event || typeof event !== 'object' || Array.isArray(event)) throw new LogoutTokenError('no back-channel logout event');
    if ('nonce' in payload) throw new LogoutTokenError('a logout token has no nonce');
    const str = (v: unknown) => (typeof v === 'string' && v.length > 0 && v.length <= 255 ? v : undefined);
    const sub = str(payload.sub);
    const sid = str(payload.sid);
    const jti = str(payload.jti);
    if (!sub && !sid) throw new LogoutTokenError('neither sub nor sid');
    if (!jti) throw new LogoutTokenError('no jti');
    return { jti, ...(sub ? { sub } : {}), ...(sid ? { sid } : {}) };
  };
}
