/**
 * The form token's working key rotates daily with overlap: a token keeps verifying
 * through the day after it was issued (a form rendered before midnight still posts),
 * a node whose clock runs a little ahead is accepted, and an old token stops working.
 */
import test from 'ava';
import { FORM_KEY_PERIOD_MS, createFormCsrf } from '../../src/http/form-csrf.js';

const DAY = FORM_KEY_PERIOD_MS;
const T0 = 1_800_000_000_000;

function at(master: string | Buffer, start = T0) {
  let now = start;
  const csrf = createFormCsrf(master, { now: () => now });
  return { csrf, set: (ms: number) => { now = ms; } };
}

test('a token verifies on its day and the next, not after', (t) => {
  const { csrf, set } = at('master');
  set(T0 - (T0 % DAY) + DAY - 1); // the last millisecond of a day
  const tok = csrf.issue('pre', 'p1');
  t.true(csrf.verify(tok, 'pre', ['p1']));
  set(T0 - (T0 % DAY) + DAY); // just past midnight: the previous key is still accepted
  t.true(csrf.verify(tok, 'pre', ['p1']));
  set(T0 - (T0 % DAY) + 2 * DAY - 1);
  t.true(csrf.verify(tok, 'pre', ['p1']), 'to the end of the next day');
  set(T0 - (T0 % DAY) + 2 * DAY);
  t.false(csrf.verify(tok, 'pre', ['p1']), 'two days on it has expired');
});

test('the working key changes every day, and nodes on one master agree', (t) => {
  const a = at('master');
  const b = at('master');
  const today = a.csrf.issue('session', 'h');
  a.set(T0 + DAY);
  const tomorrow = a.csrf.issue('session', 'h');
  t.not(today.split('.')[0], tomorrow.split('.')[0], 'the token names another key');
  // A node whose clock is already on the next day signs with tomorrow's key; one still
  // on today accepts it, and both accept today's.
  t.true(b.csrf.verify(tomorrow, 'session', ['h']));
  t.true(b.csrf.verify(today, 'session', ['h']));
  t.false(at('another master').csrf.verify(today, 'session', ['h']), 'another master verifies nothing');
});

test('a token moved to another day is refused (the day is signed through its key)', (t) => {
  const { csrf } = at(Buffer.alloc(32, 7));
  const tok = csrf.issue('pre', 'p1');
  const [kid, nonce, mac] = tok.split('.') as [string, string, string];
  const moved = `${(Number.parseInt(kid, 36) - 1).toString(36)}.${nonce}.${mac}`;
  t.false(csrf.verify(moved, 'pre', ['p1']));
  t.false(csrf.verify(`${nonce}.${mac}`, 'pre', ['p1']), 'the format without a day is no longer accepted');
  t.false(csrf.verify(`zzzzzzzzz.${nonce}.${mac}`, 'pre', ['p1']));
});

test('a token whose MAC is spelled another way (base64url bits past the 256th) is refused', (t) => {
  const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const csrf = createFormCsrf('k1');
  for (let i = 0; i < 64; i++) {
    const tok = csrf.issue('session', 'hashA');
    // The last of 43 characters carries 4 bits of the MAC and 2 unused ones: setting an
    // unused bit names the same bytes in a non-canonical spelling.
    const last = B64URL.indexOf(tok.at(-1)!);
    const twin = `${tok.slice(0, -1)}${B64URL[last | 1]}`;
    t.false(csrf.verify(twin, 'session', ['hashA']), `${tok.at(-1)} → ${twin.at(-1)}`);
  }
});
