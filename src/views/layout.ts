/**
 * The page frame shared by every page. Everything it loads comes from this origin
 * (/assets/…): the pages run under `default-src 'self'` with no inline script or style.
 */
import { html, type SafeHtml } from './html.js';

export interface LayoutInput {
  title: string;
  body: SafeHtml;
  /** Signed-in user: shows the navigation and the sign-out form. */
  user?: { username: string } | undefined;
  /** Form token for the sign-out form in the header (required with `user`). */
  csrf?: string | undefined;
  /** Which nav entry is current. */
  current?: 'home' | 'devices' | undefined;
  /** Extra scripts from /assets (deferred, same origin). */
  scripts?: readonly string[];
}

const ASSET_PREFIX = '/assets/';

export function signOutForm(csrf: string, label = 'Sign out', cls = 'link'): SafeHtml {
  return html`<form method="post" action="/logout" class="inline">
<input type="hidden" name="_csrf" value="${csrf}">
<button type="submit" class="${cls}">${label}</button>
</form>`;
}

function nav(input: LayoutInput): SafeHtml {
  if (!input.user || !input.csrf) return html``;
  const aria = (page: LayoutInput['current']) => (input.current === page ? 'page' : null);
  const link = (href: string, page: LayoutInput['current'], label: string) =>
    aria(page)
      ? html`<a href="${href}" aria-current="page">${label}</a>`
      : html`<a href="${href}">${label}</a>`;
  return html`<nav aria-label="Account">
<span class="who">${input.user.username}</span>
${link('/', 'home', 'Home')}
${link('/account/sessions', 'devices', 'Your devices')}
${signOutForm(input.csrf)}
</nav>`;
}

export function layout(input: LayoutInput): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${input.title} · sliding-sessions</title>
<link rel="icon" href="${ASSET_PREFIX}favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="${ASSET_PREFIX}style.css">
${(input.scripts ?? []).map((s) => html`<script src="${ASSET_PREFIX}${s}" defer></script>\n`)}
</head>
<body>
<header class="top">
<a class="brand" href="/">sliding-sessions</a>
${nav(input)}
</header>
<main>
${input.body}
</main>
</body>
</html>
`;
}
