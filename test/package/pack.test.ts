/**
 * The package as a user gets it: `npm pack` from a clean copy of the repository (no
 * dist/, so prepack must build), the tarball installed with --omit=dev into a fresh
 * app, then its server started, its admin CLI run against a private redis-server and a
 * small TypeScript app compiled against its types and run; every TypeScript example of
 * the README and docs/ is compiled as an adopter's fresh `tsc --init` project would, and
 * the README's library example is run. The runtime image holds the same dist/src and
 * production dependencies, so this checks the image without Docker.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { freePort } from '../helpers/ports.js';
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
    'LICENSE', 'dist/src/store/lua/validate-session-4.lua', 'dist/src/users/lua/create-user-1.lua', 'dist/src/views/assets/style.css',
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
  t.regex(help.stdout, /^Usage: sliding-sessions admin <command>/, 'the installed help names the installed command');
  t.false(help.stdout.includes('npm run'), help.stdout);
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

const APP = `import { loadConfig } from 'sliding-sessions';
import { type IssuedSession, MemoryStore, PasswordHasher, type SessionStore } from 'sliding-sessions/internals';

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

interface Example {
  /** The page and the line its opening fence is on. */
  page: string;
  line: number;
  code: string;
}

/**
 * Every ```ts block of the README and docs/, as a reader copies it. A block fenced
 * ```ts fragment is a piece of the example before it (it uses that example's names) and
 * is left out: the few there are say so in their page.
 */
function documentedExamples(): { compiled: Example[]; fragments: Example[] } {
  const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
  const compiled: Example[] = [];
  const fragments: Example[] = [];
  for (const page of pages) {
    const lines = readFileSync(join(ROOT, page), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const fence = /^```(ts|typescript)(?:\s+(\S.*))?$/.exec(lines[i]!);
      if (!fence) continue;
      const end = lines.indexOf('```', i + 1);
      if (end < 0) throw new Error(`${page}:${i + 1}: unclosed code block`);
      const example = { page, line: i + 1, code: lines.slice(i + 1, end).join('\n') + '\n' };
      if (fence[2] === 'fragment') fragments.push(example);
      else if (fence[2] === undefined) compiled.push(example);
      else throw new Error(`${page}:${i + 1}: unknown code block tag '${fence[2]}'`);
      i = end;
    }
  }
  return { compiled, fragments };
}

/** `docs/library.md` line 31 → `library-31.ts`: a compiler error names the page and the line. */
const exampleFile = (e: Example) => `${e.page.replace(/^docs\//, '').replace(/\.md$/, '')}-${e.line}.ts`;

/**
 * What `tsc --init` writes under TypeScript 5.9, spelled out so a later TypeScript
 * cannot change the test, with library checks on: the package's own declarations are
 * compiled too, so a type it exposes from a package an adopter does not have fails here.
 */
const TSC_INIT_DEFAULTS = {
  module: 'nodenext', target: 'esnext', types: [], sourceMap: true, declaration: true, declarationMap: true,
  noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, strict: true, jsx: 'react-jsx',
  verbatimModuleSyntax: true, isolatedModules: true, noUncheckedSideEffectImports: true, moduleDetection: 'force',
  skipLibCheck: false,
};

/** The README's `./my-users.js`: the app's own users table, here one user whose password always matches. */
const MY_USERS = `import type { Context } from 'koa';
export const myUsers = { check: async (_ctx: Context) => ({ id: 'u1' }) };
`;

test('every TypeScript example of the README and docs/ compiles in a fresh app under tsc --init defaults, and the README\'s library example runs', async (t) => {
  const start = performance.now();
  const { compiled, fragments } = documentedExamples();
  t.log(`${compiled.length} examples compiled; fragments left out: ${fragments.map((e) => `${e.page}:${e.line}`).join(', ') || 'none'}`);
  const readme = compiled.filter((e) => e.page === 'README.md');
  t.is(readme.length, 1, 'the README has one TypeScript example: the library in a few lines');
  t.true(compiled.some((e) => e.page === 'docs/library.md'), 'docs/library.md has compiled examples');

  const dir = join(packed.app, 'docs-app');
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...TSC_INIT_DEFAULTS, outDir: 'out' }, include: ['src'] }));
  writeFileSync(join(dir, 'src/my-users.ts'), MY_USERS);
  // The README listens on 3000; here on a port that is free, the only change made to it.
  const port = await freePort();
  const library = readme[0]!;
  t.is(library.code.split('.listen(3000)').length, 2, 'the README example listens once, on 3000');
  for (const e of compiled) {
    writeFileSync(join(dir, 'src', exampleFile(e)), e === library ? e.code.replace('.listen(3000)', `.listen(${port})`) : e.code);
  }
  const tsc = await exec(process.execPath, [TSC, '-p', dir], { cwd: dir }).then(
    () => ({ code: 0, stdout: '' }),
    (err: { code: number; stdout: string }) => err,
  );
  t.is(tsc.code, 0, `src/<page>-<line>.ts is the block whose fence is on that line of the page:\n${tsc.stdout}`);
  if (tsc.code !== 0) return;

  // Run as a reader would, without REDIS_URL: the embedded store.
  const server = spawn(process.execPath, [join(dir, 'out', exampleFile(library).replace(/\.ts$/, '.js'))], { cwd: dir, env: { PATH: process.env.PATH } });
  let stderr = '';
  server.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  t.teardown(() => {
    if (server.exitCode === null) server.kill('SIGKILL');
  });
  const exited = new Promise<number | null>((resolve) => server.once('exit', resolve));
  const base = `http://127.0.0.1:${port}`;
  const browser = { origin: base, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' };
  // Nothing is printed once it listens: ask until it answers, or until it has exited.
  let anonymous: Response | undefined;
  while (!anonymous && server.exitCode === null) {
    anonymous = await fetch(`${base}/me`).catch(() => new Promise<undefined>((r) => setTimeout(r, 50)));
  }
  t.truthy(anonymous, `the example exited: ${stderr}`);
  if (!anonymous) return;
  t.is(anonymous.status, 401, stderr);
  t.like(await anonymous.json(), { error: 'login_required' });
  const login = await fetch(`${base}/login`, { method: 'POST', headers: browser, body: '{}' });
  t.is(login.status, 204, stderr);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  t.regex(cookie, /^sid=/);
  const me = await fetch(`${base}/me`, { headers: { cookie } });
  t.is(me.status, 200, stderr);
  t.deepEqual(await me.json(), { user: 'u1' });
  server.kill('SIGTERM');
  await exited;
  durations['documented examples'] = Math.round(performance.now() - start);
});
