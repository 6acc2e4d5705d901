import test from 'ava';
import argon2 from 'argon2';
import { AppError } from '../../src/errors.js';
import { MAX_PASSWORD_BYTES, OWASP_ARGON2ID, PasswordHasher, checkPasswordInput, checkPasswordStrength } from '../../src/users/password.js';
import { WorkQueue } from '../../src/users/work-queue.js';

const hasher = new PasswordHasher({ concurrency: 2, queueLimit: 16 });
/** node-argon2 writes the parameters as m,p,t; the PHC format allows any order. */
const params = (hash: string) => {
  const m = /^\$argon2id\$v=19\$([a-z]=\d+(?:,[a-z]=\d+)*)\$/.exec(hash);
  return m ? Object.fromEntries(m[1]!.split(',').map((kv) => [kv[0], Number(kv.slice(2))])) : null;
};

test('hashes are argon2id PHC strings at the OWASP minimum and verify', async (t) => {
  const hash = await hasher.hash('correct horse battery staple');
  const p = params(hash);
  t.truthy(p);
  t.true(p!.m! >= 19_456);
  t.true(p!.t! >= 2);
  t.is(p!.p, 1);
  t.true(await hasher.verify(hash, 'correct horse battery staple'));
  t.false(await hasher.verify(hash, 'correct horse battery stapl'));
  t.false(await hasher.verify('not a hash', 'x'));
  t.false(hasher.needsRehash(hash));
});

test('weaker or foreign hashes need a rehash', async (t) => {
  const weak = await argon2.hash('pw', { type: argon2.argon2id, memoryCost: 8192, timeCost: 2, parallelism: 1 });
  t.true(hasher.needsRehash(weak));
  const argon2i = await argon2.hash('pw', { type: argon2.argon2i, ...OWASP_ARGON2ID });
  t.true(hasher.needsRehash(argon2i));
  t.true(hasher.needsRehash('$2b$10$abcdefghijklmnopqrstuv'));
  const stronger = new PasswordHasher({ concurrency: 1, queueLimit: 1, params: { memoryCost: 19_456, timeCost: 3, parallelism: 1 } });
  t.true(stronger.needsRehash(await hasher.hash('pw')));
});

test('parameters below the OWASP minimum are refused', (t) => {
  t.throws(() => new PasswordHasher({ concurrency: 1, queueLimit: 1, params: { memoryCost: 4096, timeCost: 1, parallelism: 1 } }), { instanceOf: RangeError });
});

test('a long Unicode password with spaces is kept whole, and NFKC forms match', async (t) => {
  const pw = 'ünïcödé pass phrase with spaces — 🐘🐘 and more words here, long enough!!';
  t.true([...pw].length >= 64);
  const hash = await hasher.hash(pw);
  t.true(await hasher.verify(hash, pw));
  t.false(await hasher.verify(hash, pw.slice(0, -1)));
  // The same text as decomposed characters (a different keyboard/OS) still matches.
  t.true(await hasher.verify(hash, pw.normalize('NFD')));
});

test('the password cap is 1024 bytes, checked before hashing', (t) => {
  t.is(checkPasswordInput('a'.repeat(MAX_PASSWORD_BYTES)), 'a'.repeat(MAX_PASSWORD_BYTES));
  const tooLong = t.throws(() => checkPasswordInput('a'.repeat(MAX_PASSWORD_BYTES + 1)), { instanceOf: AppError });
  t.is(tooLong?.code, 'bad_request');
  // 342 × 3-byte characters = 1026 bytes although only 342 characters.
  t.throws(() => checkPasswordInput('€'.repeat(342)), { instanceOf: AppError });
  t.throws(() => checkPasswordInput('x'.repeat(1_000_000)), { instanceOf: AppError });
  for (const bad of [undefined, null, 42, '', ['a'], { a: 1 }]) {
    t.is(t.throws(() => checkPasswordInput(bad))?.message.includes('password'), true);
  }
});

test('strength: at least the minimum length in characters', (t) => {
  t.notThrows(() => checkPasswordStrength('🐘'.repeat(15), 15));
  const err = t.throws(() => checkPasswordStrength('short', 15), { instanceOf: AppError });
  t.is(err?.code, 'weak_password');
  t.is(err?.status, 400);
});

test('the unknown-user path does the same argon2 work and answers false', async (t) => {
  t.false(await hasher.verifyDummy('anything at all'));
});

test('hashing is bounded: beyond the queue a login gets 429 with Retry-After', async (t) => {
  const tiny = new PasswordHasher({ concurrency: 1, queueLimit: 1 });
  const results = await Promise.allSettled([tiny.hash('a'), tiny.hash('b'), tiny.hash('c'), tiny.hash('d')]);
  const refused = results.filter((r) => r.status === 'rejected');
  t.is(refused.length, 2);
  for (const r of refused) {
    const err = (r as PromiseRejectedResult).reason as AppError;
    t.is(err.status, 429);
    t.is(err.code, 'too_many_attempts');
    t.is(err.headers['Retry-After'], '1');
  }
  t.deepEqual(tiny.load, { running: 0, waiting: 0 });
});

test('the work queue never runs more than its concurrency', async (t) => {
  const q = new WorkQueue(3, 100);
  let running = 0;
  let peak = 0;
  const job = async () => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setImmediate(r));
    running--;
  };
  await Promise.all(Array.from({ length: 50 }, () => q.run(job)));
  t.is(peak, 3);
  t.is(q.running, 0);
});
