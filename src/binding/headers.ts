/**
 * The DBSC wire format: structured-field headers (RFC 9651) and the session config JSON,
 * with the field names Chrome reads.
 */

// An sf-string holds printable ASCII only; refusing anything else here keeps a bad path
// or id from becoming a header the browser silently ignores.
const sfString = (s: string): string => {
  if (!/^[\x20-\x7e]*$/.test(s)) throw new TypeError('not printable ASCII: cannot be a structured-field string');
  return `"${s.replace(/[\\"]/g, '\\$&')}"`;
};

/** ES256 first: it is the one algorithm software keys (Linux, macOS without a TPM) can do. */
export function registrationHeader(path: string, challenge: string): string {
  return `(ES256 RS256);path=${sfString(path)};challenge=${sfString(challenge)}`;
}

export function challengeHeader(challenge: string, id: string): string {
  return `${sfString(challenge)};id=${sfString(id)}`;
}

/** What registration and refresh answer; `include_site` is required since Chrome's second origin trial. */
export function sessionConfig(o: { id: string; refreshUrl: string; origin: string; cookieName: string; cookieAttributes: string }) {
  return {
    session_identifier: o.id,
    refresh_url: o.refreshUrl,
    scope: { origin: o.origin, include_site: false, scope_specification: [] as unknown[] },
    credentials: [{ type: 'cookie' as const, name: o.cookieName, attributes: o.cookieAttributes }],
  };
}

const MAX_HEADER_CHARS = 8192 + 16;
// A bare sf-token: a JWT or a simple id is one, and some clients send them unquoted.
const TOKEN = /^[A-Za-z*][\w!#$%&'*+.^`|~:/-]*$/;

/**
 * The bare value of an sf-string header (its parameters ignored, as the spec asks), or
 * undefined when it is not one. Chrome quotes both `Sec-Secure-Session-Id` and
 * `Secure-Session-Response`, so neither can be used as it arrives.
 */
const sfValue = (header: string | undefined): string | undefined => {
  if (typeof header !== 'string' || header.length > MAX_HEADER_CHARS) return undefined;
  const h = header.trim();
  if (!h.startsWith('"')) {
    const bare = h.split(';', 1)[0]!.trimEnd();
    return TOKEN.test(bare) ? bare : undefined;
  }
  let out = '';
  for (let i = 1; i < h.length; i++) {
    const c = h[i]!;
    if (c === '"') {
      const rest = h.slice(i + 1).trimStart();
      return rest === '' || rest.startsWith(';') ? out : undefined;
    }
    if (c === '\\') {
      const next = h[++i];
      if (next !== '"' && next !== '\\') return undefined;
      out += next;
    } else if (c >= '\x20' && c <= '\x7e') out += c;
    else return undefined;
  }
  return undefined;
};

/** The session identifier of a refresh request's `Sec-Secure-Session-Id`, or undefined. */
export function parseSessionId(header: string | undefined): string | undefined {
  const id = sfValue(header);
  return id === '' ? undefined : id;
}

/** The JWT in a `Secure-Session-Response` header, ready for ./proof.ts, or undefined. */
export function parseProofHeader(header: string | undefined): string | undefined {
  const jwt = sfValue(header);
  return jwt === '' ? undefined : jwt;
}
