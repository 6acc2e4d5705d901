import test from 'ava';
import { compactUserAgent } from '../../src/devices/user-agent.js';
import { parseUserAgent } from '../../src/devices/parse-user-agent.js';
import { describeDevice } from '../../src/devices/describe.js';

// Real user agents as browsers, apps and tools send them, with the summary the pages show.
const TABLE: ReadonlyArray<readonly [ua: string, label: string, kind: string]> = [
  ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1', 'Mobile Safari 17 on iOS 17.2 (iPhone)', 'mobile'],
  ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', 'Chrome 120 on Linux', 'desktop'],
  ['Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', 'Firefox 128 on Linux', 'desktop'],
  ['Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', 'Firefox 128 on Ubuntu', 'desktop'],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0', 'Firefox 128 on Windows 10', 'desktop'],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', 'Chrome 120 on Windows 10', 'desktop'],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91', 'Edge 120 on Windows 10', 'desktop'],
  ['Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36', 'Chrome 109 on Windows 7', 'desktop'],
  ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', 'Chrome 120 on macOS', 'desktop'],
  ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15', 'Safari 17 on macOS', 'desktop'],
  ['Mozilla/5.0 (Macintosh; Intel Mac OS X 14.2; rv:121.0) Gecko/20100101 Firefox/121.0', 'Firefox 121 on macOS', 'desktop'],
  ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0', 'Edge 120 on macOS', 'desktop'],
  ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36', 'Mobile Chrome 120 on Android 14 (Pixel 8)', 'mobile'],
  ['Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36', 'Mobile Chrome 120 on Android 10', 'mobile'],
  ['Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36', 'Samsung Internet 23 on Android 13 (SM-S918B)', 'mobile'],
  ['Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0', 'Mobile Firefox 121 on Android 14', 'mobile'],
  ['Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1', 'Mobile Safari 17 on iOS 17.2 (iPad)', 'tablet'],
  ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1', 'Mobile Chrome 120 on iOS 17.2 (iPhone)', 'mobile'],
  ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/121.0 Mobile/15E148 Safari/605.1.15', 'Mobile Firefox 121 on iOS 17.2 (iPhone)', 'mobile'],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0', 'Opera 106 on Windows 10', 'desktop'],
  ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36', 'Chrome Headless 156 on Linux', 'desktop'],
  ['Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', 'Chrome 120 on Chrome OS 14541.0.0', 'desktop'],
  ['Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', 'Chrome 120 on Android 13 (SM-X700)', 'tablet'],
  ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Vivaldi/6.5', 'Vivaldi 6 on Linux', 'desktop'],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 YaBrowser/24.1.0.0 Safari/537.36', 'Yandex 24 on Windows 10', 'desktop'],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64; Trident/7.0; rv:11.0) like Gecko', 'IE 11 on Windows 10', 'desktop'],
  ['curl/8.5.0', 'curl/8.5.0', 'unknown'],
  ['python-requests/2.31.0', 'python-requests/2.31.0', 'unknown'],
  ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'unknown'],
  ['okhttp/4.12.0', 'okhttp/4.12.0', 'unknown'],
  ['Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/UQ1A.240105.004)', 'Browser on Android 14 (Pixel 8)', 'tablet'],
  ['MyApp/1.2 (iPhone; iOS 17.2; Scale/3.00)', 'Browser on iOS 17.2 (iPhone)', 'mobile'],
  ['Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UQ1A; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile Safari/537.36', 'Chrome WebView 120 on Android 14 (Pixel 8)', 'mobile'],
  ['Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148', 'Browser on iOS 16.6 (iPhone)', 'mobile'],
  ['Mozilla/5.0 (X11; Fedora; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0', 'Firefox 121 on Fedora', 'desktop'],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) Gecko/20100101 Firefox/115.0', 'Firefox 115 on Windows 10', 'desktop'],
  ['Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 EdgA/120.0.2210.115', 'Edge 120 on Android 14 (SM-S918B)', 'mobile'],
];

test('real user agents read as browser, major version and system', (t) => {
  for (const [ua, label, kind] of TABLE) t.deepEqual(describeDevice(ua), { label, kind }, ua);
});

test('a stored summary reads back unchanged, for every row of the table', (t) => {
  for (const [ua] of TABLE) {
    const once = describeDevice(compactUserAgent(ua));
    t.deepEqual(describeDevice(once.label), once, ua);
  }
});

test('the parser names the pieces separately and leaves unknown agents empty', (t) => {
  t.deepEqual(parseUserAgent(TABLE[0]![0]), { browser: 'Mobile Safari', major: '17', os: 'iOS', osVersion: '17.2', model: 'iPhone', form: 'mobile' });
  t.deepEqual(parseUserAgent('curl/8.5.0'), { browser: '', major: '', os: '', osVersion: '', model: '', form: '' });
  // macOS browsers all claim 10.15.7: the version would be a lie.
  t.is(parseUserAgent('Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15').osVersion, '');
});

test('hostile or huge headers stay short and inert', (t) => {
  const huge = `Mozilla/5.0 (X11; Linux x86_64) ${'A'.repeat(100_000)} Chrome/120.0.0.0`;
  // Only the first 512 characters are read: the Chrome token beyond them is never seen.
  t.is(compactUserAgent(huge), 'Browser on Linux');
  t.true(compactUserAgent(`curl/8 ${'x'.repeat(1000)}`).length <= 80);
  t.is(compactUserAgent(undefined), '');
  t.is(describeDevice('<script>alert(1)</script>').label, '<script>alert(1)</script>', 'kept as text; the templates escape it');
});
