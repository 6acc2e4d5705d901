/**
 * The admin CLI against a running server (issue 5): the real app on a free port with a
 * RedisStore on a private redis-server, real HTTP logins, and the CLI as a subprocess
 * on the same Redis and key prefix. What an operator does must take effect on the very
 * next request, and nothing the CLI prints may carry a cookie secret.
 */
import test from 'ava';
import { RedisAuditLog } from '../../src/store/redis-audit.js';
import { keySpace } from '../../src/store/keys.js';
import { type Request, client } from '../helpers/http.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { type TestServer, startServer } from '../helpers/server.js';
import { admin, adminInProcess } from '../helpers/run-admin.js';

const PASSWORD = 'correct horse battery staple';
let redis: RedisProcess;
const servers: TestServer[] = [];

test.before(async () => { redis = await startRedis(); });
test.after.always(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await redis?.stop();
});

let worlds = 0;
/** A server on its own key prefix, the audit trail in Redis, and the CLI pointed at both. */
async function world() {
  const keyPrefix = `h${process.pid}-${++worlds}:`;
  const audit = new RedisAuditLog(redis.client(), { keys: keySpace(keyPrefix) });
  const srv = await startServer({ redis, keyPrefix, audit });
  servers.push(srv);
  const env = { REDIS_URL: redis.url, SESSION_KEY_PREFIX: keyPrefix };
  const http: Request = client(srv.url);
  const login = async (username: string, password = PASSWORD) => {
    const r = await http('POST', '/auth/login', { json: { username, password } });
    return { status: r.status, token: r.cookie('sid') ?? '', handle: (r.body?.['session'] as { handle?: string } | undefined)?.handle ?? '' };
  };
  const me = async (token: string) => (await http('GET', '/api/me', { cookie: token })).status;
  return {
    srv,
    env,
    login,
    me,
    run: (args: string[], stdin?: string) => admin(args, env, stdin),
    call: (args: string[], stdin?: string) => adminInProcess(args, env, stdin),
  };
}

const secretOf = (token: string) => token.split('.')[1]!;
const leaks = (tokens: string[], text: string) => tokens.filter((t) => text.includes(t) || text.includes(secretOf(t)));

test('a session killed from the CLI is refused on its very next HTTP request; the user’s other session lives on', async (t) => {
  const w = await world();
  await w.srv.addUser('alice', PASSWORD);
  const laptop = await w.login('alice');
  const phone = await w.login('alice');
  t.is(laptop.status, 200);
  t.is(await w.me(laptop.token), 200);

  const listed = await w.run(['sessions', 'list', '--user', 'alice', '--json']);
  t.is(listed.code, 0, listed.stderr);
  const handles = (JSON.parse(listed.stdout) as { handle: string }[]).map((r) => r.handle).sort();
  t.deepEqual(handles, [laptop.handle, phone.handle].sort());

  const killed = await w.run(['sessions', 'kill', laptop.handle]);
  t.is(killed.code, 0, killed.stderr);
  t.is(await w.me(laptop.token), 401);
  t.is(await w.me(phone.token), 200);
  t.deepEqual(leaks([laptop.token, phone.token], listed.stdout + killed.stdout + killed.stderr), []);
});

test('kill --user revokes every session of that user at once, and no one else’s', async (t) => {
  const w = await world();
  await w.srv.addUser('alice', PASSWORD);
  await w.srv.addUser('bob', PASSWORD);
  const alice = await Promise.all([1, 2, 3].map(() => w.login('alice')));
  const bob = await w.login('bob');
  const r = await w.run(['sessions', 'kill', '--user', 'alice']);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, "revoked 3 session(s) of 'alice'\n");
  for (const s of alice) t.is(await w.me(s.token), 401);
  t.is(await w.me(bob.token), 200);
});

test('passwd revokes every session; the new password logs in and the old one no longer does', async (t) => {
  const w = await world();
  await w.srv.addUser('alice', PASSWORD);
  const before = await Promise.all([1, 2].map(() => w.login('alice')));
  const NEW = 'a much better passphrase, really';
  const r = await w.run(['user', 'passwd', 'alice', '--password-stdin'], `${NEW}\n`);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, "password changed for 'alice'; 2 session(s) revoked\n");
  for (const s of before) t.is(await w.me(s.token), 401);
  t.is((await w.login('alice', PASSWORD)).status, 401);
  const fresh = await w.login('alice', NEW);
  t.is(fresh.status, 200);
  t.is(await w.me(fresh.token), 200);
});

