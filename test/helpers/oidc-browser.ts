/**
 * A browser for OpenID Connect flows over plain HTTP, against the app and a real
 * provider (test/helpers/oidc-provider.ts): cookie jars by origin, redirects followed by
 * hand, so a test sees every Set-Cookie and Location on the way.
 *
 *   const s = await oidcSetup({ redis });
 *   const b = new Browser();
 *   await signIn(s, b, 'sub-alice');
 *   (await me(s, b)).status // 200
 */
import type { Clock } from '../../src/clock.js';
import type { Env } from '../../src/config.js';
import { type TestProvider, startProvider } from './oidc-provider.js';
import { freePort } from './ports.js';
import type { RedisProcess } from './redis-server.js';
import { type TestServer, type TestServerOptions, startServer } from './server.js';

/** What the browser helpers need of a setup: the app, its provider and its origin. */
export interface OidcSide {
  srv: TestServer;
  op: TestProvider;
  origin: string;
}

export interface OidcSetup extends OidcSide {
  close(): Promise<void>;
}

/** The app with OIDC on (`OIDC_NAME=Test IdP`), its provider, and back-channel logout registered. */
export async function oidcSetup(
  o: { redis?: RedisProcess; env?: Env; clock?: Clock; wrapStore?: TestServerOptions['wrapStore'] } = {},
): Promise<OidcSetup> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const op = await startProvider({
    redirectUri: `${origin}/auth/oidc/callback`,
    backchannelLogoutUri: `${origin}/auth/oidc/backchannel-logout`,
  });
  const srv = await startServer({
    redis: o.redis,
    clock: o.clock,
    wrapStore: o.wrapStore,
    env: {
      PORT: String(port),
      PUBLIC_ORIGIN: origin,
      OIDC_ISSUER: op.issuer,
      OIDC_CLIENT_ID: op.clientId,
      OIDC_CLIENT_SECRET: op.clientSecret,
      OIDC_NAME: 'Test IdP',
      ...o.env,
    },
  });
  return {
    srv,
    op,
    origin,
    async close() {
      await srv.close();
      await op.close();
    },
  };
}

export interface Res {
  status: number;
  location: string | null;
  setCookies: string[];
  headers: Headers;
  body: string;
}

/** Cookie jars by origin (paths ignored: each side's cookies go to that side only). */
export class Browser {
  readonly jars = new Map<string, Map<string, string>>();

  constructor(readonly extraHeaders: Record<string, string> = {}) {}

  jar(url: string): Map<string, string> {
    const o = new URL(url).origin;
    let j = this.jars.get(o);
    if (!j) {
      j = new Map();
      this.jars.set(o, j);
    }
    return j;
  }

  get(url: string): Promise<Res> {
    return this.request(url);
  }

  /** A form post, as a browser sends it. */
  post(url: string, fields: Record<string, string>): Promise<Res> {
    return this.request(url, new URLSearchParams(fields).toString());
  }

  async request(url: string, form?: string): Promise<Res> {
    const jar = this.jar(url);
    const headers: Record<string, string> = {
      accept: 'text/html',
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0',
      ...this.extraHeaders,
    };
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin = new URL(url).origin;
    }
    const res = await fetch(url, { method: form === undefined ? 'GET' : 'POST', redirect: 'manual', headers, body: form });
    const setCookies = res.headers.getSetCookie();
    for (const c of setCookies) {
      const pair = c.split(';', 1)[0]!;
      const eq = pair.indexOf('=');
      const [name, value] = [pair.slice(0, eq), pair.slice(eq + 1)];
      if (/;\s*Max-Age=0/i.test(c) || /expires=Thu, 01 Jan 1970/i.test(c) || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    const location = res.headers.get('location');
    return { status: res.status, location: location && new URL(location, url).href, setCookies, headers: res.headers, body: await res.text() };
  }

  /** Follows redirects from `url` until one leads to a URL `stop` accepts; returns that URL. */
  async followUntil(url: string, stop: (u: string) => boolean): Promise<string> {
    let next = url;
    for (let i = 0; i < 15; i++) {
      const r = await this.get(next);
      if (!r.location) throw new Error(`${next} answered ${r.status} without a redirect: ${r.body.slice(0, 300)}`);
      if (stop(r.location)) return r.location;
      next = r.location;
    }
    throw new Error('too many redirects');
  }
}

export const isCallback = (s: OidcSide) => (u: string) => u.startsWith(`${s.origin}/auth/oidc/callback`);

/** Starts a sign-in and walks the provider; returns the callback URL (not yet opened). */
export async function toCallback(s: OidcSide, b: Browser, sub: string, returnTo?: string): Promise<string> {
  s.op.signInAs(sub);
  const start = await b.get(`${s.origin}/auth/oidc/login${returnTo ? `?returnTo=${encodeURIComponent(returnTo)}` : ''}`);
  if (start.status !== 302 || !start.location?.startsWith(s.op.issuer)) throw new Error(`login answered ${start.status} ${start.location}`);
  return b.followUntil(start.location, isCallback(s));
}

export async function signIn(s: OidcSide, b: Browser, sub: string, returnTo?: string): Promise<Res> {
  return b.get(await toCallback(s, b, sub, returnTo));
}

export async function me(s: OidcSide, b: Browser): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${s.origin}/api/me`, { headers: { cookie: `sid=${b.jar(s.origin).get('sid') ?? ''}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export const hasSession = (r: Res) => r.setCookies.some((c) => /^sid=[^;]+/.test(c) && !/Max-Age=0/i.test(c));

export const postLogout = (s: OidcSetup, token: string) =>
  fetch(`${s.origin}/auth/oidc/backchannel-logout`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ logout_token: token }).toString(),
  });

/** The provider session's `sid` for the app's client, as the ID tokens of this browser carry it. */
export async function providerSid(s: OidcSetup, b: Browser): Promise<string> {
  // The provider's Session model is not in the few types test/helpers/oidc-provider-types.d.ts declares.
  const { Session } = s.op.provider as unknown as { Session: { find(id: unknown): Promise<{ sidFor(clientId: string): string | undefined } | undefined> } };
  const sid = (await Session.find(b.jar(s.op.issuer).get('_session')))?.sidFor(s.op.clientId);
  if (!sid) throw new Error('no provider session for this browser');
  return sid;
}
