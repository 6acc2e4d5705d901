/**
 * "Chrome 120 on Linux" from a user-agent string, for the devices page. The session
 * record may hold a raw (truncated) user agent or an already compact summary; anything
 * the parser does not recognise is shown as it is (escaped by the template), cut short.
 */
import { UAParser } from 'ua-parser-js';

export type DeviceKind = 'mobile' | 'tablet' | 'desktop' | 'unknown';

export interface DeviceSummary {
  /** Human label, e.g. "Mobile Safari 17 on iOS 17.2 (iPhone)". */
  label: string;
  kind: DeviceKind;
}

const MAX_FALLBACK = 80;

export function describeDevice(userAgent: string | undefined): DeviceSummary {
  const ua = (userAgent ?? '').trim();
  if (!ua) return { label: 'Unknown device', kind: 'unknown' };
  const r = UAParser(ua);
  const browser = r.browser.name ? [r.browser.name, r.browser.major].filter(Boolean).join(' ') : '';
  const os = r.os.name ? [r.os.name, r.os.version].filter(Boolean).join(' ') : '';
  const model = r.device.model ?? '';
  const type = r.device.type;
  const kind: DeviceKind =
    type === 'mobile' ? 'mobile' : type === 'tablet' ? 'tablet' : browser || os ? 'desktop' : 'unknown';
  if (!browser && !os) {
    // Not a browser UA (curl, an app, or a summary the server stored): show it verbatim.
    const label = ua.length > MAX_FALLBACK ? `${ua.slice(0, MAX_FALLBACK - 1)}…` : ua;
    return { label, kind };
  }
  let label = browser || 'Browser';
  if (os) label += ` on ${os}`;
  if (model && !os.includes(model)) label += ` (${model})`;
  return { label, kind };
}
