/**
 * "Chrome 120 on Linux" from a user-agent string. The server stores this summary in the
 * session record instead of the raw header (src/devices/user-agent.ts), and the pages run
 * the stored value through here again, so a summary must come back unchanged: only a
 * string with a `product/version` token is parsed. Anything the parser does not
 * recognise is kept as it is (the templates escape it), cut short.
 */
import { parseUserAgent } from './parse-user-agent.js';

export type DeviceKind = 'mobile' | 'tablet' | 'desktop' | 'unknown';

export interface DeviceSummary {
  /** Human label, e.g. "Mobile Safari 17 on iOS 17.2 (iPhone)". */
  label: string;
  kind: DeviceKind;
}

const MAX_FALLBACK = 80;
// Raw user agents carry product tokens ("Mozilla/5.0", "curl/8.5"); summaries do not.
const PRODUCT_TOKEN = /[A-Za-z]\/\d/;

function verbatim(ua: string): DeviceSummary {
  const label = ua.length > MAX_FALLBACK ? `${ua.slice(0, MAX_FALLBACK - 1)}…` : ua;
  const kind: DeviceKind = /\b(iPad|Tablet)\b/.test(ua)
    ? 'tablet'
    : /\b(iPhone|Android|Mobile)\b/.test(ua)
      ? 'mobile'
      : / on /.test(ua)
        ? 'desktop'
        : 'unknown';
  return { label, kind };
}

export function describeDevice(userAgent: string | undefined): DeviceSummary {
  const ua = (userAgent ?? '').trim();
  if (!ua) return { label: 'Unknown device', kind: 'unknown' };
  if (!PRODUCT_TOKEN.test(ua)) return verbatim(ua);
  const r = parseUserAgent(ua);
  const browser = r.browser ? [r.browser, r.major].filter(Boolean).join(' ') : '';
  const os = r.os ? [r.os, r.osVersion].filter(Boolean).join(' ') : '';
  const model = r.model;
  const kind: DeviceKind = r.form === 'mobile' ? 'mobile' : r.form === 'tablet' ? 'tablet' : browser || os ? 'desktop' : 'unknown';
  // Not a browser (curl, an app): show it as it is.
  if (!browser && !os) return { ...verbatim(ua), kind };
  let label = browser || 'Browser';
  if (os) label += ` on ${os}`;
  if (model && !os.includes(model)) label += ` (${model})`;
  return { label, kind };
}
