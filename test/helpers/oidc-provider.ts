/**
 * A real OpenID Provider for the tests: node-oidc-provider on a loopback port, with one
 * confidential client and test accounts. Its login and consent steps are answered by
 * the provider itself for whichever account `signInAs` names (the tests drive the
 * browser side over plain HTTP), so a flow is redirects only.
 *
 *   const op = await startProvider({ redirectUri: `${origin}/auth/oidc/callback` });
 *   op.signInAs('alice-sub');   // the next authorization signs in this account
 *   await op.close();
 *
 * Back-channel logout is on: a sign-out at the provider (`/session/end`) POSTs a logout
 * token to the app, and `logoutToken()` mints one signed by the provider for the tests
 * to send themselves (another client's, with a nonce, …).
 */
import { randomUUID } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import Provider, { type Configuration } from 'oidc-provider';
import { freePort } from './ports.js';

export interface TestAccount {
  preferred_username?: string;
  email?: string;
}

export interface TestProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  provider: Provider;
  accounts: Map<string, TestAccount>;
  /**
   * The account the next interaction signs in (by its `sub`); `authTime` (seconds) sets
   * the `auth_time` the provider records, as if the user had signed in then.
   */
  signInAs(sub: string, o?: { authTime?: number }): void;
  /** A logout token signed by the provider: for the test client unless `clientId` says another. */
  logoutToken(o: { sub?: string; sid?: string; clientId?: string; nonce?: string; jti?: string }): Promise<string>;
  /** The second registered client (a token for it is not for the app). */
  otherClientId: string;
  close(): Promise<void>;
}

export async function startProvider(o: {
  redirectUri: string;
  /** Where the provider POSTs logout tokens; unset = no back-channel logout for the client. */
  backchannelLogoutUri?: string;
  clientId?: string;
  clientSecret?: string;
}): Promise<TestProvider> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = o.clientId ?? 'sliding-sessions-test';
  const clientSecret = o.clientSecret ?? 'a-test-client-secret-that-is-long-enough';
  const accounts = new Map<string, TestAccount>();
  let current = '';
  let authTime: number | undefined;

  const config: Configuration = {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [o.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        ...(o.backchannelLogoutUri
          ? { backchannel_logout_uri: o.backchannelLogoutUri, backchannel_logout_session_required: true }
          : {}),
      },
      {
        client_id: 'another-client',
        client_secret: 'another-client-secret-that-is-long-enough',
        redirect_uris: [o.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    async findAccount(_ctx, sub) {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...account }) };
    },
    claims: { openid: ['sub'], email: ['email'], profile: ['preferred_username'] },
    // Each test browser has its own provider session: signInAs applies to a browser's first sign-in.
    features: { devInteractions: { enabled: false }, backchannelLogout: { enabled: true } },
    cookies: { keys: ['test-provider-cookie-key-0123456789'] },
    // The provider refuses to call loopback addresses (SSRF protection, through its own
    // dispatcher); the app under test is on one, so its requests go out plainly.
    fetch: (url: string, { dispatcher: _, ...options }: RequestInit & { dispatcher?: unknown }) => fetch(url, options),
  };
  const provider = new Provider(issuer, config);
  // The interaction (login + consent) answered at once for the chosen account.
  provider.use(async (ctx, next) => {
    if (ctx.method !== 'GET' || !ctx.path.startsWith('/interaction/')) return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const accountId = current;
    const grant = new provider.Grant({ accountId, clientId: String(details.params.client_id) });
    grant.addOIDCScope(String(details.params.scope));
    const grantId = await grant.save();
    const to = await provider.interactionResult(
      ctx.req,
      ctx.res,
      { login: { accountId, ...(authTime === undefined ? {} : { ts: authTime }) }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
    ctx.status = 303;
    ctx.set('Location', to);
  });

  const server: Server = createServer(provider.callback());
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    issuer,
    clientId,
    clientSecret,
    provider,
    accounts,
    signInAs(sub, o = {}) {
      current = sub;
      authTime = o.authTime;
    },
    otherClientId: 'another-client',
    async logoutToken(t) {
      // As the provider's own Client#backchannelLogout builds one.
      const client = await provider.Client.find(t.clientId ?? clientId);
      const token = new provider.IdToken(t.sub ? { sub: t.sub } : {}, { client, ctx: undefined });
      if (t.sub) token.mask = { sub: null };
      token.set('events', { 'http://schemas.openid.net/event/backchannel-logout': {} });
      token.set('jti', t.jti ?? randomUUID());
      if (t.sid) token.set('sid', t.sid);
      if (t.nonce) token.set('nonce', t.nonce);
      return token.issue({ use: 'logout' });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
