/**
 * User names: NFKC-normalized and lower-cased, then 1–64 characters of
 * [a-z0-9._@-]. Normalizing first means `Alice`, `ALICE` and `Ａｌｉｃｅ` (fullwidth) are
 * one account, so nobody can register a look-alike twin; the narrow alphabet keeps
 * names safe in keys, logs, HTML and terminals without escaping tricks, and allows
 * e-mail-like names.
 */
export const USERNAME_MAX = 64;
const USERNAME_RE = /^[a-z0-9._@-]{1,64}$/;

/** The canonical user name, or null when the input cannot be one. */
export function normalizeUsername(raw: unknown): string | null {
  // The length guard comes first so a huge string is never normalized.
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > USERNAME_MAX * 4) return null;
  const name = raw.normalize('NFKC').toLowerCase();
  return USERNAME_RE.test(name) ? name : null;
}