test('user add makes an account that signs in over HTTP; user delete ends its sessions and its sign-ins', async (t) => {
  const w = await world();
  const added = await w.run(['user', 'add', 'carol', '--password-stdin'], `${PASSWORD}\n`);
  t.is(added.code, 0, added.stderr);
  const s = await w.login('carol');
  t.is(s.status, 200);
  t.is(await w.me(s.token), 200);

  const deleted = await w.run(['user', 'delete', 'carol']);
  t.is(deleted.code, 0, deleted.stderr);
  t.is(deleted.stdout, "deleted user 'carol'; 1 session(s) revoked\n");
  t.is(await w.me(s.token), 401);
  t.is((await w.login('carol')).status, 401);
  const again = await w.call(['user', 'delete', 'carol']);
  t.is(again.code, 1);
});

test('JSON output parses and carries none of the issued cookie values, nor a password hash', async (t) => {
  const w = await world();
  await w.srv.addUser('alice', PASSWORD);
  await w.srv.addUser('bob', PASSWORD);
  const issued = await Promise.all(['alice', 'alice', 'bob'].map((u) => w.login(u)));
  const tokens = issued.map((s) => s.token);
  const outputs: string[] = [];
  for (const args of [
    ['sessions', 'list', '--json'],
    ['sessions', 'list', '--json', '--user', 'alice'],
    ['sessions', 'show', issued[0]!.handle, '--json'],
    ['sessions', 'stats', '--json'],
    ['events', '--json'],
  ]) {
    const r = await w.run(args);
    t.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    t.notThrows(() => JSON.parse(r.stdout), args.join(' '));
    outputs.push(r.stdout, r.stderr);
  }
  for (const args of [['sessions', 'list'], ['sessions', 'show', issued[0]!.handle], ['sessions', 'stats'], ['events']]) {
    const r = await w.call(args);
    t.is(r.code, 0, r.stderr);
    outputs.push(r.stdout, r.stderr);
  }
  const all = outputs.join('\n');
  t.deepEqual(leaks(tokens, all), []);
  t.false(all.includes('$argon2id$'));
  const rows = JSON.parse(outputs[0]!) as { handle: string }[];
  t.deepEqual(rows.map((r) => r.handle).sort(), issued.map((s) => s.handle).sort());
});

test('events shows the lifecycle as the server and the CLI recorded it', async (t) => {
  const w = await world();
  t.is((await w.call(['user', 'add', 'alice', '--password-stdin'], `${PASSWORD}\n`)).code, 0);
  t.is((await w.login('alice', 'not the password at all')).status, 401);
  const s = await w.login('alice');
  t.is((await w.call(['sessions', 'kill', s.handle])).code, 0);
  t.is(await w.me(s.token), 401);

  const r = await w.run(['events', '--user', 'alice', '--json']);
  t.is(r.code, 0, r.stderr);
  const events = JSON.parse(r.stdout) as { type: string; by?: string; handle?: string; reason?: string }[];
  const types = events.map((e) => e.type);
  t.is(types[0], 'user.created');
  t.true(types.includes('login.failed'), types.join(' '));
  t.true(types.includes('login.ok'), types.join(' '));
  t.true(types.includes('session.created'), 'server events that name the user only by id match too');
  t.like(events.at(-1), { type: 'session.revoked', reason: 'kill', by: 'admin-cli', handle: s.handle });
  t.deepEqual(leaks([s.token], r.stdout), []);

  // History outlives the account.
  t.is((await w.call(['user', 'delete', 'alice'])).code, 0);
  const after = JSON.parse((await w.call(['events', '--user', 'alice', '--json'])).stdout) as { type: string }[];
  t.deepEqual(after.slice(0, events.length).map((e) => e.type), types);
  t.is(after.at(-2)?.type, 'user.deleted');
});
