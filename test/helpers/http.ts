/**
 * A small HTTP client for API tests: JSON in and out, the session cookie as a plain
 * string (tests decide exactly what Cookie header is sent), Set-Cookie parsed.
 */
export interface Reply {
  status: number;
  headers: Headers;
  /** Parsed JSON body, or undefined. */
  body: Record<string, unknown> | undefined;
  text: string;
  setCookies: string[];
  /** The value a Set-Cookie gave `name` ('' when cleared), or undefined. */
  cookie(name?: string): string | undefined;
}

export interface RequestOptions {
  /** Sent as JSON with Content-Type: application/json. */
  json?: unknown;
  /** A raw body (set Content-Type yourself). */
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Sent as `Cookie: sid=<token>` unless it already contains '='. */
  cookie?: string;
}

export function client(baseUrl: string, cookieName = 'sid') {
  return async function request(method: string, path: string, o: RequestOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...o.headers };
    if (o.cookie !== undefined) headers.cookie = o.cookie.includes('=') ? o.cookie : `${cookieName}=${o.cookie}`;
    let body: string | Buffer | undefined = o.body;
    if (o.json !== undefined) {
      body = JSON.stringify(o.json);
      headers['content-type'] ??= 'application/json';
    } else if (body === undefined && !['GET', 'HEAD'].includes(method) && !('content-type' in headers)) {
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(baseUrl + path, { method, headers, body: body as BodyInit | undefined, redirect: 'manual' });
    const text = await res.text();
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    } catch {
      parsed = undefined;
    }
    const setCookies = res.headers.getSetCookie();
    return {
      status: res.status,
      headers: res.headers,
      body: parsed,
      text,
      setCookies,
      cookie(name = cookieName) {
        const line = setCookies.find((c) => c.startsWith(`${name}=`));
        return line === undefined ? undefined : line.slice(name.length + 1).split(';')[0];
      },
    };
  };
}

export type Request = ReturnType<typeof client>;
