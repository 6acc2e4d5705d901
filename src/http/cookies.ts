/**
 * The session cookie (docs/security.md, "Session cookie"), written by hand so every
 * attribute is exactly ours: `HttpOnly; SameSite=Lax; Path=/`, no Domain, `Secure` and
 * the `__Host-` prefix when COOKIE_SECURE. `remember: true` → Expires = the absolute
 * deadline; otherwise a browser-session cookie. Clearing sends Max-Age=0 and an Expires
 * in 1970.
 *
 * Reading: the name is matched exactly (case-sensitive), and a name present twice
 * counts as no cookie at all — two candidates mean someone planted one, so neither is
 * trusted. The value must have the token shape (isToken) before any store call.
 */
import type { Context } from 'koa';
import { isToken } from '../sessions/token.js';

export interface CookieSettings {
  name: string;
  secure: boolean;
}

export const cookieSettings = (secure: boolean): CookieSettings => ({
  name: secure ? '__Host-sid' : 'sid',
  secure,
});

export type CookieRead =
  | { kind: 'none' }
  | { kind: 'duplicate' }
  | { kind: 'malformed' }
  | { kind: 'token'; token: string };

/** Finds the session cookie in a Cookie header. */
export function readSessionCookie(header: string | undefined, name: string): CookieRead {
  if (!header) return { kind: 'none' };
  let value: string | undefined;
  let seen = 0;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    seen++;
    value = part.slice(eq + 1).trim();
  }
  if (seen === 0) return { kind: 'none' };
  if (seen > 1) return { kind: 'duplicate' };
  // Shape only: the store hashes the secret once, when it validates.
  return isToken(value) ? { kind: 'token', token: value } : { kind: 'malformed' };
}

const attrs = (c: CookieSettings) => `; Path=/; HttpOnly; SameSite=Lax${c.secure ? '; Secure' : ''}`;

export function serializeSessionCookie(c: CookieSettings, token: string, expiresAt?: number): string {
  const expires = expiresAt === undefined ? '' : `; Expires=${new Date(expiresAt).toUTCString()}`;
  return `${c.name}=${token}${attrs(c)}${expires}`;
}

/** A Set-Cookie that removes cookie `name` set with `attributes` (they must match, or browsers keep it). */
export const expiredCookie = (name: string, attributes: string): string =>
  `${name}=${attributes}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT`;

export const serializeClearCookie = (c: CookieSettings): string => expiredCookie(c.name, attrs(c));

/** Replaces any session Set-Cookie this response already carries (one answer per response). */
function putCookie(ctx: Context, c: CookieSettings, header: string): void {
  const existing = ctx.response.headers['set-cookie'];
  const list = (Array.isArray(existing) ? existing : existing ? [String(existing)] : []).filter(
    (h) => !h.startsWith(`${c.name}=`),
  );
  ctx.set('Set-Cookie', [...list, header]);
}

/** Sends the session cookie. `persistent`: Expires at the absolute deadline. */
export function setSessionCookie(
  ctx: Context,
  c: CookieSettings,
  token: string,
  session: { absoluteExpiresAt: number },
  persistent: boolean,
): void {
  putCookie(ctx, c, serializeSessionCookie(c, token, persistent ? session.absoluteExpiresAt : undefined));
}

export function clearSessionCookie(ctx: Context, c: CookieSettings): void {
  putCookie(ctx, c, serializeClearCookie(c));
}
