/**
 * The admin CLI for apps that keep their own users (the library's signIn(ctx, userId):
 * the user's tag lives at keys.appUserTag(userId), no account in the user store): what
 * `sessions list` shows in its user column is what `--user` takes back. And the help of
 * the installed command names the installed command. Subprocesses on a private
 * redis-server, as an operator runs them.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { keySpace } from '../../src/store/keys.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { RedisUserStore } from '../../src/users/redis-user-store.js';
import { RedisUserTags } from '../../src/users/user-tags.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { admin, adminEnv } from '../helpers/run-admin.js';

let redis: RedisProcess;
test.before(async () => { redis = await startRedis(); });
test.after.always(async () => { await redis?.stop(); });

function world() {
  const prefix = `t${randomBytes(4).toString('hex')}:`;
  const client = redis.client();
  const keys = keySpace(prefix);
  const store = new RedisStore({ client, keys, ownsClient: false });
  const tags = new RedisUserTags(client, keys);
  const env = { REDIS_URL: redis.url, SESSION_KEY_PREFIX: prefix };
  /** As the library's signIn does: the app's user id, its tag drawn at the first sign-in. */
  const signIn = async (userId: string) => (await store.create({ userId, tag: await tags.tagFor(userId), ip: '198.51.100.7' }))!;
  return { client, keys, store, env, signIn, run: (args: string[]) => admin(args, env) };
}

interface Listed {
  handle: string;
  user: string;
}

test("an app user's id, as sessions list shows it, lists and kills that user's sessions", async (t) => {
  const w = world();
  const mine = [await w.signIn('u1'), await w.signIn('u1')];
  const other = await w.signIn('u2');

  const all = await w.run(['sessions', 'list', '--json']);
  t.is(all.code, 0, all.stderr);
  t.deepEqual((JSON.parse(all.stdout) as Listed[]).map((s) => s.user).sort(), ['u1', 'u1', 'u2']);

  const listed = await w.run(['sessions', 'list', '--user', 'u1', '--json']);
  t.is(listed.code, 0, listed.stderr);
  t.deepEqual((JSON.parse(listed.stdout) as Listed[]).map((s) => s.handle).sort(), mine.map((s) => s.session.handle).sort());

  const table = await w.run(['sessions', 'list', '--user', 'u1']);
  t.is(table.code, 0, table.stderr);
  t.is(table.stdout.trimEnd().split('\n').slice(2).filter((l) => /^\S+-\S{10}\s+u1\s/.test(l)).length, 2);

  const killed = await w.run(['sessions', 'kill', '--user', 'u1']);
  t.is(killed.code, 0, killed.stderr);
  t.is(killed.stdout, "revoked 2 session(s) of 'u1'\n");
  for (const s of mine) t.is((await w.store.validate(s.token)).state, 'login_required');
  t.is((await w.store.validate(other.token)).state, 'active', "another user's session stays");

  const empty = await w.run(['sessions', 'list', '--user', 'u1']);
  t.is(empty.code, 0, empty.stderr);
  t.is(empty.stdout, "no sessions for 'u1'\n");
});

test('a name that is neither an account nor an app user is still "no user named"', async (t) => {
  const w = world();
  await w.signIn('u1');
  for (const args of [['sessions', 'list', '--user', 'nobody'], ['sessions', 'kill', '--user', 'nobody']]) {
    const r = await w.run(args);
    t.is(r.code, 1, args.join(' '));
    t.is(r.stderr, "admin: no user named 'nobody'\n");
  }
});

test('an account of the user store wins over an app user of the same id', async (t) => {
  const w = world();
  const users = new RedisUserStore(w.client, { keyPrefix: w.env.SESSION_KEY_PREFIX });
  const account = await users.create('alice', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA');
  const own = (await w.store.create({ userId: 'alice', tag: account.tag }))!;
  const app = await w.signIn('alice');
  const listed = await w.run(['sessions', 'list', '--user', 'alice', '--json']);
  t.is(listed.code, 0, listed.stderr);
  t.deepEqual((JSON.parse(listed.stdout) as Listed[]).map((s) => s.handle), [own.session.handle]);
  t.not(app.session.handle, own.session.handle);
});

const BIN = fileURLToPath(new URL('../../src/bin.ts', import.meta.url));
function bin(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], { env: adminEnv(env) });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test("the package's command names itself in every usage text: sliding-sessions admin", async (t) => {
  for (const args of [['--help'], ['sessions', 'list', '--help'], ['user', '--help'], ['events', '--help']]) {
    const help = await bin(['admin', ...args]);
    t.is(help.code, 0, help.stderr);
    t.regex(help.stdout, /^Usage: sliding-sessions admin /, args.join(' '));
    t.false(help.stdout.includes('npm run'), args.join(' '));
  }
  const usage = await bin(['admin', 'sessions', 'purge'], { REDIS_URL: 'redis://127.0.0.1:1' });
  t.is(usage.code, 2);
  t.regex(usage.stderr, /^admin: unknown command 'sessions purge'\n\nUsage: sliding-sessions admin sessions </);
});

test('under npm run admin (the same compiled command) the usage names npm run admin', async (t) => {
  const help = await bin(['admin', '--help'], { npm_lifecycle_event: 'admin' });
  t.is(help.code, 0, help.stderr);
  t.regex(help.stdout, /^Usage: npm run admin -- <command>/);
});
