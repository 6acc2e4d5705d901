/**
 * CSRF tokens for the HTML forms (docs/pages.md; login CSRF included), on top of the
 * Origin / Sec-Fetch-Site check every unsafe request already passes.
 *
 * An HMAC token, not one stored in the session: rendering a page must not cost a
 * second store write (docs/performance.md), and the login form has no session to store it in.
 *   token = day "." nonce "." HMAC-SHA256(key of that day, scope \0 binding \0 nonce)
 * - signed-in forms are bound to the hash of the session ID the page was rendered for,
 *   so another session's token fails, and the token rotates with the ID;
 * - the login form is bound to a random pre-session cookie, which is cleared at login
 *   and never becomes the session: a pre-login token is worthless afterwards.
 * The fresh nonce per render keeps tokens unique (no fixed secret in every page).
 *
 * Keys: one master key, and from it a working key per day (HMAC of the master and the
 * day number). A token names its day; verify accepts the current day and its
 * neighbours (the previous one so a form rendered before midnight UTC still posts,
 * the next one for clock skew between nodes), so a token is good for 1 to 2 days and
 * the working key rotates with overlap and no coordination: every node derives the
 * same keys from the same master. The master is FORM_CSRF_KEY when set; else, on
 * Redis, one shared through Redis (store/form-key.ts); on the embedded store, a
 * random one per process (there is only one process).
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

const TOKEN_RE = /^([0-9a-z]{1,8})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

/** How long one working key signs new tokens. */
export const FORM_KEY_PERIOD_MS = 24 * 60 * 60 * 1000;

export interface FormCsrf {
  /** A token for a form rendered for this binding (session ID hash, or pre-session id). */
  issue(scope: CsrfScope, binding: string): string;
  /** true when `token` was issued for `scope` and one of `bindings`. */
  verify(token: unknown, scope: CsrfScope, bindings: readonly string[]): boolean;
}

export interface FormCsrfOptions {
  /** The clock that picks the working key (tests). */
  now?: () => number;
}

/**
 * `key`: the master (FORM_CSRF_KEY or the shared Redis one); none = random per process.
 * Any length works: it is stretched to 32 bytes.
 */
export function createFormCsrf(key?: string | Buffer, opts: FormCsrfOptions = {}): FormCsrf {
  const master = key === undefined || key.length === 0 ? randomBytes(32) : createHash('sha256').update(key).digest();
  const now = opts.now ?? Date.now;
  const day = () => Math.floor(now() / FORM_KEY_PERIOD_MS);
  const working = new Map<number, Buffer>();
  const keyOf = (kid: number): Buffer => {
    let k = working.get(kid);
    if (!k) {
      // Derived keys for days out of the window are never needed again.
      for (const old of working.keys()) if (Math.abs(old - kid) > 2) working.delete(old);
      k = createHmac('sha256', master).update(`form-csrf key\0${kid}`).digest();
      working.set(kid, k);
    }
    return k;
  };
  const mac = (kid: number, scope: CsrfScope, binding: string, nonce: string) =>
    createHmac('sha256', keyOf(kid)).update(`${scope}\0${binding}\0${nonce}`).digest();
  return Object.freeze({
    issue(scope: CsrfScope, binding: string): string {
      const kid = day();
      const nonce = randomBytes(16).toString('base64url');
      return `${kid.toString(36)}.${nonce}.${mac(kid, scope, binding, nonce).toString('base64url')}`;
    },
    verify(token: unknown, scope: CsrfScope, bindings: readonly string[]): boolean {
      if (typeof token !== 'string') return false;
      const m = TOKEN_RE.exec(token);
      if (!m) return false;
      const kid = Number.parseInt(m[1]!, 36);
      if (Math.abs(kid - day()) > 1) return false;
      // Compared as text, not as decoded bytes: the last base64url character carries two
      // unused bits, so decoding would accept four spellings of one MAC.
      const given = Buffer.from(m[3]!);
      let ok = false;
      // Check every binding (no early exit) so timing says nothing about which matched.
      for (const b of bindings) {
        if (!b) continue;
        const expected = Buffer.from(mac(kid, scope, b, m[2]!).toString('base64url'));
        if (given.length === expected.length && timingSafeEqual(given, expected)) ok = true;
      }
      return ok;
    },
  });
}
