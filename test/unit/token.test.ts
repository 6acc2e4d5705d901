import test from 'ava';
import { newNonce, successorOf } from '../../src/sessions/successor.js';
import { formatToken, handleFor, mintId, newSecret, newTag, parseHandle, parseToken, sha256 } from '../../src/sessions/token.js';

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

test('mintId draws a token whose hash and handle are what parseToken and handleFor give', (t) => {
  const tag = newTag();
  const id = mintId(tag);
  t.deepEqual(parseToken(id.token), { tag, idHash: id.idHash });
  t.is(id.handle, handleFor(tag, id.idHash));
  t.not(mintId(tag).token, id.token);
});

test('successorOf: the same token and nonce give the same successor (racing refreshes agree); another nonce another', (t) => {
  const { token } = mintId(newTag());
  const nonce = newNonce();
  const a = successorOf(token, nonce);
  t.deepEqual(successorOf(token, nonce), a);
  t.deepEqual(parseToken(a.token), { tag: token.slice(0, 12), idHash: a.idHash });
  t.not(a.token, token);
  t.not(successorOf(token, newNonce()).token, a.token);
  t.is(a.idHash, sha256(a.token.slice(13)));
});
