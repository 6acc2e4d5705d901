/**
 * "Your devices": every live session of the user, this one marked and first. A table on
 * wide screens that the stylesheet turns into stacked cards on a phone (data-label).
 */
import type { SessionInfo } from '../sessions/types.js';
import { describeDevice } from '../devices/describe.js';
import { relative, timeTagStacked } from './format.js';
import { html, type SafeHtml } from './html.js';
import { layout, signOutForm } from './layout.js';

const DEVICE_FLASHES = {
  revoked: 'The session was signed out.',
  revoked_others: 'Every other session was signed out.',
  not_found: 'That session no longer exists.',
} as const;
export type DeviceFlash = keyof typeof DEVICE_FLASHES;
export const isDeviceFlash = (v: unknown): v is DeviceFlash =>
  typeof v === 'string' && Object.hasOwn(DEVICE_FLASHES, v);

export interface DevicesPageInput {
  username: string;
  sessions: readonly SessionInfo[];
  currentHandle: string;
  now: number;
  csrf: string;
  flash?: DeviceFlash | null | undefined;
}

/** Path of the per-session sign-out form. */
const revokePath = (handle: string) => `/account/sessions/${encodeURIComponent(handle)}/revoke`;
export const REVOKE_OTHERS_PATH = '/account/sessions/revoke-others';

function state(s: SessionInfo, now: number): SafeHtml {
  if (now < s.idleExpiresAt) return html`<span class="badge ok">active</span>`;
  return s.refreshable
    ? html`<span class="badge idle" title="Renewed on its next request">idle</span>`
    : html`<span class="badge off">ended</span>`;
}

function row(s: SessionInfo, input: DevicesPageInput): SafeHtml {
  const current = s.handle === input.currentHandle;
  const device = describeDevice(s.userAgent);
  const action = current
    ? signOutForm(input.csrf, 'Sign out', 'danger small')
    : html`<form method="post" action="${revokePath(s.handle)}" class="inline">
<input type="hidden" name="_csrf" value="${input.csrf}">
<button type="submit" class="danger small" aria-label="Sign out ${device.label} (${s.handle})">Sign out</button>
</form>`;
  // Each cell's content is one element, so the phone layout's two-column grid
  // (label | value) keeps it together.
  return html`<tr${current ? html` class="current" aria-current="true"` : ''} data-handle="${s.handle}">
<td data-label="Device"><div><span class="device ${device.kind}">${device.label}</span>${current && html` <span class="badge me">this device</span>`}${s.boundAt !== undefined && html` <span class="badge bound">bound to ${current ? 'this' : 'its'} device</span>`}<br><code class="handle">${s.handle}</code><br><small class="auth-method">signed in with ${s.authMethod ?? 'password'}</small></div></td>
<td data-label="IP"><div>${s.ip || 'unknown'}</div></td>
<td data-label="Created"><div>${timeTagStacked(s.createdAt)}<br><small>password ${relative(s.authAt, input.now)}</small></div></td>
<td data-label="Last active"><div>${timeTagStacked(s.lastActiveAt)}<br><small>${relative(s.lastActiveAt, input.now)}</small></div></td>
<td data-label="Idle deadline"><div>${timeTagStacked(s.idleExpiresAt)}<br>${state(s, input.now)}</div></td>
<td data-label="Absolute deadline"><div>${timeTagStacked(s.absoluteExpiresAt)}<br><small>${relative(s.absoluteExpiresAt, input.now)}</small></div></td>
<td data-label="" class="action">${action}</td>
</tr>`;
}

export function devicesPage(input: DevicesPageInput): SafeHtml {
  const sessions = [...input.sessions].sort((a, b) => {
    if (a.handle === input.currentHandle) return -1;
    if (b.handle === input.currentHandle) return 1;
    return b.lastActiveAt - a.lastActiveAt;
  });
  const others = sessions.filter((s) => s.handle !== input.currentHandle).length;
  const body = html`<h1>Your devices</h1>
${input.flash && html`<p class="notice" role="status">${DEVICE_FLASHES[input.flash]}</p>`}
<p>You are signed in on ${sessions.length === 1 ? 'one device' : `${sessions.length} devices`}. Sign out any you don’t recognise.</p>
<div class="table-wrap">
<table class="sessions">
<caption class="visually-hidden">Your sessions</caption>
<thead><tr><th scope="col">Device</th><th scope="col">IP</th><th scope="col">Created</th><th scope="col">Last active</th><th scope="col">Idle deadline</th><th scope="col">Absolute deadline</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>
${sessions.map((s) => row(s, input))}
</tbody>
</table>
</div>
${
  others > 0
    ? html`<form method="post" action="${REVOKE_OTHERS_PATH}" class="actions">
<input type="hidden" name="_csrf" value="${input.csrf}">
<button type="submit" class="danger">Sign out everywhere else</button>
</form>`
    : html`<p class="hint">No other device is signed in.</p>`
}`;
  return layout({
    title: 'Your devices',
    body,
    user: { username: input.username },
    csrf: input.csrf,
    current: 'devices',
  });
}
