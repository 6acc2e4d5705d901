/**
 * The OIDC part of the configuration: which variables belong together and what they
 * yield. src/config.ts parses each variable (its schema holds them) and calls
 * `oidcConfig` with the parsed values; nothing here reads the environment.
 */
export interface OidcConfig {
  /** The issuer identifier; discovery reads `<issuer>/.well-known/openid-configuration`. */
  issuer: string;
  clientId: string;
  /** A secret: never logged. */
  clientSecret: string;
  scopes: string;
  /** Shown on the sign-in button. */
  name: string;
  /** `<PUBLIC_ORIGIN>/auth/oidc/callback`: registered at the provider. */
  redirectUri: string;
  /** Sign-ins one client address may start per state lifetime (OIDC_STARTS_PER_ADDRESS). */
  startsPerAddress: number;
}

export const OIDC_CALLBACK_PATH = '/auth/oidc/callback';
export const OIDC_LOGIN_PATH = '/auth/oidc/login';
export const OIDC_BACKCHANNEL_LOGOUT_PATH = '/auth/oidc/backchannel-logout';
export const OIDC_REAUTH_PATH = '/auth/oidc/reauthenticate';

export interface OidcParsed {
  oidcIssuer: string | undefined;
  oidcClientId: string | undefined;
  oidcClientSecret: string | undefined;
  oidcScopes: string | undefined;
  oidcName: string | undefined;
  oidcStartsPerAddress: number | undefined;
  publicOrigin: string | undefined;
}

/** undefined = OIDC off (no issuer). `fail(variable, message)` throws a ConfigError. */
export function oidcConfig(p: OidcParsed, fail: (variable: string, msg: string) => never): OidcConfig | undefined {
  if (p.oidcIssuer === undefined) {
    for (const [name, v] of [['OIDC_CLIENT_ID', p.oidcClientId], ['OIDC_CLIENT_SECRET', p.oidcClientSecret]] as const) {
      // A half-configured provider is a typo, not a wish to turn it off.
      if (v !== undefined) fail('OIDC_ISSUER', `is required with ${name}`);
    }
    return undefined;
  }
  if (p.oidcClientId === undefined) fail('OIDC_CLIENT_ID', 'is required with OIDC_ISSUER');
  if (p.oidcClientSecret === undefined) fail('OIDC_CLIENT_SECRET', 'is required with OIDC_ISSUER');
  // The redirect URI registered at the provider must be the one browsers come back to;
  // a Host header can be anything, so it is never guessed from one.
  if (p.publicOrigin === undefined) {
    fail('PUBLIC_ORIGIN', 'is required with OIDC_ISSUER (the redirect URI is <PUBLIC_ORIGIN>/auth/oidc/callback)');
  }
  const scopes = (p.oidcScopes ?? 'openid email profile').split(/\s+/).filter(Boolean);
  if (!scopes.includes('openid')) fail('OIDC_SCOPES', 'must include openid');
  return Object.freeze({
    issuer: p.oidcIssuer,
    clientId: p.oidcClientId!,
    clientSecret: p.oidcClientSecret!,
    scopes: scopes.join(' '),
    name: p.oidcName ?? 'your provider',
    redirectUri: `${p.publicOrigin}${OIDC_CALLBACK_PATH}`,
    startsPerAddress: p.oidcStartsPerAddress ?? 100,
  });
}
