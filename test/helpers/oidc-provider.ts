/**
 * A real OpenID Provider for the tests: node-oidc-provider on a loopback port, with one
 * confidential client and test accounts. Its login and consent steps are answered by
 * the provider itself for whichever account `signInAs` names (the tests drive the
 * browser side over plain HTTP), so a flow is redirects only.
 *
 *   const op = await startProvider({ redirectUri: `${origin}/auth/oidc/callback` });
 *   op.signInAs('alice-sub');   // the next authorization signs in this account
 *   await op.close();
 */
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
  /** The account the next interaction signs in (by its `sub`). */
  signInAs(sub: string): void;
  close(): Promise<void>;
}

export async function startProvider(o: { redirectUri: string; clientId?: string; clientSecret?: string }): Promise<TestProvider> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = o.clientId ?? 'sliding-sessions-test';
  const clientSecret = o.clientSecret ?? 'a-test-client-secret-that-is-long-enough';
  const accounts = new Map<string, TestAccount>();
  let current = '';

  const config: Configuration = {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
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
    features: { devInteractions: { enabled: false } },
    cookies: { keys: ['test-provider-cookie-key-0123456789'] },
    // Every authorization asks again, so each test's signInAs takes effect.
    ttl: { Session: 1 },
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
      { login: { accountId }, consent: { grantId } },
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
    signInAs(sub) {
      current = sub;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
