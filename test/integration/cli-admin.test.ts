/**
 * The admin CLI as a subprocess against a private redis-server (docs/cli.md, issue 5):
 * exit codes, usage, the embedded-store refusal, users, sessions and the audit trail.
 * Every test works under its own key prefix, so they run concurrently on one server.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { ManualClock } from '../../src/clock.js';
import { newTag, parseToken } from '../../src/sessions/token.js';
import type { IssuedSession } from '../../src/sessions/types.js';
import { keySpace } from '../../src/store/keys.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { PasswordHasher } from '../../src/users/password.js';
import { RedisUserStore } from '../../src/users/redis-user-store.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { admin, adminInProcess, startAdmin, waitFor } from '../helpers/run-admin.js';

const PASSWORD = 'correct horse battery staple';
const hasher = new PasswordHasher({ concurrency: 2, queueLimit: 16 });
let redis: RedisProcess;
test.before(async () => { redis = await startRedis(); });
test.after.always(async () => { await redis?.stop(); });

/** A fresh key prefix with its stores, and the CLI environment pointing at it. */
function world() {
  const prefix = `t${randomBytes(4).toString('hex')}:`;
  const client = redis.client();
  const keys = keySpace(prefix);
  const store = new RedisStore({ client, keys, ownsClient: false });
  const users = new RedisUserStore(client, { keyPrefix: prefix });
  const env = { REDIS_URL: redis.url, SESSION_KEY_PREFIX: prefix };
  /** A real subprocess. */
  const run = (args: string[], stdin?: string) => admin(args, env, stdin);
  /** The same code in-process (setup steps, matrices). */
  const call = (args: string[], stdin?: string) => adminInProcess(args, env, stdin);
  const addUser = async (name: string) => users.create(name, await hasher.hash(PASSWORD));
  const login = async (name: string, tag: string, ua = 'Firefox 128 on Linux') =>
    (await store.create({ userId: name, tag, ip: '198.51.100.7', userAgent: ua }))!;
  return { prefix, client, keys, store, users, env, run, call, addUser, login };
}

const secretsIn = (issued: IssuedSession[], text: string) =>
  issued.filter((s) => text.includes(s.token) || text.includes(s.token.split('.')[1]!)).length;

test('a real process exits 0 on --help, 2 on bad usage and 1 without a shared Redis', async (t) => {
  const help = await admin(['sessions', 'list', '--help'], {});
  t.is(help.code, 0);
  t.regex(help.stdout, /^Usage: npm run admin -- sessions list/);
  const usage = await admin(['sessions', 'list', '--limit', 'ten'], { REDIS_URL: 'redis://127.0.0.1:1' });
  t.is(usage.code, 2);
  t.regex(usage.stderr, /^admin: --limit needs a positive integer\n\nUsage: /);
  const embedded = await admin(['sessions', 'list'], {});
  t.is(embedded.code, 1);
  t.is(
    embedded.stderr,
    'admin: the admin CLI needs a shared Redis (set REDIS_URL); the embedded store lives inside the server process\n',
  );
});

test('an unreachable Redis exits 1 with one line naming the problem', async (t) => {
  const down = await admin(['sessions', 'list'], { REDIS_URL: 'redis://127.0.0.1:1' });
  t.is(down.code, 1);
  t.regex(down.stderr, /^admin: cannot connect to Redis .*ECONNREFUSED.*\n$/);
});

test('an unknown handle or user exits 1 with a one-line message on stderr', async (t) => {
  const w = world();
  const tag = newTag();
  for (const [args, message] of [
    [['sessions', 'show', `${tag}-0123456789`], `admin: no session with handle '${tag}-0123456789'\n`],
    [['sessions', 'kill', `${tag}-0123456789`], `admin: no session with handle '${tag}-0123456789'\n`],
    [['sessions', 'show', 'not-a-handle'], `admin: 'not-a-handle' is not a session handle (<tag>-<10 chars>)\n`],
    [['sessions', 'kill', '--user', 'nobody'], "admin: no user named 'nobody'\n"],
    [['sessions', 'list', '--user', 'nobody'], "admin: no user named 'nobody'\n"],
    [['user', 'delete', 'nobody'], "admin: no user named 'nobody'\n"],
    [['user', 'passwd', 'nobody', '--password-stdin'], "admin: no user named 'nobody'\n"],
  ] as [string[], string][]) {
    const r = await (args[1] === 'show' ? w.run : w.call)(args, `${PASSWORD}\n`);
    t.is(r.code, 1, args.join(' '));
    t.is(r.stderr, message);
    t.is(r.stdout, '');
  }
});

