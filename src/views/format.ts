/**
 * Times on the pages. Deadlines are decided on the store's clock (docs/design.md, invariant 2), so the
 * pages show them in UTC with a duration relative to the store's `now`, never to the
 * browser's clock, which may be off by minutes.
 */
import { html, type SafeHtml } from './html.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

const datePart = (d: Date) => `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
const timePart = (d: Date) => `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;

/** "3 Jan 2026, 14:05 UTC" */
function formatDateTime(ms: number): string {
  const d = new Date(ms);
  return `${datePart(d)}, ${timePart(d)}`;
}

/** A compact duration: "42 s", "14 min 5 s", "3 h 20 min", "29 days 23 h". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const days = Math.floor(h / 24);
  return h % 24 ? `${days} days ${h % 24} h` : `${days} days`;
}

/** "in 14 min" / "3 min ago" relative to the store's now. */
export function relative(ms: number, now: number): string {
  const d = ms - now;
  if (Math.abs(d) < 1000) return 'now';
  return d > 0 ? `in ${formatDuration(d)}` : `${formatDuration(-d)} ago`;
}

/** A <time> element: machine-readable ISO instant, human-readable UTC text. */
export const timeTag = (ms: number): SafeHtml =>
  html`<time datetime="${new Date(ms).toISOString()}">${formatDateTime(ms)}</time>`;

/** The same on two lines (date, then time), for narrow table columns. */
export function timeTagStacked(ms: number): SafeHtml {
  const d = new Date(ms);
  return html`<time datetime="${d.toISOString()}"><span class="nowrap">${datePart(d)}</span> <span class="nowrap">${timePart(d)}</span></time>`;
}
