/**
 * CSRF tokens for the HTML forms (DESIGN §6, checklist F-01/F-02), on top of the
 * Origin / Sec-Fetch-Site check every unsafe request already passes.
 *
 * An HMAC token, not one stored in the session: rendering a page must not cost a
 * second store write (DESIGN §4), and the login form has no session to store it in.
 *   token = nonce "." HMAC-SHA256(key, scope \0 binding \0 nonce)
 * - signed-in forms are bound to the hash of the session ID the page was rendered for,
 *   so another session's token fails, and the token rotates with the ID;
 * - the login form is bound to a random pre-session cookie, which is cleared at login
 *   and never becomes the session: a pre-login token is worthless afterwards.
 * The fresh nonce per render keeps tokens unique (no fixed secret in every page).
 *
 * The key is per process unless one is configured: with several app nodes behind a
 * non-sticky balancer, configure the same key on each (see README "Pages").
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { nanoid } from 'nanoid';

export type CsrfScope = 'session' | 'pre';

/** Name of the form field carrying the token. */
export const CSRF_FIELD = '_csrf';

/** Pre-session cookie: random, HttpOnly, only ever used to bind the login form's token. */
export const preCookieName = (secure: boolean) => (secure ? '__Host-pre' : 'pre');
const PRE_RE = /^[A-Za-z0-9_-]{32}$/;
export const newPreId = (): string => nanoid(32);
export const isPreId = (v: unknown): v is string => typeof v === 'string' && PRE_RE.test(v);

const TOKEN_RE = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

export interface FormCsrf {
  /** A token for a form rendered for this binding (session ID hash, or pre-session id). */
  issue(scope: CsrfScope, binding: string): string;
  /** true when `token` was issued for `scope` and one of `bindings`. */
  verify(token: unknown, scope: CsrfScope, bindings: readonly string[]): boolean;
}

export function createFormCsrf(key?: string | Buffer): FormCsrf {
  // A configured key is stretched to 32 bytes so any length of configured secret works.
  const k = key === undefined || key.length === 0 ? randomBytes(32) : createHash('sha256').update(key).digest();
  const mac = (scope: CsrfScope, binding: string, nonce: string) =>
    createHmac('sha256', k).update(`${scope}\0${binding}\0${nonce}`).digest();
  return Object.freeze({
    issue(scope: CsrfScope, binding: string): string {
      const nonce = randomBytes(16).toString('base64url');
      return `${nonce}.${mac(scope, binding, nonce).toString('base64url')}`;
    },
    verify(token: unknown, scope: CsrfScope, bindings: readonly string[]): boolean {
      if (typeof token !== 'string') return false;
      const m = TOKEN_RE.exec(token);
      if (!m) return false;
      const given = Buffer.from(m[2]!, 'base64url');
      let ok = false;
      // Check every binding (no early exit) so timing says nothing about which matched.
      for (const b of bindings) {
        if (b && timingSafeEqual(given, mac(scope, b, m[1]!))) ok = true;
      }
      return ok;
    },
  });
}
