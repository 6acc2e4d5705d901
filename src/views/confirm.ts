/**
 * "Confirm your password": the recent-authentication clock ran out before an action
 * that ends other sessions. The form carries the pending action (one of a fixed set,
 * checked again when posted) so that confirming completes what the user asked for.
 *
 * A session signed in through the provider may confirm there instead (its account's
 * password is a random one nobody knows): a link to the provider's re-authentication,
 * which comes back here; the session then being fresh, the page offers the pending
 * action as one button (a POST with its CSRF token, never done by the GET itself).
 */
import { html, type SafeHtml } from './html.js';
import { layout } from './layout.js';

export const CONFIRM_PATH = '/account/confirm';

/** Why a confirmation through the provider did not renew the session (a code in the query: fixed texts only). */
const NOTICES = {
  oidc_denied: (p: string) => `Confirming with ${p} was cancelled or refused.`,
  oidc_expired: () => 'That confirmation had expired or was already used. Please try again.',
  oidc_failed: (p: string) => `Confirming with ${p} did not succeed. Please try again.`,
  oidc_other_account: (p: string) => `That account at ${p} is not the one linked to yours. Sign in there as yourself and try again.`,
  oidc_not_fresh: (p: string) => `${p} did not ask for your sign-in again. Please try again.`,
} as const;

export type ConfirmNotice = keyof typeof NOTICES;

export const isConfirmNotice = (v: unknown): v is ConfirmNotice => typeof v === 'string' && Object.hasOwn(NOTICES, v);

/** The confirm page with a notice, coming back to `returnTo` afterwards. */
export function confirmLocation(notice: ConfirmNotice, returnTo: string | null): string {
  const q = new URLSearchParams({ notice });
  if (returnTo) q.set('returnTo', returnTo);
  return `${CONFIRM_PATH}?${q}`;
}

export interface ConfirmPageInput {
  username: string;
  csrf: string;
  /** The pending action: `revoke-others` or `revoke:<handle>`; or none (just confirm). */
  action?: string | null;
  /** Already validated same-origin path to go to afterwards. */
  returnTo?: string | null;
  /** What the action does, in words. */
  what: string;
  error?: string | null;
  notice?: ConfirmNotice | null;
  /** Confirming at the provider: its name and the link that starts it. */
  oidc?: { name: string; href: string } | null;
  /** The session is fresh already: the pending action as one button. */
  proceed?: { path: string; label: string } | null;
}

export function confirmPage(input: ConfirmPageInput): SafeHtml {
  const title = input.oidc ? 'Confirm it is you' : 'Confirm your password';
  const page = (body: SafeHtml) => layout({ title, body, user: { username: input.username }, csrf: input.csrf, current: 'devices' });
  if (input.proceed) {
    return page(html`<section class="card narrow">
<h1>Confirmed</h1>
<p>${input.what} ends sessions on other devices.</p>
<form method="post" action="${input.proceed.path}" class="stack">
<input type="hidden" name="_csrf" value="${input.csrf}">
<button type="submit" class="primary">${input.proceed.label}</button>
</form>
<p class="hint"><a href="/account/sessions">Cancel</a></p>
</section>`);
  }
  const notice = input.notice ? NOTICES[input.notice](input.oidc?.name ?? 'your provider') : null;
  const error = input.error ?? notice;
  return page(html`<section class="card narrow">
<h1>${title}</h1>
<p>${input.what} ends sessions on other devices. To make sure it is you, ${input.oidc ? html`sign in again with ${input.oidc.name}, or enter your password.` : 'enter your password again.'}</p>
${error && html`<p class="error" role="alert" id="confirm-error">${error}</p>`}
${input.oidc && html`<p class="alt-signin"><a class="button" href="${input.oidc.href}">Confirm with ${input.oidc.name}</a></p>`}
<form method="post" action="${CONFIRM_PATH}" class="stack"${error ? html` aria-describedby="confirm-error"` : ''}>
<input type="hidden" name="_csrf" value="${input.csrf}">
${input.action && html`<input type="hidden" name="action" value="${input.action}">`}
${input.returnTo && html`<input type="hidden" name="returnTo" value="${input.returnTo}">`}
<input type="text" name="username" autocomplete="username" value="${input.username}" hidden readonly>
<div class="field">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${input.oidc ? '' : html` autofocus`}>
</div>
<button type="submit" class="primary">Confirm</button>
</form>
<p class="hint"><a href="/account/sessions">Cancel</a></p>
</section>`);
}
