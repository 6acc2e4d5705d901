/**
 * DBSC challenges (src/binding/challenge.ts) and the headers that carry them
 * (src/binding/headers.ts): a challenge verifies only for the kind, session and state it
 * was issued for, until it expires, and travels in a header without escaping.
 */
import test from 'ava';
import { createChallenges, REFRESH_CHALLENGE_TTL_MS, REGISTRATION_CHALLENGE_TTL_MS } from '../../src/binding/challenge.js';
import { challengeHeader, parseProofHeader, parseSessionId, registrationHeader, sessionConfig } from '../../src/binding/headers.js';

const NOW = 1_800_000_000_000;
const challenges = createChallenges(Buffer.alloc(32, 7));

test('a challenge verifies for the kind, session and state it was issued for, until it expires', (t) => {
  const c = challenges.issue('refresh', 'h1', '1700', NOW, REFRESH_CHALLENGE_TTL_MS);
  t.is(challenges.check(c, 'refresh', 'h1', '1700', NOW), 'ok');
  t.is(challenges.check(c, 'refresh', 'h1', '1700', NOW + REFRESH_CHALLENGE_TTL_MS - 1), 'ok');
  const r = challenges.issue('register', 'h1', '', NOW, REGISTRATION_CHALLENGE_TTL_MS);
  t.is(challenges.check(r, 'register', 'h1', '', NOW + 9 * 60_000), 'ok', 'a registration challenge lasts minutes');
});

test('a challenge for another kind, session or state is invalid', (t) => {
  const c = challenges.issue('refresh', 'h1', '1700', NOW, REFRESH_CHALLENGE_TTL_MS);
  t.is(challenges.check(c, 'register', 'h1', '1700', NOW), 'invalid', 'a refresh challenge cannot register');
  t.is(challenges.check(c, 'refresh', 'h2', '1700', NOW), 'invalid', 'nor serve another session');
  t.is(challenges.check(c, 'refresh', 'h1', '1701', NOW), 'invalid', 'nor outlive the next successful proof');
  t.is(challenges.check(c, 'refresh', 'h1', '170', NOW), 'invalid');
});

test('fields cannot be shifted from one into the next', (t) => {
  const c = challenges.issue('refresh', 'a|b', '', NOW, REFRESH_CHALLENGE_TTL_MS);
  t.is(challenges.check(c, 'refresh', 'a', 'b', NOW), 'invalid');
  t.is(challenges.check(c, 'refresh', 'a|', 'b', NOW), 'invalid');
});

test('another master key makes every challenge invalid', (t) => {
  const c = challenges.issue('refresh', 'h1', '1', NOW, REFRESH_CHALLENGE_TTL_MS);
  t.is(createChallenges(Buffer.alloc(32, 8)).check(c, 'refresh', 'h1', '1', NOW), 'invalid');
});

test('a genuine challenge at or past its expiry is expired', (t) => {
  const c = challenges.issue('refresh', 'h1', '1', NOW, REFRESH_CHALLENGE_TTL_MS);
  t.is(challenges.check(c, 'refresh', 'h1', '1', NOW + REFRESH_CHALLENGE_TTL_MS), 'expired');
  t.is(challenges.check(c, 'refresh', 'h1', '1', NOW + 86_400_000), 'expired');
  t.is(challenges.check(c, 'refresh', 'h2', '1', NOW + 86_400_000), 'invalid', 'expired only when it is genuine');
});

test('a tampered challenge is invalid, whichever part was changed', (t) => {
  const c = challenges.issue('refresh', 'h1', '1', NOW, REFRESH_CHALLENGE_TTL_MS);
  const [exp, nonce, mac] = c.split('.') as [string, string, string];
  const later = (Number.parseInt(exp, 36) + 3_600_000).toString(36);
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  for (const forged of [`${later}.${nonce}.${mac}`, `${exp}.${flip(nonce, 3)}.${mac}`, `${exp}.${nonce}.${flip(mac, 0)}`, `${exp}.${nonce}.${flip(mac, 42)}`]) {
    t.is(challenges.check(forged, 'refresh', 'h1', '1', NOW), 'invalid', forged);
  }
});

