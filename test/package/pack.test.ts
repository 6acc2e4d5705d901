/**
 * The package as a user gets it: `npm pack` from a clean copy of the repository (no
 * dist/, so prepack must build), the tarball installed with --omit=dev into a fresh
 * app, then its server started, its admin CLI run against a private redis-server and a
 * small TypeScript app compiled against its types and run. The runtime image holds the
 * same dist/src and production dependencies, so this checks the image without Docker.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

// npm's own variables (set when the tests run under `npm test`) must not steer the
// nested npm commands; nothing else from this process leaks into the packaged server.
const cleanEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));

interface Packed {
  dir: string;
  app: string;
  bin: string;
  files: string[];
  size: number;
}

const durations: Record<string, number> = {};
async function timed<T>(name: string, step: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await step();
  } finally {
    durations[name] = Math.round(performance.now() - start);
  }
}

let packed: Packed;
let redis: RedisProcess;

/** The repository as a fresh clone has it: tracked and unignored files, no dist/. */
async function cleanCopy(to: string): Promise<void> {
  const { stdout } = await exec('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, maxBuffer: 16 << 20 });
  for (const file of stdout.split('\0').filter(Boolean)) {
    const from = join(ROOT, file);
    if (!existsSync(from)) continue; // deleted in the working tree, not yet committed
    mkdirSync(dirname(join(to, file)), { recursive: true });
    cpSync(from, join(to, file));
  }
  // prepack builds with the repository's dev tools (tsc), as a clone after `npm ci` would.
  symlinkSync(join(ROOT, 'node_modules'), join(to, 'node_modules'), 'dir');
}

test.before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sliding-sessions-pack-'));
  const env = cleanEnv();
  const clone = join(dir, 'clone');
  await timed('copy', () => cleanCopy(clone));
  const out = await timed('npm pack (prepack build)', () =>
    exec('npm', ['pack', '--json', '--pack-destination', dir], { cwd: clone, env, maxBuffer: 16 << 20 }),
  );
  const [info] = JSON.parse(out.stdout) as Array<{ filename: string; size: number; files: Array<{ path: string }> }>;
  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'pack-probe', private: true, type: 'module' }));
  await timed('npm install --omit=dev', () =>
    exec('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', join(dir, info!.filename)], { cwd: app, env }),
  );
  packed = { dir, app, bin: join(app, 'node_modules/.bin/sliding-sessions'), files: info!.files.map((f) => f.path), size: info!.size };
  redis = await startRedis();
});

test.after.always(async (t) => {
  await redis?.stop();
  if (packed) rmSync(packed.dir, { recursive: true, force: true });
  t.log(`durations (ms): ${JSON.stringify(durations)}`);
});

test('the tarball holds the compiled library, server and CLI with their assets, and nothing else', (t) => {
  const { files, size } = packed;
  t.log(`${files.length} files, ${size} bytes packed`);
  for (const f of [
    'package.json', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/bin.js', 'dist/src/main.js', 'dist/src/cli/main.js',
    'dist/src/store/lua/validate-session-4.lua', 'dist/src/users/lua/create-user-1.lua', 'dist/src/views/assets/style.css',
  ]) {
    t.true(files.includes(f), f);
  }
  const stray = files.filter((f) => !f.startsWith('dist/src/') && !/^(package\.json|README\.md|LICEN[CS]E(\.\w+)?|CHANGELOG\.md)$/i.test(f));
  t.deepEqual(stray, [], 'only dist/src and the package documents');
  t.deepEqual(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')), [], 'no TypeScript sources');
  t.deepEqual(files.filter((f) => /(^|\/)(test|scripts|bench|node_modules)\//.test(f)), []);
});

/** Resolves with everything printed so far once `pattern` matches. */
function waitFor(p: ChildProcessWithoutNullStreams, pattern: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer) => {
      seen += d.toString();
      const m = seen.match(pattern);
      if (m) {
        p.stdout.off('data', onData);
        resolve(m);
      }
    };
    p.stdout.on('data', onData);
    p.once('exit', (code) => reject(new Error(`exited ${code} before ${pattern}: ${seen}`)));
  });
}

