/**
 * "Confirm your password": the recent-authentication clock ran out before an action
 * that ends other sessions. The form carries the pending action (one of a fixed set,
 * checked again when posted) so that confirming completes what the user asked for.
 */
import { html, type SafeHtml } from './html.js';
import { layout } from './layout.js';

export const CONFIRM_PATH = '/account/confirm';

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
}

export function confirmPage(input: ConfirmPageInput): SafeHtml {
  const body = html`<section class="card narrow">
<h1>Confirm your password</h1>
<p>${input.what} ends sessions on other devices. To make sure it is you, enter your password again.</p>
${input.error && html`<p class="error" role="alert" id="confirm-error">${input.error}</p>`}
<form method="post" action="${CONFIRM_PATH}" class="stack"${input.error ? html` aria-describedby="confirm-error"` : ''}>
<input type="hidden" name="_csrf" value="${input.csrf}">
${input.action && html`<input type="hidden" name="action" value="${input.action}">`}
${input.returnTo && html`<input type="hidden" name="returnTo" value="${input.returnTo}">`}
<input type="text" name="username" autocomplete="username" value="${input.username}" hidden readonly>
<div class="field">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required autofocus>
</div>
<button type="submit" class="primary">Confirm</button>
</form>
<p class="hint"><a href="/account/sessions">Cancel</a></p>
</section>`;
  return layout({ title: 'Confirm your password', body, user: { username: input.username }, csrf: input.csrf, current: 'devices' });
}
