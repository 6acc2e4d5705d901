/**
 * `user list` against a private redis-server: every account with its creation time and
 * its live sessions (active and stale, decided on Redis time; revoked and lapsed ones
 * not counted), as a table or JSON, with --limit; a real subprocess for the exit code.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { ManualClock } from '../../src/clock.js';
import { keySpace } from '../../src/store/keys.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { RedisUserStore } from '../../src/users/redis-user-store.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { admin, adminInProcess } from '../helpers/run-admin.js';

// The CLI never verifies passwords: any PHC-looking string will do as a stored hash.
const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
let redis: RedisProcess;
test.before(async () => {
  redis = await startRedis();
});
test.after.always(async () => {
  await redis?.stop();
});

function world() {
  const prefix = `t${randomBytes(4).toString('hex')}:`;
  const client = redis.client();
  const keys = keySpace(prefix);
  const store = new RedisStore({ client, keys, ownsClient: false });
  const users = new RedisUserStore(client, { keyPrefix: prefix });
  const env = { REDIS_URL: redis.url, SESSION_KEY_PREFIX: prefix };
  return { client, keys, store, users, env, call: (args: string[]) => adminInProcess(args, env) };
}

interface Row {
  user: string;
  createdAt: string | null;
  sessions: number;
  identities: string[];
}
const byName = (rows: Row[]) => [...rows].sort((a, b) => a.user.localeCompare(b.user));

test('user list shows every user, when it was created and how many live sessions it holds', async (t) => {
  const w = world();
  const before = Date.now();
  const alice = await w.users.create('alice', HASH);
  const bob = await w.users.create('bob', HASH);
  const carol = await w.users.create('carol', HASH);
  const login = (userId: string, tag: string) => w.store.create({ userId, tag, ip: '198.51.100.7', userAgent: 'curl/8.5.0' });
  await Promise.all([login('alice', alice.tag), login('alice', alice.tag), login('bob', bob.tag)]);
  const gone = (await login('bob', bob.tag))!;
  t.true(await w.store.revokeHandle(gone.session.handle));
  // Created 20 minutes ago on Redis time: a remembered session is stale (live, counted),
  // a browser session (no refresh window) is over (not counted).
  const [sec] = await w.client.time();
  const past = new RedisStore({ client: w.client, keys: w.keys, clock: new ManualClock(Number(sec) * 1000 - 20 * 60_000), ownsClient: false });
  await past.create({ userId: 'carol', tag: carol.tag, remember: true });
  await past.create({ userId: 'carol', tag: carol.tag, remember: false });

  const json = await w.call(['user', 'list', '--json']);
  t.is(json.code, 0, json.stderr);
  const rows = byName(JSON.parse(json.stdout) as Row[]);
  t.deepEqual(rows.map(({ user, sessions }) => ({ user, sessions })), [
    { user: 'alice', sessions: 2 },
    { user: 'bob', sessions: 1 },
    { user: 'carol', sessions: 1 },
  ]);
  for (const r of rows) {
    const created = Date.parse(r.createdAt!);
    t.true(created >= before - 1000 && created <= Date.now() + 1000, `${r.user} ${r.createdAt}`);
    t.deepEqual(Object.keys(r).sort(), ['createdAt', 'identities', 'sessions', 'user']);
  }
  t.false(json.stdout.includes(HASH.split('$')[4]!), 'no password hash on output');

  const table = await w.call(['user', 'list']);
  t.is(table.code, 0);
  const lines = table.stdout.trimEnd().split('\n');
  t.regex(lines[0]!, /^user\s+created\s+sessions\s+identities$/);
  t.regex(lines[1]!, /^-+\s+-+\s+-+\s+-+$/);
  t.deepEqual(lines.slice(2).map((l) => l.split(/\s+/)).map(([u, c, n]) => [u, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(c!), n]).sort(), [
    ['alice', true, '2'],
    ['bob', true, '1'],
    ['carol', true, '1'],
  ]);

  const two = JSON.parse((await w.call(['user', 'list', '--json', '--limit', '2'])).stdout) as Row[];
  t.is(two.length, 2);
  t.true(await w.users.delete('bob'));
  t.deepEqual(byName(JSON.parse((await w.call(['user', 'list', '--json'])).stdout)).map((r: Row) => r.user), ['alice', 'carol']);
});

test('user list with no users prints "no users" / [] and exits 0 as a real process', async (t) => {
  const w = world();
  const text = await admin(['user', 'list'], w.env);
  t.is(text.code, 0, text.stderr);
  t.is(text.stdout, 'no users\n');
  const json = await admin(['user', 'list', '--json'], w.env);
  t.is(json.code, 0);
  t.deepEqual(JSON.parse(json.stdout), []);
  const usage = await w.call(['user', 'list', '--limit', 'none']);
  t.is(usage.code, 2);
  t.regex(usage.stderr, /^admin: --limit needs a positive integer\n\nUsage: npm run admin -- user list/);
});

test('user list shows the identities linked to an account by OpenID Connect sign-in', async (t) => {
  const w = world();
  await w.users.create('dana', HASH);
  await w.users.create('eve', HASH);
  // What a first provider sign-in leaves: the reverse index of the user's linked identities.
  await w.client.sadd(w.keys.oidcUserIdentities('dana'), 'https://idp.example.org 248289761001', 'https://login.example.com 7f3c');
  const rows = byName(JSON.parse((await w.call(['user', 'list', '--json'])).stdout) as Row[]);
  t.deepEqual(rows.map(({ user, identities }) => ({ user, identities })), [
    { user: 'dana', identities: ['https://idp.example.org 248289761001', 'https://login.example.com 7f3c'] },
    { user: 'eve', identities: [] },
  ]);
  const table = (await w.call(['user', 'list'])).stdout;
  t.regex(table, /dana\s+\S+\s+0\s+oidc:https:\/\/idp\.example\.org, oidc:https:\/\/login\.example\.com/);
  t.regex(table, /eve\s+\S+\s+0\s+-/);
});
