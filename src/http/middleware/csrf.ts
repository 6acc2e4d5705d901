/**
 * Cross-site request refusal (docs/security.md, "Cross-site requests (CSRF)"). An unsafe request is refused
 * with 403 `csrf` when `Sec-Fetch-Site` is `cross-site` or `same-site`, or when an
 * `Origin` header is present and is not this site's origin (`Origin: null` included).
 * A request with neither header is allowed: browsers always send `Origin` on
 * cross-site unsafe requests, so such a request does not come from a browser page.
 *
 * Forms add a token on top (src/http/form-csrf.ts): pass `verifyToken` to require one.
 */
import type { Context, Middleware } from 'koa';
import { csrfRefused } from '../../errors.js';

export interface OriginPolicy {
  /** PUBLIC_ORIGIN: when set, the only origin accepted. */
  publicOrigin?: string;
  /** COOKIE_SECURE: the site is https, so an http origin is foreign. */
  secure: boolean;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
export const isUnsafeMethod = (method: string): boolean => !SAFE.has(method);

/** The origins this request may legitimately come from. */
export function expectedOrigins(ctx: Context, policy: OriginPolicy): string[] {
  if (policy.publicOrigin) return [policy.publicOrigin];
  const host = ctx.get('Host').toLowerCase();
  if (!host) return [];
  // Without PUBLIC_ORIGIN we trust the Host header: a browser sets it to the site it
  // talks to. Behind a TLS proxy the app sees http, hence https is always accepted.
  return policy.secure || ctx.secure ? [`https://${host}`] : [`https://${host}`, `http://${host}`];
}

/** true when the request comes from this site or not from a browser page at all. */
export function isSameOriginRequest(ctx: Context, policy: OriginPolicy): boolean {
  const site = ctx.get('Sec-Fetch-Site').toLowerCase();
  if (site === 'cross-site' || site === 'same-site') return false;
  const origin = ctx.get('Origin');
  if (!origin) return true;
  return expectedOrigins(ctx, policy).includes(origin.toLowerCase());
}

export interface CsrfOptions {
  /** An extra check for unsafe requests (a form token); false → 403 csrf. */
  verifyToken?: (ctx: Context) => boolean | Promise<boolean>;
}

export function csrfProtection(policy: OriginPolicy, opts: CsrfOptions = {}): Middleware {
  return async function refuseCrossSite(ctx, next) {
    if (isUnsafeMethod(ctx.method)) {
      // Caches (there are none: no-store) must not reuse an answer decided on these.
      ctx.vary('Origin');
      ctx.vary('Sec-Fetch-Site');
      if (!isSameOriginRequest(ctx, policy)) throw csrfRefused();
      if (opts.verifyToken && !(await opts.verifyToken(ctx))) throw csrfRefused();
    }
    await next();
  };
}