test('the installed bin serves: healthz, the pages with their assets, a login on the embedded store; SIGTERM exits 0', async (t) => {
  const start = performance.now();
  const server = spawn(packed.bin, ['serve'], { cwd: packed.app, env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1' } });
  let stderr = '';
  server.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  t.teardown(() => {
    if (server.exitCode === null) server.kill('SIGKILL');
  });
  const password = waitFor(server, /password "([^"]+)"/);
  const [, url] = await waitFor(server, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
  const health = await fetch(`${url}/healthz`);
  t.is(health.status, 200, stderr);
  t.deepEqual(await health.json(), { status: 'ok' });
  t.is((await fetch(`${url}/login`)).status, 200);
  const css = await fetch(`${url}/assets/style.css`);
  t.is(css.status, 200);
  t.regex(css.headers.get('content-type') ?? '', /text\/css/);
  const login = await fetch(`${url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'demo', password: (await password)[1] }),
  });
  t.is(login.status, 200, 'argon2 verifies from the installed package');
  const exited = new Promise<number | null>((resolve) => server.once('exit', resolve));
  server.kill('SIGTERM');
  t.is(await exited, 0, stderr);
  durations['serve checks'] = Math.round(performance.now() - start);
});

test('the installed bin runs the admin CLI against Redis: --help, user add, user list, sessions list', async (t) => {
  const start = performance.now();
  const env = { PATH: process.env.PATH, REDIS_URL: redis.url, SESSION_KEY_PREFIX: 'pack:' };
  const admin = (args: string[], stdin = '') =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const p = spawn(packed.bin, ['admin', ...args], { cwd: packed.app, env });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      p.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      p.on('error', reject);
      p.on('close', (code) => resolve({ code, stdout, stderr }));
      p.stdin.end(stdin);
    });
  const help = await admin(['--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /user list/);
  const add = await admin(['user', 'add', 'alice', '--password-stdin'], 'correct horse battery staple\n');
  t.is(add.code, 0, add.stderr);
  t.is(add.stdout, "created user 'alice'\n");
  const list = await admin(['user', 'list', '--json']);
  t.is(list.code, 0, list.stderr);
  t.like(JSON.parse(list.stdout), [{ user: 'alice', sessions: 0 }]);
  const sessions = await admin(['sessions', 'list', '--json']);
  t.is(sessions.code, 0, sessions.stderr);
  t.deepEqual(JSON.parse(sessions.stdout), []);
  const usage = await admin(['frobnicate']);
  t.is(usage.code, 2);
  durations['cli checks'] = Math.round(performance.now() - start);
});

const APP = `import { type IssuedSession, loadConfig, MemoryStore, PasswordHasher, type SessionStore } from 'sliding-sessions';

const config = loadConfig({ SESSION_IDLE_TIMEOUT: '15m' });
const store: SessionStore = new MemoryStore({ sweepIntervalMs: 0 });
const issued: IssuedSession | null = await store.create({ userId: 'u1', tag: 'abcdefghijkl', ip: '192.0.2.1' });
if (!issued) throw new Error('no session');
const seen = await store.validate(issued.token);
const hasher = new PasswordHasher({ concurrency: 1, queueLimit: 1 });
const ok = await hasher.verify(await hasher.hash('correct horse battery staple'), 'correct horse battery staple');
console.log(JSON.stringify({ idleMs: config.idleTimeoutMs, state: seen.state, user: seen.state === 'active' ? seen.session.userId : null, ok }));
await store.close();

// The types are real, not any: a wrong call must not compile.
export function misuse(s: SessionStore) {
  // @ts-expect-error userId is a string
  return s.create({ userId: 1, tag: 'abcdefghijkl' });
}
`;

test('a TypeScript app compiles against the installed types (strict, library checks on) and runs', async (t) => {
  const start = performance.now();
  const dir = join(packed.app, 'ts-app');
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'src/main.ts'), APP);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true,
        // Check the package's own .d.ts too: a type it exposes from an uninstalled
        // dev-only package would fail here.
        skipLibCheck: false, outDir: 'out', types: ['node'],
      },
      include: ['src'],
    }),
  );
  const compiled = await exec(process.execPath, [TSC, '-p', dir], { cwd: dir }).catch((err: { stdout?: string }) => err);
  t.is('code' in compiled ? compiled.code : 0, 0, compiled.stdout);
  const ran = await exec(process.execPath, [join(dir, 'out/main.js')], { cwd: dir, env: { PATH: process.env.PATH } });
  t.deepEqual(JSON.parse(ran.stdout), { idleMs: 15 * 60_000, state: 'active', user: 'u1', ok: true });
  durations['typescript app'] = Math.round(performance.now() - start);
});
