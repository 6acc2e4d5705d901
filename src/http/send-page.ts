/** How an HTML page is answered: the page CSP and referrer policy, HTML content type. */
import type { Context } from 'koa';
import type { SafeHtml } from '../views/html.js';

/** Scripts, styles and images from this origin only; nothing inline, no framing. */
export const PAGE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * `same-origin`, not the API's `no-referrer`: under `no-referrer` Chromium sends
 * `Origin: null` with a page's own form posts, which the cross-site check must refuse.
 * The Referer still never leaves the site.
 */
export const PAGE_REFERRER_POLICY = 'same-origin';

export function sendPage(ctx: Context, page: SafeHtml, status = 200): void {
  ctx.status = status;
  ctx.set('Content-Security-Policy', PAGE_CSP);
  ctx.set('Referrer-Policy', PAGE_REFERRER_POLICY);
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = page.value;
}
