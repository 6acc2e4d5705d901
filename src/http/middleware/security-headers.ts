/**
 * Headers on every response (docs/security.md, "Response headers"), set before anything else runs
 * so error answers carry them too. `Cache-Control: no-store` is the default for
 * everything (authenticated answers and every Set-Cookie must not be cached); a route
 * serving a static asset may relax it. The CSP is the strictest for JSON; pages send
 * their own.
 */
import type { ServerResponse } from 'node:http';
import type { Middleware } from 'koa';

const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** Sets the headers on a Node response: for a caller that fuses them into its own middleware. */
export function securityHeaderSetter(opts: { hsts: boolean }): (res: ServerResponse) => void {
  const headers: Record<string, string> = {
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Content-Security-Policy': API_CSP,
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Cache-Control': 'no-store',
  };
  if (opts.hsts) headers['Strict-Transport-Security'] = 'max-age=31536000; includeSubDomains';
  // Set straight on the Node response (constant, valid values): koa's ctx.set would
  // re-check and re-convert every one of them on every request.
  const entries = Object.entries(headers);
  return (res) => {
    for (const [name, value] of entries) res.setHeader(name, value);
  };
}

export function securityHeaders(opts: { hsts: boolean }): Middleware {
  const set = securityHeaderSetter(opts);
  return function setSecurityHeaders(ctx, next) {
    set(ctx.res);
    return next();
  };
}