test('user add reads the password from stdin, stores only its argon2id hash, and refuses duplicates and short ones', async (t) => {
  const w = world();
  const added = await w.run(['user', 'add', 'Alice', '--password-stdin'], `${PASSWORD}\n`);
  t.is(added.code, 0, added.stderr);
  t.is(added.stdout, "created user 'alice'\n");
  const rec = (await w.users.find('alice'))!;
  t.regex(rec.passwordHash, /^\$argon2id\$/);
  t.true(await hasher.verify(rec.passwordHash, PASSWORD), 'the trailing newline is not part of the password');
  t.false(added.stdout.includes(rec.passwordHash) || added.stderr.includes(PASSWORD));

  const again = await w.call(['user', 'add', 'alice', '--password-stdin'], `${PASSWORD}\n`);
  t.is(again.code, 1);
  t.is(again.stderr, "admin: user 'alice' already exists\n");

  const short = await w.call(['user', 'add', 'bob', '--password-stdin'], 'short\n');
  t.is(short.code, 1);
  t.regex(short.stderr, /^admin: .*at least 15 characters.*\n$/);
  t.is(await w.users.find('bob'), null);

  const noTty = await w.run(['user', 'add', 'carol']);
  t.is(noTty.code, 2);
  t.regex(noTty.stderr, /--password-stdin/);
  t.is(await w.users.find('carol'), null);
});

test('user add on a terminal prompts twice without echoing the password', async (t) => {
  const w = world();
  const env = Object.entries(w.env).map(([k, v]) => `${k}=${v}`).join(' ');
  // script(1) gives the CLI a pseudo-terminal; keystrokes go in only once it prompts.
  const { spawn } = await import('node:child_process');
  const p = spawn('script', ['-qec', `env ${env} ${process.execPath} --import tsx scripts/admin.ts user add dave`, '/dev/null'], {
    env: { PATH: process.env.PATH },
  });
  let transcript = '';
  p.stdout.on('data', (d: Buffer) => { transcript += d.toString(); });
  await waitFor(p.stdout, 'New password: ');
  p.stdin.write(`${PASSWORD}\r`);
  await waitFor(p.stdout, 'Repeat it: ');
  p.stdin.write(`${PASSWORD}\r`);
  const code = await new Promise<number | null>((r) => p.on('close', r));
  t.is(code, 0, transcript);
  t.regex(transcript, /created user 'dave'/);
  t.false(transcript.includes(PASSWORD), 'the password is never echoed');
  t.true(await hasher.verify((await w.users.find('dave'))!.passwordHash, PASSWORD));
});

