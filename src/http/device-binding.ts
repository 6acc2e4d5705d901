/**
 * Device binding (DBSC) as the HTTP layer sees it (docs/security.md, "Device binding"):
 * the registration offer on responses of sessions not bound yet, the bound cookie, and
 * the session config both endpoints answer. The proof clock itself is the server's:
 * a bound session is refused once its last proof is older than the bound lifetime,
 * whatever the browser does with the cookie (src/http/middleware/session.ts).
 *
 * The bound cookie is a second, short-lived cookie next to the session cookie. It carries
 * nothing the server reads: its expiry is what makes the browser come back with a proof,
 * and the session cookie stays the only credential (so a browser without DBSC, or a
 * deployment with binding off, sees no difference at all).
 */
import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import { type Challenges, createChallenges, REGISTRATION_CHALLENGE_TTL_MS } from '../binding/challenge.js';
import { registrationHeader, sessionConfig } from '../binding/headers.js';
import type { SessionInfo } from '../sessions/types.js';
import { expiredCookie } from './cookies.js';

export const REGISTER_PATH = '/auth/dbsc/register';
export const REFRESH_PATH = '/auth/dbsc/refresh';

export interface DeviceBinding {
  /** SESSION_BOUND_COOKIE_LIFETIME (ms): how long one proof keeps a bound session usable. */
  readonly lifetimeMs: number;
  readonly challenges: Challenges;
  readonly cookieName: string;
  /** Whether the session's last proof is too old for it to be used (`now`: the store's time). */
  overdue(session: SessionInfo, now: number): boolean;
  /** Adds the registration offer (`Secure-Session-Registration`) for a session not bound yet. */
  offer(ctx: Context, session: SessionInfo, now: number): void;
  /** Sends the bound cookie (Max-Age = the bound lifetime). */
  setCookie(ctx: Context): void;
  /** Removes the bound cookie, when the request carried one. */
  clearCookie(ctx: Context): void;
  /** The session config JSON both DBSC endpoints answer. */
  config(ctx: Context, handle: string): ReturnType<typeof sessionConfig>;
}

export interface DeviceBindingOptions {
  lifetimeMs: number;
  /** The session cookie's name: the bound cookie is `<name>-bound`. */
  sessionCookie: string;
  /** Master key of the challenges' MAC (the pages' form key: shared by every node). Read at each use. */
  master: () => Buffer;
  /** PUBLIC_ORIGIN; unset: `https://<Host>` (binding runs over HTTPS only). */
  publicOrigin: string | undefined;
}

// The exact attributes the browser checks the cookie against; the __Host- prefix needs
// them (Secure, Path=/, no Domain), and binding runs only with Secure cookies.
const ATTRIBUTES = 'Path=/; Secure; HttpOnly; SameSite=Lax';

function createDeviceBinding(o: DeviceBindingOptions): DeviceBinding {
  let master: Buffer | undefined;
  let challenges: Challenges | undefined;
  const current = (): Challenges => {
    const m = o.master();
    if (m !== master) {
      master = m;
      challenges = createChallenges(m);
    }
    return challenges!;
  };
  const cookieName = `${o.sessionCookie}-bound`;
  const maxAge = Math.max(1, Math.floor(o.lifetimeMs / 1000));
  return {
    lifetimeMs: o.lifetimeMs,
    get challenges() {
      return current();
    },
    cookieName,
    overdue: (s, now) => s.boundAt !== undefined && now - s.boundAt >= o.lifetimeMs,
    offer(ctx, session, now) {
      const challenge = current().issue('register', session.handle, '', now, REGISTRATION_CHALLENGE_TTL_MS);
      ctx.set('Secure-Session-Registration', registrationHeader(REGISTER_PATH, challenge));
    },
    setCookie(ctx) {
      ctx.append('Set-Cookie', `${cookieName}=1; ${ATTRIBUTES}; Max-Age=${maxAge}`);
    },
    clearCookie(ctx) {
      if ((ctx.get('Cookie') || '').includes(`${cookieName}=`)) ctx.append('Set-Cookie', expiredCookie(cookieName, `; ${ATTRIBUTES}`));
    },
    config: (ctx, handle) =>
      sessionConfig({
        id: handle,
        refreshUrl: REFRESH_PATH,
        origin: o.publicOrigin ?? `https://${ctx.host}`,
        cookieName,
        cookieAttributes: ATTRIBUTES,
      }),
  };
}

/**
 * The binding a configuration asks for: none unless SESSION_DEVICE_BINDING is in effect
 * (on, with Secure cookies). `master`: the form CSRF master key (FORM_CSRF_KEY, or the one
 * shared through Redis), or a function reading it once it is known; unset: a random key
 * per process (the embedded store's single node).
 */
export function deviceBindingFor(
  config: { deviceBinding: boolean; boundCookieLifetimeMs: number; publicOrigin: string | undefined },
  sessionCookie: string,
  master: string | Buffer | (() => Buffer) | undefined,
): DeviceBinding | undefined {
  if (!config.deviceBinding) return undefined;
  const fixed = master === undefined ? randomBytes(32) : typeof master === 'string' ? Buffer.from(master) : master;
  return createDeviceBinding({
    lifetimeMs: config.boundCookieLifetimeMs,
    sessionCookie,
    master: typeof fixed === 'function' ? fixed : () => fixed,
    publicOrigin: config.publicOrigin,
  });
}
