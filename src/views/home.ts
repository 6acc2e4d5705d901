/**
 * "Who am I, and when does this session end": the two clocks of docs/design.md, "The model" side by side.
 * The idle countdown ticks in the browser (assets/countdown.js) from the remaining time
 * the server measured on the store's clock, so a skewed browser clock cannot mislead it.
 */
import type { SessionInfo } from '../sessions/types.js';
import { describeDevice } from '../devices/describe.js';
import { formatDuration, relative, timeTag } from './format.js';
import { html, type SafeHtml } from './html.js';
import { layout } from './layout.js';

export interface HomePageInput {
  username: string;
  session: SessionInfo;
  /** The store's time of the decision (ms). */
  now: number;
  csrf: string;
  /** true when this very request renewed a stale session (rotated its ID). */
  refreshed?: boolean;
}

export function homePage(input: HomePageInput): SafeHtml {
  const { session: s, now } = input;
  const idleLeft = Math.max(0, s.idleExpiresAt - now);
  const absoluteLeft = Math.max(0, s.absoluteExpiresAt - now);
  const endedText = s.refreshable
    ? 'ended: the next page you load renews the session'
    : 'ended: you will need to sign in again';
  const body = html`<h1>Signed in as <span class="username">${input.username}</span></h1>
${input.refreshed && html`<p class="notice" role="status">Your session had been idle, so it was renewed with a new session ID. You stay signed in.</p>`}
<div class="clocks">
<section class="card clock" aria-labelledby="idle-h">
<h2 id="idle-h">Idle timeout</h2>
<p class="big" aria-live="off"><span id="idle-countdown" data-countdown data-remaining-ms="${idleLeft}" data-ended-text="${endedText}">${formatDuration(idleLeft)}</span></p>
<p>Ends at ${timeTag(s.idleExpiresAt)} unless you keep using the site: each request moves it forward (${formatDuration(s.idleTimeoutMs)} window).</p>
<p class="hint">${
    s.refreshable
      ? 'After it ends, your next visit renews the session automatically, until the absolute lifetime ends.'
      : 'This session is not kept: after the idle window ends you sign in again.'
  }</p>
</section>
<section class="card clock" aria-labelledby="abs-h">
<h2 id="abs-h">Absolute lifetime</h2>
<p class="big" id="absolute-left">${formatDuration(absoluteLeft)}</p>
<p>Ends at ${timeTag(s.absoluteExpiresAt)}, whatever you do. Activity never extends it; after it you sign in again.</p>
</section>
</div>
<section class="card" aria-labelledby="sess-h">
<h2 id="sess-h">This session</h2>
<dl class="facts">
<dt>Signed in</dt><dd>${timeTag(s.authAt)} (${relative(s.authAt, now)})</dd>
<dt>Created</dt><dd>${timeTag(s.createdAt)}</dd>
<dt>Last active</dt><dd>${timeTag(s.lastActiveAt)} (${relative(s.lastActiveAt, now)})</dd>
<dt>Device</dt><dd>${describeDevice(s.userAgent).label}</dd>
<dt>IP address</dt><dd>${s.ip || 'unknown'}</dd>
<dt>Session handle</dt><dd><code>${s.handle}</code></dd>
<dt>Kept signed in</dt><dd>${s.refreshable ? 'yes' : 'no'}</dd>
</dl>
<p><a href="/account/sessions">See all your devices</a></p>
</section>`;
  return layout({
    title: 'Home',
    body,
    user: { username: input.username },
    csrf: input.csrf,
    current: 'home',
    scripts: ['countdown.js'],
  });
}