test('sessions list --json is one JSON array of every live session, with no cookie secret in it', async (t) => {
  const w = world();
  const alice = await w.addUser('alice');
  const bob = await w.addUser('bob');
  const issued = [
    ...(await Promise.all([1, 2, 3].map(() => w.login('alice', alice.tag)))),
    ...(await Promise.all([1, 2].map(() => w.login('bob', bob.tag, 'curl/8.5')))),
  ];
  const json = await w.run(['sessions', 'list', '--json']);
  t.is(json.code, 0, json.stderr);
  const rows = JSON.parse(json.stdout) as Record<string, unknown>[];
  t.deepEqual(rows.map((r) => r['handle']).sort(), issued.map((s) => s.session.handle).sort());
  t.deepEqual(Object.keys(rows[0]!).sort(), [
    'absoluteExpiresAt', 'bound', 'createdAt', 'handle', 'idleExpiresAt', 'ip', 'lastActiveAt', 'refreshable', 'state', 'user', 'userAgent',
  ]);
  t.true(rows.every((r) => r['state'] === 'active' && r['ip'] === '198.51.100.7'));
  t.is(secretsIn(issued, json.stdout), 0);

  const mine = JSON.parse((await w.call(['sessions', 'list', '--json', '--user', 'bob'])).stdout) as { user: string }[];
  t.deepEqual(mine.map((r) => r.user), ['bob', 'bob']);
  const limited = JSON.parse((await w.call(['sessions', 'list', '--json', '--limit', '2'])).stdout) as unknown[];
  t.is(limited.length, 2);
  t.deepEqual(JSON.parse((await w.call(['sessions', 'list', '--json', '--user', 'bob', '--limit', '1'])).stdout).length, 1);

  const table = await w.run(['sessions', 'list']);
  t.is(table.code, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  t.regex(lines[0]!, /^handle\s+user\s+created\s+last active\s+idle deadline\s+absolute deadline\s+state\s+bound\s+ip\s+user agent$/);
  t.is(lines.length, 2 + issued.length);
  for (const s of issued) t.true(table.stdout.includes(s.session.handle));
  t.is(secretsIn(issued, table.stdout), 0);
});

test('the CLI sees what the server sees: a session dead by a revoke-all it could not reach is not listed, shown or counted', async (t) => {
  const w = world();
  const alice = await w.addUser('alice');
  const hidden = await w.login('alice', alice.tag);
  // What a Cluster slot migration can do to the revoke-all's walk of the index: miss a record.
  await w.client.zrem(w.keys.userIndex(alice.tag), parseToken(hidden.token)!.idHash);
  await new Promise((r) => setTimeout(r, 5)); // the generation is a time: after the login
  await w.store.revokeAll(alice.tag);
  const after = await w.login('alice', alice.tag);
  t.is(await w.client.exists(w.keys.session(alice.tag, parseToken(hidden.token)!.idHash)), 1, 'its record is still there');
  const rows = JSON.parse((await w.call(['sessions', 'list', '--json'])).stdout) as { handle: string }[];
  t.deepEqual(rows.map((r) => r.handle), [after.session.handle]);
  const shown = await w.call(['sessions', 'show', hidden.session.handle]);
  t.is(shown.code, 1, shown.stdout);
  t.like(JSON.parse((await w.call(['sessions', 'stats', '--json'])).stdout), { total: 1, active: 1 });
  const users = JSON.parse((await w.call(['user', 'list', '--json'])).stdout) as { user: string; sessions: number }[];
  t.is(users.find((u) => u.user === 'alice')?.sessions, 1);
  t.like(await w.store.validate(hidden.token), { state: 'login_required' }, 'as the store calls it');
});

test('an empty keyspace lists as [] and "no sessions"', async (t) => {
  const w = world();
  t.deepEqual(JSON.parse((await w.call(['sessions', 'list', '--json'])).stdout), []);
  t.is((await w.call(['sessions', 'list'])).stdout, 'no sessions\n');
});

test('states and stats are decided on Redis time: a session idle past its window is stale, not active', async (t) => {
  const w = world();
  const alice = await w.addUser('alice');
  const [sec] = await w.client.time();
  // Created 20 minutes ago by Redis' clock: idle (15 min) lapsed, absolute (30 d) not.
  const past = new ManualClock(Number(sec) * 1000 - 20 * 60_000);
  const oldStore = new RedisStore({ client: w.client, keys: w.keys, clock: past, ownsClient: false });
  const stale = (await oldStore.create({ userId: 'alice', tag: alice.tag }))!;
  const fresh = await Promise.all([1, 2].map(() => w.login('alice', alice.tag)));
  const bob = await w.addUser('bob');
  await w.login('bob', bob.tag);

  const rows = JSON.parse((await w.call(['sessions', 'list', '--json', '--user', 'alice'])).stdout) as { handle: string; state: string }[];
  t.is(rows.find((r) => r.handle === stale.session.handle)?.state, 'stale');
  t.deepEqual(rows.filter((r) => r.state === 'active').map((r) => r.handle).sort(), fresh.map((s) => s.session.handle).sort());

  const stats = await w.run(['sessions', 'stats', '--json']);
  t.is(stats.code, 0, stats.stderr);
  const s = JSON.parse(stats.stdout);
  t.like(s, { active: 3, stale: 1, total: 4, users: 2 });
  t.deepEqual(s.topUsers, [
    { user: 'alice', sessions: 3, active: 2, stale: 1 },
    { user: 'bob', sessions: 1, active: 1, stale: 0 },
  ]);
  const top1 = JSON.parse((await w.call(['sessions', 'stats', '--json', '--top', '1'])).stdout);
  t.is(top1.topUsers.length, 1);
  const text = await w.call(['sessions', 'stats']);
  t.regex(text.stdout, /active 3\s+stale 1\s+total 4/);
  t.regex(text.stdout, /alice\s+3\s+2\s+1/);
});

test('sessions show names one session by handle and never its secret', async (t) => {
  const w = world();
  const alice = await w.addUser('alice');
  const s = await w.login('alice', alice.tag);
  const text = await w.run(['sessions', 'show', s.session.handle]);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, new RegExp(`^handle\\s+${s.session.handle}$`, 'm'));
  t.regex(text.stdout, /^state\s+active$/m);
  const json = JSON.parse((await w.call(['sessions', 'show', s.session.handle, '--json'])).stdout);
  t.like(json, { handle: s.session.handle, user: 'alice', state: 'active', ip: '198.51.100.7' });
  t.is(secretsIn([s], text.stdout + JSON.stringify(json)), 0);
});

