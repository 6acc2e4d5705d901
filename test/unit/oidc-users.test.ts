/**
 * The pure parts of OIDC sign-in: the user name derived from a provider's claims, and
 * the embedded one-time state records.
 */
import test from 'ava';
import { ManualClock } from '../../src/clock.js';
import { MemoryOidcStates } from '../../src/oidc/state-store.js';
import { baseUsername } from '../../src/oidc/users.js';
import { normalizeUsername } from '../../src/users/username.js';

test('user names come from preferred_username, then email, normalized to the user name alphabet', (t) => {
  t.is(baseUsername({ preferredUsername: 'Alice', email: 'x@example.org' }), 'alice');
  t.is(baseUsername({ email: 'Carol.Smith@Example.org' }), 'carol.smith@example.org');
  t.is(baseUsername({ preferredUsername: 'Ｊｏｈｎ Doe' }), 'john-doe');
  t.is(baseUsername({ preferredUsername: '../<script>', email: 'e@x.org' }), 'script');
  t.is(baseUsername({ preferredUsername: '***', email: 'e@x.org' }), 'e@x.org');
  t.is(baseUsername({ preferredUsername: 42 }), 'user');
  t.is(baseUsername({}), 'user');
  const long = baseUsername({ preferredUsername: 'a'.repeat(300) });
  // Room left for a "-<suffix>" of up to 8 characters.
  t.not(normalizeUsername(`${long}-abcdefgh`), null);
});

test('an embedded state record is taken once, and not after its TTL', async (t) => {
  const clock = new ManualClock(1_000_000);
  const states = new MemoryOidcStates(() => clock.now()!);
  const rec = { pre: 'p', nonce: 'n', returnTo: '/x' };
  await states.put('h1', rec, 1000);
  t.deepEqual(await states.take('h1'), rec);
  t.is(await states.take('h1'), null);
  await states.put('h2', rec, 1000);
  clock.advance(1000);
  t.is(await states.take('h2'), null);
});
