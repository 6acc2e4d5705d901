/**
 * Where to go after signing in. Only a path on this site is accepted (no open redirect,
 * open redirects); anything doubtful falls back to "/" instead of being repaired.
 *
 * Browsers and proxies disagree about URLs in many small ways (`/\host` is `//host` to a
 * browser, tabs and newlines are stripped, some layers percent-decode once more), so
 * the rule is a narrow allow-list rather than a list of known tricks:
 * - printable ASCII only, at most 1024 characters, starting with a single `/`;
 * - no backslash, and not `//` or `/\` at the start, neither as given nor after each
 *   of up to three rounds of percent-decoding; no control characters once decoded;
 * - it must resolve to this origin when parsed as a URL relative to it.
 * The value is returned as given (not normalised): normalising `/.//evil` would yield
 * `//evil`, which is exactly the open redirect this guards against.
 */
const MAX_LENGTH = 1024;
const PRINTABLE = /^[!-~]+$/;

/** Control characters, DEL, and the Unicode line/paragraph separators. */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x2028 || c === 0x2029) return true;
  }
  return false;
}

function unsafeShape(s: string): boolean {
  return s.includes('\\') || hasControl(s) || !s.startsWith('/') || s.startsWith('//');
}

export function safeReturnTo(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_LENGTH) return null;
  if (!PRINTABLE.test(value) || unsafeShape(value)) return null;
  let decoded = value;
  for (let i = 0; i < 3; i++) {
    let next: string;
    try {
      next = decodeURIComponent(decoded);
    } catch {
      return null; // malformed escapes: nothing legitimate produces them
    }
    if (unsafeShape(next)) return null;
    if (next === decoded) break;
    decoded = next;
  }
  try {
    const base = 'http://return-to.invalid';
    if (new URL(value, base).origin !== base) return null;
  } catch {
    return null;
  }
  return value;
}

/** The login page itself (and its POST target) is never a useful destination. */
export function returnToOrHome(value: unknown): string {
  const path = safeReturnTo(value);
  if (!path) return '/';
  const bare = path.split(/[?#]/, 1)[0]!;
  return bare === '/login' || bare === '/logout' ? '/' : path;
}