test('kill <handle> revokes exactly that session; kill --user revokes all of them and says how many', async (t) => {
  const w = world();
  const alice = await w.addUser('alice');
  const bob = await w.addUser('bob');
  const [a1, a2, a3] = await Promise.all([1, 2, 3].map(() => w.login('alice', alice.tag)));
  const b1 = await w.login('bob', bob.tag);

  const one = await w.run(['sessions', 'kill', a1!.session.handle]);
  t.is(one.code, 0, one.stderr);
  t.is(one.stdout, `revoked session ${a1!.session.handle} of 'alice'\n`);
  t.is((await w.store.validate(a1!.token)).state, 'login_required');
  t.is((await w.store.validate(a2!.token)).state, 'active');

  const twice = await w.call(['sessions', 'kill', a1!.session.handle]);
  t.is(twice.code, 1);

  const all = await w.run(['sessions', 'kill', '--user', 'alice']);
  t.is(all.code, 0, all.stderr);
  t.is(all.stdout, "revoked 2 session(s) of 'alice'\n");
  for (const s of [a2!, a3!]) t.is((await w.store.validate(s.token)).state, 'login_required');
  t.is((await w.store.validate(b1.token)).state, 'active');
  t.is(secretsIn([a1!, a2!, a3!, b1], one.stdout + all.stdout), 0);
});

test('user passwd sets the new password and revokes every session; user delete removes the account and its sessions', async (t) => {
  const w = world();
  const alice = await w.addUser('alice');
  const sessions = await Promise.all([1, 2].map(() => w.login('alice', alice.tag)));
  const NEW = 'a much better passphrase, really';
  const changed = await w.run(['user', 'passwd', 'alice', '--password-stdin'], `${NEW}\n`);
  t.is(changed.code, 0, changed.stderr);
  t.is(changed.stdout, "password changed for 'alice'; 2 session(s) revoked\n");
  for (const s of sessions) t.is((await w.store.validate(s.token)).state, 'login_required');
  const rec = (await w.users.find('alice'))!;
  t.true(await hasher.verify(rec.passwordHash, NEW));
  t.false(await hasher.verify(rec.passwordHash, PASSWORD));

  const again = await w.login('alice', alice.tag);
  const deleted = await w.call(['user', 'delete', 'alice']);
  t.is(deleted.code, 0, deleted.stderr);
  t.is(deleted.stdout, "deleted user 'alice'; 1 session(s) revoked\n");
  t.is(await w.users.find('alice'), null);
  t.is((await w.store.validate(again.token)).state, 'login_required');
});

test('events shows the CLI lifecycle events, oldest first, filtered by --user, as a table or one JSON array', async (t) => {
  const w = world();
  t.is((await w.call(['user', 'add', 'alice', '--password-stdin'], `${PASSWORD}\n`)).code, 0);
  t.is((await w.call(['user', 'add', 'bob', '--password-stdin'], `${PASSWORD}\n`)).code, 0);
  const alice = (await w.users.find('alice'))!;
  const s = await w.login('alice', alice.tag);
  t.is((await w.call(['sessions', 'kill', s.session.handle])).code, 0);
  t.is((await w.call(['user', 'passwd', 'alice', '--password-stdin'], 'another long passphrase\n')).code, 0);
  t.is((await w.call(['user', 'delete', 'alice'])).code, 0);

  const json = await w.run(['events', '--user', 'alice', '--json']);
  t.is(json.code, 0, json.stderr);
  const events = JSON.parse(json.stdout) as Record<string, unknown>[];
  t.deepEqual(
    events.map((e) => [e['type'], e['reason'], e['by']]),
    [
      ['user.created', undefined, 'admin-cli'],
      ['session.revoked', 'kill', 'admin-cli'],
      ['password.changed', undefined, 'admin-cli'],
      ['session.revoked', 'password_change', 'admin-cli'],
      ['user.deleted', undefined, 'admin-cli'],
      ['session.revoked', 'user_deleted', 'admin-cli'],
    ],
  );
  t.is(events[1]!['handle'], s.session.handle);
  t.true(events.every((e) => typeof e['at'] === 'string' && e['username'] === 'alice'));
  t.is(secretsIn([s], json.stdout), 0);
  t.false(json.stdout.includes('$argon2id$'));

  const last = JSON.parse((await w.call(['events', '--json', '--limit', '2'])).stdout) as { type: string }[];
  t.deepEqual(last.map((e) => e.type), ['user.deleted', 'session.revoked']);
  const table = await w.call(['events']);
  t.regex(table.stdout, /^time \(UTC\)\s+event\s+user\s+handle/);
  t.is(table.stdout.trimEnd().split('\n').length, 2 + 7);
});

test('events --follow prints new events as they are appended and exits 0 on Ctrl-C', async (t) => {
  const w = world();
  await w.addUser('alice');
  const p = startAdmin(['events', '--follow', '--json'], w.env);
  const out = waitFor(p.stdout, /"username":"bob"/);
  await waitFor(p.stderr, 'following new events');
  t.is((await w.call(['user', 'add', 'bob', '--password-stdin'], `${PASSWORD}\n`)).code, 0);
  const lines = (await out).trim().split('\n').map((l) => JSON.parse(l));
  t.like(lines.at(-1), { type: 'user.created', username: 'bob', by: 'admin-cli' });
  const exit = new Promise<number | null>((r) => p.on('close', r));
  p.kill('SIGINT');
  t.is(await exit, 0);
});
