/**
 * The sign-in form. The notice says why the user is here (it arrives as a code in the
 * query string, so only these fixed texts can ever be shown); a failed attempt re-renders
 * the form with the error and the username kept — escaped like any other value.
 */
import { html, type SafeHtml } from './html.js';
import { layout } from './layout.js';

const NOTICES = {
  required: 'Please sign in to continue.',
  signed_out: 'You have signed out.',
  idle: 'Your session ended after a period of inactivity. Please sign in again.',
  expired: 'Your session reached its maximum lifetime. Please sign in again.',
  // The store cannot tell "revoked elsewhere" from "lapsed and already removed by its
  // TTL" (both are simply gone), so this one names both causes.
  ended:
    'Your session has ended: it was signed out from another device, or it expired. Please sign in again.',
  replay:
    'For your safety, your session was ended because it was used from two places. Please sign in again.',
  // A bound session whose device did not renew it in time (a copied cookie, or a
  // browser that lost its device key): the cookie is kept, the device may still renew it.
  unproven: 'This session is bound to another device, or that device has not confirmed it recently. Please sign in.',
  // OpenID Connect sign-in (src/oidc/routes.ts): no session was created.
  oidc_denied: 'Sign-in with your provider was cancelled or refused. You are not signed in.',
  oidc_expired: 'That sign-in link had expired or was already used. Please sign in again.',
  oidc_failed: 'Sign-in with your provider did not succeed. Please try again.',
} as const;

export type NoticeCode = keyof typeof NOTICES;

export const isNotice = (v: unknown): v is NoticeCode =>
  typeof v === 'string' && Object.hasOwn(NOTICES, v);

export interface LoginPageInput {
  csrf: string;
  username?: string | undefined;
  /** "Keep me signed in"; checked unless the user unticked it on a failed attempt. */
  remember?: boolean | undefined;
  /** Already validated same-origin path. */
  returnTo?: string | null | undefined;
  notice?: NoticeCode | null | undefined;
  error?: string | null | undefined;
  /** OIDC_NAME when OpenID Connect sign-in is on: the "Sign in with …" link. */
  oidcName?: string | null | undefined;
}

const oidcHref = (returnTo: string | null | undefined) =>
  returnTo ? `/auth/oidc/login?returnTo=${encodeURIComponent(returnTo)}` : '/auth/oidc/login';

export function loginPage(input: LoginPageInput): SafeHtml {
  const remember = input.remember ?? true;
  const action = input.returnTo ? `/login?returnTo=${encodeURIComponent(input.returnTo)}` : '/login';
  const body = html`<section class="card narrow">
<h1>Sign in</h1>
${input.notice && html`<p class="notice" role="status">${NOTICES[input.notice]}</p>`}
${input.error && html`<p class="error" role="alert" id="login-error">${input.error}</p>`}
<form method="post" action="${action}" class="stack"${input.error ? html` aria-describedby="login-error"` : ''}>
<input type="hidden" name="_csrf" value="${input.csrf}">
${input.returnTo && html`<input type="hidden" name="returnTo" value="${input.returnTo}">`}
<div class="field">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="256" value="${input.username ?? ''}"${input.username ? '' : html` autofocus`}>
</div>
<div class="field">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${input.username ? html` autofocus` : ''}>
</div>
<div class="check">
<input id="remember" name="remember" type="checkbox" value="on"${remember ? html` checked` : ''}>
<label for="remember">Keep me signed in</label>
</div>
<button type="submit" class="primary">Sign in</button>
</form>
${input.oidcName && html`<p class="alt-signin"><a class="button" href="${oidcHref(input.returnTo)}">Sign in with ${input.oidcName}</a></p>`}
<p class="hint">“Keep me signed in” lets an idle session be renewed without your password until its maximum lifetime. Untick it on a shared computer: the session then ends after a short period of inactivity, or when the browser closes.</p>
</section>`;
  return layout({ title: 'Sign in', body });
}
