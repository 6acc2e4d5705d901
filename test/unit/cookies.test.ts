/**
 * The session cookie on its own (src/http/cookies.ts): what counts as "the" session
 * cookie in a Cookie header, and the exact attributes set and cleared.
 */
import test from 'ava';
import fc from 'fast-check';
import {
  clearSessionCookie,
  cookieSettings,
  readSessionCookie,
  serializeClearCookie,
  serializeSessionCookie,
  setSessionCookie,
} from '../../src/http/cookies.js';
import { formatToken, newSecret, newTag } from '../../src/sessions/token.js';
import { contextFor } from '../helpers/koa-context.js';

const token = () => formatToken(newTag(), newSecret());

test('readSessionCookie: absent header, absent name, and a name that only contains ours are "none"', (t) => {
  t.deepEqual(readSessionCookie(undefined, 'sid'), { kind: 'none' });
  t.deepEqual(readSessionCookie('', 'sid'), { kind: 'none' });
  t.deepEqual(readSessionCookie('theme=dark; lang=en', 'sid'), { kind: 'none' });
  t.deepEqual(readSessionCookie(`xsid=${token()}; sidx=${token()}; sid`, 'sid'), { kind: 'none' });
});

test('readSessionCookie: the token among other cookies, with or without spaces around it', (t) => {
  const v = token();
  t.deepEqual(readSessionCookie(`sid=${v}`, 'sid'), { kind: 'token', token: v });
  t.deepEqual(readSessionCookie(`a=1; sid=${v}; b=2`, 'sid'), { kind: 'token', token: v });
  t.deepEqual(readSessionCookie(`a=1;sid= ${v} ;b=2`, 'sid'), { kind: 'token', token: v });
  t.deepEqual(readSessionCookie(`__Host-sid=${v}`, '__Host-sid'), { kind: 'token', token: v });
});

test('readSessionCookie: the name twice is "duplicate", even when both values are equal or one is valid', (t) => {
  const v = token();
  t.deepEqual(readSessionCookie(`sid=${v}; sid=${v}`, 'sid'), { kind: 'duplicate' });
  t.deepEqual(readSessionCookie(`sid=${v}; x=1; sid=junk`, 'sid'), { kind: 'duplicate' });
  t.deepEqual(readSessionCookie(`sid=; sid=${v}`, 'sid'), { kind: 'duplicate' });
});

test('readSessionCookie: the name in another case is not ours (cookie names are case-sensitive)', (t) => {
  const v = token();
  t.deepEqual(readSessionCookie(`SID=${v}`, 'sid'), { kind: 'none' });
  t.deepEqual(readSessionCookie(`Sid=${v}; sid=${v}`, 'sid'), { kind: 'token', token: v });
  t.deepEqual(readSessionCookie(`__host-sid=${v}`, '__Host-sid'), { kind: 'none' });
});

test('readSessionCookie: malformed, truncated, padded, quoted or oversized values are "malformed"', (t) => {
  const v = token();
  for (const bad of ['', 'x', v.slice(1), `${v}x`, `"${v}"`, v.replace('.', ':'), `${v.slice(0, -1)}%`, 'a'.repeat(8192), `${v}${'='.repeat(10)}`]) {
    t.deepEqual(readSessionCookie(`sid=${bad}`, 'sid'), { kind: 'malformed' }, bad.slice(0, 30));
  }
});

test('property: any header with exactly one sid=<token> reads that token; with two, never a token', (t) => {
  const other = fc
    .tuple(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,8}$/), fc.stringMatching(/^[A-Za-z0-9._-]{0,20}$/))
    .filter(([name]) => name !== 'sid')
    .map(([k, v]) => `${k}=${v}`);
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.array(other, { maxLength: 6 }), fc.nat(6), fc.boolean(), (others, at, twice) => {
        const v = token();
        const parts = [...others];
        parts.splice(Math.min(at, parts.length), 0, `sid=${v}`);
        if (twice) parts.push(`sid=${v}`);
        const read = readSessionCookie(parts.join('; '), 'sid');
        return twice ? read.kind === 'duplicate' : read.kind === 'token' && read.token === v;
      }),
    ),
  );
});

test('cookieSettings: the __Host- prefix exactly when Secure', (t) => {
  t.deepEqual(cookieSettings(true), { name: '__Host-sid', secure: true });
  t.deepEqual(cookieSettings(false), { name: 'sid', secure: false });
});

test('serialize: HttpOnly, SameSite=Lax, Path=/, no Domain; Secure only when secure; Expires only when remembered', (t) => {
  const v = token();
  t.is(serializeSessionCookie(cookieSettings(false), v), `sid=${v}; Path=/; HttpOnly; SameSite=Lax`);
  t.is(
    serializeSessionCookie(cookieSettings(true), v, Date.UTC(2030, 0, 2, 3, 4, 5)),
    `__Host-sid=${v}; Path=/; HttpOnly; SameSite=Lax; Secure; Expires=Wed, 02 Jan 2030 03:04:05 GMT`,
  );
  t.is(serializeClearCookie(cookieSettings(false)), 'sid=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  t.is(serializeClearCookie(cookieSettings(true)), '__Host-sid=; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  t.false(/domain/i.test(serializeSessionCookie(cookieSettings(true), v, 0)));
});

test('set/clear on a response: one session Set-Cookie per response, other cookies kept', (t) => {
  const c = cookieSettings(false);
  const ctx = contextFor();
  ctx.set('Set-Cookie', ['pre=abc; Path=/; HttpOnly']);
  const first = token();
  const second = token();
  setSessionCookie(ctx, c, first, { absoluteExpiresAt: Date.UTC(2030, 0, 1) }, true);
  setSessionCookie(ctx, c, second, { absoluteExpiresAt: Date.UTC(2030, 0, 1) }, false);
  t.deepEqual(ctx.response.headers['set-cookie'], ['pre=abc; Path=/; HttpOnly', `sid=${second}; Path=/; HttpOnly; SameSite=Lax`]);
  clearSessionCookie(ctx, c);
  t.deepEqual(ctx.response.headers['set-cookie'], ['pre=abc; Path=/; HttpOnly', serializeClearCookie(c)]);
});
