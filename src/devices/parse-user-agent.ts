/**
 * A small user-agent reader: browser and major version, system, device model and form
 * factor. It knows the dozen browsers and five systems that make up nearly all traffic
 * and nothing else; an unknown agent yields empty fields and the caller shows the raw
 * text. Pure and regex-only, so the server needs no UA database (the common one is AGPL).
 */

export type FormFactor = 'mobile' | 'tablet' | 'desktop';

export interface ParsedUserAgent {
  /** e.g. "Chrome", "Mobile Safari", "Edge"; '' when not recognised. */
  browser: string;
  /** Major version, e.g. "120"; '' when unknown. */
  major: string;
  /** e.g. "Windows 10", "iOS", "Android", "macOS", "Linux"; '' when not recognised. */
  os: string;
  /** e.g. "17.2" for iOS and Android, '' otherwise. */
  osVersion: string;
  /** e.g. "iPhone", "Pixel 8"; '' when unknown. */
  model: string;
  form: FormFactor | '';
}

// Order matters: Chromium derivatives also say "Chrome/…", Chrome also says "Safari/…".
const BROWSERS: ReadonlyArray<readonly [name: string, token: RegExp]> = [
  ['Edge', /\bEdg(?:e|A|iOS)?\/(\d+)/],
  ['Opera', /\b(?:OPR|OPiOS)\/(\d+)/],
  ['Samsung Internet', /\bSamsungBrowser\/(\d+)/],
  ['Yandex', /\bYaBrowser\/(\d+)/],
  ['Vivaldi', /\bVivaldi\/(\d+)/],
  ['Chrome Headless', /\bHeadlessChrome\/(\d+)/],
  ['Mobile Chrome', /\bCriOS\/(\d+)/],
  ['Mobile Firefox', /\bFxiOS\/(\d+)/],
  ['Chrome WebView', /; wv\).*\bChrome\/(\d+)/],
  ['Chrome', /\bChrome\/(\d+)/],
  ['Firefox', /\bFirefox\/(\d+)/],
  ['IE', /\bMSIE (\d+)/],
  ['IE', /\bTrident\/.*\brv:(\d+)/],
  ['Safari', /\bVersion\/(\d+)[\d.]* (?:Mobile\/\S+ )?Safari\//],
];

const WINDOWS: Readonly<Record<string, string>> = {
  '10.0': '10',
  '6.3': '8.1',
  '6.2': '8',
  '6.1': '7',
  '6.0': 'Vista',
  '5.2': 'XP',
  '5.1': 'XP',
};

// Chrome's reduced user agent names every Android device "K": no model at all.
const NO_MODEL = new Set(['K', 'U', 'Mobile', 'Tablet', 'wv']);

function system(ua: string): Pick<ParsedUserAgent, 'os' | 'osVersion' | 'model' | 'form'> {
  const apple = /\b(iPhone|iPad|iPod)\b/.exec(ua);
  if (apple) {
    const v = /\bOS (\d+(?:[_.]\d+)*)/.exec(ua)?.[1] ?? /\biOS (\d+(?:\.\d+)*)/.exec(ua)?.[1] ?? '';
    const model = apple[1] as string;
    return { os: 'iOS', osVersion: v.replaceAll('_', '.'), model, form: model === 'iPad' ? 'tablet' : 'mobile' };
  }
  const android = /\bAndroid(?: (\d+(?:\.\d+)*))?/.exec(ua);
  if (android) {
    // The model is the field after "Android n" in the comment: "(Linux; Android 14; Pixel 8 Build/…)".
    const after = ua.slice(android.index + android[0].length);
    const field = /^;\s*([^;)]+)/.exec(after)?.[1]?.replace(/\s*Build\/.*$/, '').trim() ?? '';
    const model = NO_MODEL.has(field) || /^rv:/.test(field) ? '' : field;
    // Android tablets leave "Mobile" out of the user agent.
    return { os: 'Android', osVersion: android[1] ?? '', model, form: /\bMobile\b/.test(ua) ? 'mobile' : 'tablet' };
  }
  const windows = /\bWindows NT (\d+\.\d+)/.exec(ua);
  if (windows) {
    const name = WINDOWS[windows[1] as string];
    return { os: name ? `Windows ${name}` : 'Windows', osVersion: '', model: '', form: 'desktop' };
  }
  // Every browser on macOS reports 10.15.7 whatever the release, so the version says nothing.
  if (/\bMac OS X\b|\bMacintosh\b/.test(ua)) return { os: 'macOS', osVersion: '', model: '', form: 'desktop' };
  const cros = /\bCrOS \S+ (\d+(?:\.\d+)*)/.exec(ua);
  if (cros) return { os: 'Chrome OS', osVersion: cros[1] ?? '', model: '', form: 'desktop' };
  const distro = /\b(Ubuntu|Fedora|Debian)\b/.exec(ua);
  if (distro) return { os: distro[1] as string, osVersion: '', model: '', form: 'desktop' };
  if (/\bLinux\b|\bX11\b/.test(ua)) return { os: 'Linux', osVersion: '', model: '', form: 'desktop' };
  return { os: '', osVersion: '', model: '', form: '' };
}

export function parseUserAgent(ua: string): ParsedUserAgent {
  let browser = '';
  let major = '';
  for (const [name, token] of BROWSERS) {
    const m = token.exec(ua);
    if (m) {
      browser = name;
      major = m[1] ?? '';
      break;
    }
  }
  const sys = system(ua);
  // Chrome, Firefox and Safari on a phone or tablet are their mobile editions.
  if ((browser === 'Chrome' || browser === 'Firefox') && sys.form && sys.form !== 'desktop' && /\bMobile\b/.test(ua)) {
    browser = `Mobile ${browser}`;
  }
  if (browser === 'Safari' && sys.os === 'iOS') browser = 'Mobile Safari';
  return { browser, major, ...sys };
}
