/**
 * The relying party: discovery at start, then openid-client does every protocol check
 * (state, RFC 9207 `iss`, PKCE, the code exchange, the ID token's signature, `iss`,
 * `aud`, `azp`, `nonce`, `exp`/`iat`). Nothing here re-implements any of them.
 */
import * as oc from 'openid-client';
import type { OidcConfig } from './config.js';

export interface OidcClient {
  readonly settings: OidcConfig;
  /** openid-client's view of the provider and of this client. */
  readonly configuration: oc.Configuration;
  /** The issuer as the provider names itself (discovery checked it is the configured one). */
  readonly issuer: string;
}

export class OidcDiscoveryError extends Error {
  override name = 'OidcDiscoveryError';
}

/** Requests to the provider give up after this long: a callback then gets a notice, not a hang. */
const TIMEOUT_S = 10;

const loopback = (u: URL) => ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);

export async function discoverOidc(settings: OidcConfig): Promise<OidcClient> {
  const server = new URL(settings.issuer);
  let configuration: oc.Configuration;
  try {
    configuration = await oc.discovery(
      server,
      settings.clientId,
      undefined,
      // The registration default of OpenID Connect, which every provider supports.
      oc.ClientSecretBasic(settings.clientSecret),
      {
        timeout: TIMEOUT_S,
        // Plain HTTP only for a provider on this machine (development, tests); the
        // configuration refuses http:// anywhere else.
        execute: loopback(server) && server.protocol === 'http:' ? [oc.allowInsecureRequests] : [],
      },
    );
  } catch (err) {
    const cause = err instanceof Error ? err.message : String(err);
    throw new OidcDiscoveryError(`OpenID Connect discovery at ${settings.issuer} failed: ${cause}`);
  }
  const meta = configuration.serverMetadata();
  if (!meta.authorization_endpoint || !meta.token_endpoint || !meta.jwks_uri) {
    throw new OidcDiscoveryError(`the provider at ${settings.issuer} does not publish an authorization, token and JWKS endpoint`);
  }
  if (meta.code_challenge_methods_supported && !meta.code_challenge_methods_supported.includes('S256')) {
    throw new OidcDiscoveryError(`the provider at ${settings.issuer} does not support PKCE with S256`);
  }
  return Object.freeze({ settings, configuration, issuer: meta.issuer });
}