test('garbage never throws: it is invalid', (t) => {
  const c = challenges.issue('refresh', 'h1', '1', NOW, REFRESH_CHALLENGE_TTL_MS);
  const garbage: unknown[] = ['', '.', '..', 'a.b.c', `${c}.`, ` ${c}`, c.toUpperCase(), 'x'.repeat(100_000), '\u0000', `${'z'.repeat(20)}.${c.split('.').slice(1).join('.')}`, undefined, null, 42, {}, ['a']];
  for (const g of garbage) {
    t.notThrows(() => t.is(challenges.check(g, 'refresh', 'h1', '1', NOW), 'invalid'), String(g).slice(0, 40));
  }
  t.is(challenges.check(c, 'other' as 'refresh', 'h1', '1', NOW), 'invalid', 'an unknown kind');
  t.is(challenges.check(c, 'refresh', undefined as unknown as string, '1', NOW), 'invalid', 'a missing handle');
});

test('two challenges issued alike differ', (t) => {
  const a = challenges.issue('register', 'h1', '', NOW, REGISTRATION_CHALLENGE_TTL_MS);
  const b = challenges.issue('register', 'h1', '', NOW, REGISTRATION_CHALLENGE_TTL_MS);
  t.not(a, b);
  t.is(challenges.check(a, 'register', 'h1', '', NOW), 'ok');
  t.is(challenges.check(b, 'register', 'h1', '', NOW), 'ok');
});

test('a master key shorter than 16 bytes is refused at creation', (t) => {
  t.throws(() => createChallenges(Buffer.alloc(8)), { instanceOf: RangeError });
});

test('a challenge needs no escaping in the registration and challenge headers', (t) => {
  const c = challenges.issue('register', 'h1', '', NOW, REGISTRATION_CHALLENGE_TTL_MS);
  t.regex(c, /^[A-Za-z0-9_.-]+$/);
  t.is(registrationHeader('/auth/dbsc/register', c), `(ES256 RS256);path="/auth/dbsc/register";challenge="${c}"`);
  t.is(challengeHeader(c, 'sid-1'), `"${c}";id="sid-1"`);
  t.is(challengeHeader('a"b\\c', 'x'), '"a\\"b\\\\c";id="x"', 'quotes and backslashes are escaped');
  t.throws(() => challengeHeader(c, 'é'), { instanceOf: TypeError }, 'a structured-field string is printable ASCII');
});

test('the session config carries the field names Chrome reads, include_site always present', (t) => {
  const config = sessionConfig({ id: 'sid-1', refreshUrl: '/auth/dbsc/refresh', origin: 'https://app.example', cookieName: 'bound', cookieAttributes: 'Path=/; Secure; HttpOnly; SameSite=Lax' });
  t.deepEqual(JSON.parse(JSON.stringify(config)), {
    session_identifier: 'sid-1',
    refresh_url: '/auth/dbsc/refresh',
    scope: { origin: 'https://app.example', include_site: false, scope_specification: [] },
    credentials: [{ type: 'cookie', name: 'bound', attributes: 'Path=/; Secure; HttpOnly; SameSite=Lax' }],
  });
});

test('the session id and the proof arrive as structured-field strings and are read bare', (t) => {
  t.is(parseSessionId('"sid-1"'), 'sid-1');
  t.is(parseSessionId(' "sid-1";x=1 '), 'sid-1', 'parameters are ignored');
  t.is(parseSessionId('"a\\"b"'), 'a"b');
  t.is(parseSessionId('sid-1'), 'sid-1', 'a bare token is accepted');
  for (const bad of [undefined, '', '""', '"open', '"a"b', '"a\\x"', '"tab\there"', '1abc', 'a b']) t.is(parseSessionId(bad), undefined, String(bad));
  const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiJjIn0.c2ln';
  t.is(parseProofHeader(`"${jwt}"`), jwt);
  t.is(parseProofHeader(jwt), jwt);
  t.is(parseProofHeader(`"${'a'.repeat(9000)}"`), undefined, 'bounded like the proof itself');
});
