/**
 * The HTML face of an AppError, for browsers (the error renderer picks JSON or HTML by
 * Accept). Only the status and the error's exposable message are shown; a 5xx that is
 * not a known condition says nothing about internals.
 */
import { html, type SafeHtml } from './html.js';
import { layout } from './layout.js';

const TITLES: Record<number, string> = {
  400: 'Bad request',
  403: 'Request refused',
  404: 'Page not found',
  405: 'Method not allowed',
  413: 'Request too large',
  415: 'Unsupported request',
  429: 'Too many attempts',
  503: 'Temporarily unavailable',
};

export interface ErrorPageInput {
  status: number;
  /** Safe to show (AppError.expose); otherwise a generic text is used. */
  message?: string | undefined;
}

export function errorPage(input: ErrorPageInput): SafeHtml {
  const title = TITLES[input.status] ?? (input.status >= 500 ? 'Something went wrong' : 'Error');
  const message =
    input.message ??
    (input.status >= 500 ? 'An unexpected error occurred. Please try again.' : 'The request could not be handled.');
  const body = html`<section class="card narrow">
<h1>${title}</h1>
<p class="status">Error ${input.status}</p>
<p>${message}</p>
${input.status === 503 ? html`<p class="hint">Nothing was lost: you are still signed in. Try again in a moment.</p>` : ''}
<p><a href="/">Go to the home page</a></p>
</section>`;
  return layout({ title, body });
}
