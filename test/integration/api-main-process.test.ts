/**
 * The standalone server as a process (`node --import tsx src/main.ts`): configuration
 * errors exit 1 naming the variable; the embedded store prints itself and a demo
 * account; Redis with an evicting policy is refused; SIGTERM turns /readyz 503 at once,
 * keeps serving through the drain, and exits 0.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { client } from '../helpers/http.js';
import { startRedis } from '../helpers/redis-server.js';

const ROOT = new URL('../../', import.meta.url).pathname;

interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function run(env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d;
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d;
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function listening(p: Proc): Promise<string> {
  for (let i = 0; i < 400; i++) {
    const line = p.stdout().split('\n').find((l) => l.includes('"server.listening"'));
    if (line) return JSON.parse(line).url as string;
    if (p.child.exitCode !== null) throw new Error(`exited: ${p.stderr()}`);
    await sleep(25);
  }
  throw new Error(`never listened: ${p.stdout()} ${p.stderr()}`);
}

test('an invalid variable stops the start with exit 1 and a message naming it', async (t) => {
  const p = run({ SESSION_IDLE_TIMEOUT: 'fifteen minutes' });
  t.is(await p.exited, 1);
  t.regex(p.stderr(), /^Configuration error: SESSION_IDLE_TIMEOUT: /m);
  const prod = run({ NODE_ENV: 'production' });
  t.is(await prod.exited, 1);
  t.regex(prod.stderr(), /REDIS_URL: is required when NODE_ENV=production/);
});

test('embedded store: says so, prints one demo line that signs in, and SIGTERM drains then exits 0', async (t) => {
  const p = run({ SHUTDOWN_DRAIN: '1s' });
  t.teardown(() => p.child.kill('SIGKILL'));
  const url = await listening(p);
  t.regex(p.stdout(), /Using the embedded store/);
  const demo = p.stdout().split('\n').filter((l) => l.includes('"demo"'));
  t.is(demo.length, 1);
  const password = /password "([^"]+)"/.exec(demo[0]!)![1]!;
  const req = client(url);
  const login = await req('POST', '/auth/login', { json: { username: 'demo', password } });
  t.is(login.status, 200);
  const cookie = login.cookie()!;
  t.is((await req('GET', '/readyz')).status, 200);

  p.child.kill('SIGTERM');
  let ready = 200;
  for (let i = 0; i < 40 && ready === 200; i++) {
    ready = (await req('GET', '/readyz')).status;
    if (ready === 200) await sleep(10);
  }
  t.is(ready, 503, '/readyz turns 503 at once');
  t.is((await req('GET', '/api/me', { cookie })).status, 200, 'requests are still served during the drain');
  t.is(await p.exited, 0);
  t.regex(p.stdout(), /"server.stopped"/);
  t.false(p.stdout().includes(cookie));
});

test('Redis with an evicting maxmemory-policy is refused unless REDIS_ALLOW_EVICTION', async (t) => {
  const redis = await startRedis({ args: ['--maxmemory-policy', 'allkeys-lru'] });
  t.teardown(() => redis.stop());
  const refused = run({ REDIS_URL: redis.url });
  t.is(await refused.exited, 1);
  t.regex(refused.stderr(), /maxmemory-policy is allkeys-lru/);

  const allowed = run({ REDIS_URL: redis.url, REDIS_ALLOW_EVICTION: 'on', SHUTDOWN_DRAIN: '0' });
  t.teardown(() => allowed.child.kill('SIGKILL'));
  const url = await listening(allowed);
  t.false(allowed.stdout().includes('Using the embedded store'));
  t.false(allowed.stdout().includes('"demo"'), 'no demo account on Redis');
  t.regex(allowed.stdout(), /"redis.eviction_allowed"/);
  t.is((await client(url)('GET', '/readyz')).status, 200);
  allowed.child.kill('SIGINT');
  t.is(await allowed.exited, 0);
});
