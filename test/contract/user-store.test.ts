import test from 'ava';
import type { ExecutionContext } from 'ava';
import { MemoryUserStore } from '../../src/users/memory-user-store.js';
import { RedisUserStore } from '../../src/users/redis-user-store.js';
import type { UserStore } from '../../src/users/types.js';
import { normalizeUsername } from '../../src/users/username.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';

let redis: RedisProcess;
test.before(async () => {
  redis = await startRedis();
});
test.after.always(async () => {
  await redis?.stop();
});

const HASH = '$argon2id$v=19$m=19456,p=1,t=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';

let n = 0;
const factories: [string, () => UserStore][] = [
  ['memory', () => new MemoryUserStore()],
  ['redis', () => new RedisUserStore(redis.client(), { keyPrefix: `u${n++}:` })],
];

for (const [kind, make] of factories) {
  test(`${kind}: a user is created once, found by any spelling of its name, and keeps a random tag`, async (t: ExecutionContext) => {
    const users = make();
    const alice = await users.create('Alice', HASH);
    t.is(alice.username, 'alice');
    t.is(alice.id, 'alice');
    t.regex(alice.tag, /^[A-Za-z0-9]{12}$/);
    t.false('passwordHash' in alice);
    const found = await users.find('ＡＬＩＣＥ');
    t.is(found?.tag, alice.tag);
    t.is(found?.passwordHash, HASH);
    const dup = await t.throwsAsync(users.create('alice', HASH));
    t.regex(dup?.message ?? '', /taken/);
    t.is(await users.find('bob'), null);
    t.is(await users.find('<script>'), null);
  });

  test(`${kind}: the password hash is replaced only while the user exists`, async (t: ExecutionContext) => {
    const users = make();
    await users.create('carol', HASH);
    t.true(await users.setPasswordHash('carol', `${HASH}x`));
    t.is((await users.find('carol'))?.passwordHash, `${HASH}x`);
    t.true(await users.delete('carol'));
    t.false(await users.delete('carol'));
    t.false(await users.setPasswordHash('carol', HASH));
    t.is(await users.find('carol'), null);
  });

  test(`${kind}: list and count`, async (t: ExecutionContext) => {
    const users = make();
    for (const name of ['u1', 'u2', 'u3']) await users.create(name, HASH);
    t.is(await users.count(), 3);
    t.deepEqual((await users.list()).map((u) => u.username).sort(), ['u1', 'u2', 'u3']);
    t.is((await users.list(2)).length, 2);
  });

  test(`${kind}: invalid names are refused`, async (t: ExecutionContext) => {
    const users = make();
    for (const bad of ['', 'a b', 'x'.repeat(65), '<b>', 'semi;colon']) {
      const err = await t.throwsAsync(users.create(bad, HASH));
      t.regex(err?.message ?? '', /User names/);
    }
  });
}

test('user names: NFKC + lower case, 1–64 of [a-z0-9._@-]', (t) => {
  t.is(normalizeUsername('Bob.Smith@example.org'), 'bob.smith@example.org');
  t.is(normalizeUsername('ｂｏｂ'), 'bob');
  t.is(normalizeUsername('a'.repeat(64)), 'a'.repeat(64));
  for (const bad of [undefined, 7, '', ' bob', 'bob ', 'a'.repeat(65), 'b\u0000', 'bo/b', 'x'.repeat(10_000)]) {
    t.is(normalizeUsername(bad), null, String(bad).slice(0, 10));
  }
});

test('redis: the record holds the tag and hash, never the password; a stopped Redis is store_unavailable', async (t) => {
  const client = redis.client();
  const users = new RedisUserStore(client, { keyPrefix: 'rec:' });
  const dave = await users.create('dave', HASH);
  t.deepEqual(await client.hgetall('rec:user:dave'), { tag: dave.tag, created: String(dave.createdAt), hash: HASH });
  const down = await startRedis();
  const c2 = down.client();
  c2.options.maxRetriesPerRequest = 0;
  const users2 = new RedisUserStore(c2);
  await down.kill('SIGKILL');
  const err = await t.throwsAsync(users2.find('dave'));
  t.is((err as { code?: string }).code, 'store_unavailable');
  await down.stop();
});
