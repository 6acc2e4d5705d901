import test from 'ava';
import { formatToken, handleFor, newSecret, newTag, parseHandle, parseToken, sha256 } from '../../src/sessions/token.js';

test('a token is <tag>.<secret> with a 12-char tag and a 43-char secret, all unique', (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 10_000; i++) {
    const token = formatToken(newTag(), newSecret());
    t.regex(token, /^[A-Za-z0-9]{12}\.[A-Za-z0-9_-]{43}$/);
    seen.add(token);
  }
  t.is(seen.size, 10_000);
});

test('parseToken hashes the secret and refuses every malformed shape', (t) => {
  const tag = newTag();
  const secret = newSecret();
  const parsed = parseToken(`${tag}.${secret}`);
  t.deepEqual(parsed, { tag, idHash: sha256(secret) });
  t.false(JSON.stringify(parsed).includes(secret));
  for (const bad of [undefined, '', '*', '{x}', `${tag}.${secret}x`, `${tag}:${secret}`, `${tag}.${secret.slice(1)}%`, 'a'.repeat(5000), `${tag}.${secret.slice(1)}\u0000`]) {
    t.is(parseToken(bad), null, String(bad).slice(0, 20));
  }
});

test('a handle names the user slot and the session family, and parses back', (t) => {
  const tag = newTag();
  const handle = handleFor(tag, sha256(newSecret()));
  t.deepEqual(parseHandle(handle), { tag, handle });
  t.is(parseHandle('nope'), null);
});
