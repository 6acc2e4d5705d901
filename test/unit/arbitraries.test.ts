/**
 * The fuzz tests lean on a few facts about their generators; checked here so a change
 * to an arbitrary cannot quietly turn a fuzz test into a no-op.
 */
import test from 'ava';
import fc from 'fast-check';
import { formatToken, newSecret, newTag, parseToken } from '../../src/sessions/token.js';
import { cliArgsArb, cookieHeaderArb, forgedTokenArb, jsonBodyTextArb, mutateTokenArb } from '../helpers/arbitraries.js';

test('forged tokens are well-formed, so they get past the shape check and reach the store', (t) => {
  fc.assert(fc.property(forgedTokenArb, (tok) => parseToken(tok) !== null), { numRuns: 300 });
  t.pass();
});

test('a mutation of an issued token is never the token itself', (t) => {
  const token = formatToken(newTag(), newSecret());
  fc.assert(fc.property(mutateTokenArb(token), (m) => m !== token), { numRuns: 300 });
  t.pass();
});

test('cookie headers include the exact session cookie name and duplicates', (t) => {
  const samples = fc.sample(cookieHeaderArb('sid'), 400);
  t.true(samples.some((h) => h.startsWith('sid=')));
  t.true(samples.some((h) => (h.match(/(^|[;,] ?)sid=/g) ?? []).length > 1));
  t.true(samples.some((h) => /[^\t\x20-\x7e]/.test(h)), 'some need the raw client');
});

test('JSON bodies include prototype-pollution keys, malformed text and deep nesting', (t) => {
  const samples = fc.sample(jsonBodyTextArb, 600);
  t.true(samples.some((b) => b.includes('__proto__')));
  t.true(samples.some((b) => b.startsWith('[[[[[[') || b.startsWith('{"a":{"a":')));
  t.true(samples.some((b) => { try { JSON.parse(b); return false; } catch { return true; } }));
});

test('CLI argument vectors never ask to follow the event stream', (t) => {
  const samples = fc.sample(cliArgsArb, 500);
  t.false(samples.some((a) => a.includes('--follow')));
  t.true(samples.some((a) => a[0] === 'sessions' && a[1] === 'kill'));
});
