import test from 'ava';
import { createFormCsrf } from '../../src/http/form-csrf.js';
import { returnToOrHome, safeReturnTo } from '../../src/http/return-to.js';
import { describeDevice } from '../../src/devices/describe.js';
import { formatDuration } from '../../src/views/format.js';
import { html, raw } from '../../src/views/html.js';
import { loginPage } from '../../src/views/login.js';
import { devicesPage } from '../../src/views/sessions.js';
import { HOSTILE_RETURN_TO } from '../helpers/return-to-cases.js';


test('every value interpolated into a template is escaped', (t) => {
  const name = `<script>alert("x")</script>&'\``;
  t.is(
    html`<p title="${name}">${name}</p>`.value,
    '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;&#96;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;&#96;</p>',
  );
});

test('nested templates and raw() pass through; arrays join; null, undefined and false vanish', (t) => {
  const inner = html`<b>${'<i>'}</b>`;
  t.is(html`${inner}${raw('<hr>')}${['<', html`<br>`]}${null}${undefined}${false}${0}`.value, '<b>&lt;i&gt;</b><hr>&lt;<br>0');
});

test('the login page keeps an HTML-looking username as text', (t) => {
  const page = loginPage({ csrf: 'tok', username: '"><script>x</script>', error: 'Wrong <b>' }).value;
  t.false(page.includes('<script>x'));
  t.true(page.includes('value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"'));
  t.true(page.includes('Wrong &lt;b&gt;'));
  t.false(/<script(?![^>]*\bsrc=)/.test(page), 'no inline script');
});

test('the devices page escapes the user agent and IP', (t) => {
  const s = {
    handle: 'AAAAAAAAAAAA-0123456789',
    userId: 'u1',
    tag: 'AAAAAAAAAAAA',
    createdAt: 0,
    lastActiveAt: 0,
    idleTimeoutMs: 1000,
    idleExpiresAt: 1000,
    absoluteExpiresAt: 5000,
    refreshable: true,
    authAt: 0,
    ip: '<img src=x>',
    userAgent: '<script>alert(1)</script>',
    data: {},
  };
  const page = devicesPage({ username: 'u', sessions: [s], currentHandle: s.handle, now: 0, csrf: 't' }).value;
  t.false(page.includes('<script>alert'));
  t.false(page.includes('<img src=x>'));
  t.true(page.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
});

test('same-origin paths are accepted as given', (t) => {
  for (const ok of ['/', '/account/sessions', '/a?b=c&d=%2F#frag', '/.//x', '/@evil.example', '/a//b']) {
    t.is(safeReturnTo(ok), ok, ok);
  }
});

test('hostile returnTo values are refused', (t) => {
  for (const bad of HOSTILE_RETURN_TO) t.is(safeReturnTo(bad), null, JSON.stringify(bad));
  t.is(safeReturnTo(undefined), null);
  t.is(safeReturnTo(['/']), null);
});

test('returnTo never points back at the login or logout routes', (t) => {
  t.is(returnToOrHome('/login?returnTo=/x'), '/');
  t.is(returnToOrHome('/logout'), '/');
  t.is(returnToOrHome('//evil'), '/');
  t.is(returnToOrHome('/account/sessions'), '/account/sessions');
});

test('a form token verifies only for its scope and binding, and only under its key', (t) => {
  const csrf = createFormCsrf('k1');
  const tok = csrf.issue('session', 'hashA');
  t.true(csrf.verify(tok, 'session', ['hashA']));
  t.true(csrf.verify(tok, 'session', ['other', 'hashA']));
  t.false(csrf.verify(tok, 'session', ['hashB']), "another session's token");
  t.false(csrf.verify(tok, 'pre', ['hashA']), 'a session token is no pre-session token');
  t.false(createFormCsrf('k2').verify(tok, 'session', ['hashA']), 'another key');
  t.false(csrf.verify(`${tok.slice(0, -1)}${tok.endsWith('A') ? 'B' : 'A'}`, 'session', ['hashA']));
  for (const junk of [undefined, '', 'x', 123, ['a'], `${tok}x`]) t.false(csrf.verify(junk, 'session', ['hashA']));
  t.not(csrf.issue('session', 'hashA'), tok, 'a fresh nonce per render');
});

test('the device summary names browser and system, and falls back to the raw text', (t) => {
  t.is(
    describeDevice('Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1').label,
    'Mobile Safari 17 on iOS 17.2 (iPhone)',
  );
  t.is(describeDevice('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36').label, 'Chrome 120 on Linux');
  t.is(describeDevice('curl/8.5.0').label, 'curl/8.5.0');
  t.is(describeDevice('').label, 'Unknown device');
});

test('a stored device summary comes back unchanged (the server stores summaries, the pages show them)', (t) => {
  for (const ua of [
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36',
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15',
    '<script>alert(1)</script>',
  ]) {
    const once = describeDevice(ua);
    t.deepEqual(describeDevice(once.label), once, ua);
  }
});

test('durations read naturally', (t) => {
  t.is(formatDuration(42_000), '42 s');
  t.is(formatDuration(14 * 60_000 + 5000), '14 min 5 s');
  t.is(formatDuration(3 * 3600_000 + 20 * 60_000), '3 h 20 min');
  t.is(formatDuration(30 * 86400_000 - 3600_000), '29 days 23 h');
});
