/**
 * Property-based fuzzing of the admin CLI's arguments: real commands with wrong, odd
 * or hostile arguments. Exit codes stay 0/1/2 (docs/cli.md), there is never a stack
 * trace, never a secret (cookie value or password hash) in the output, and nothing it
 * was not asked to kill dies. Mostly in-process through the CLI's own `run` (fast, so
 * many runs); a smaller batch as real subprocesses, so a crash of the process itself
 * would show too.
 */
import { spawn } from 'node:child_process';
import { PassThrough, Readable } from 'node:stream';
import test from 'ava';
import fc from 'fast-check';
import { run } from '../../src/cli/main.js';
import { client } from '../helpers/http.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { type TestServer, startServer } from '../helpers/server.js';
import { cliArgsArb } from '../helpers/arbitraries.js';
import { PASSWORD, login as loginToken } from '../helpers/login.js';

let redis: RedisProcess;
let srv: TestServer;
let env: Record<string, string>;
let tokens: string[];

test.before(async () => {
  redis = await startRedis();
  srv = await startServer({ redis });
  await srv.addUser('keeper', PASSWORD);
  const req = client(srv.url);
  tokens = await Promise.all([0, 1].map(async () => (await loginToken(req, 'keeper')).token));
  env = { REDIS_URL: redis.url, SESSION_KEY_PREFIX: srv.keyPrefix, LOG_LEVEL: 'silent' };
});
test.after.always(async () => {
  await srv?.close();
  await redis?.stop();
});

/** What no CLI output may ever contain. */
function leaks(out: string): string | null {
  for (const tok of tokens) {
    if (out.includes(tok.split('.')[1]!)) return 'a cookie secret';
  }
  if (out.includes('$argon2')) return 'a password hash';
  if (/\n\s+at .+:\d+:\d+/.test(out)) return 'a stack trace';
  return null;
}

async function inProcess(argv: string[]): Promise<{ code: number; out: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  stdout.on('data', (d: Buffer) => { out += d; });
  stderr.on('data', (d: Buffer) => { out += d; });
  const stdin = Readable.from([]) as Readable & { isTTY?: boolean };
  const code = await run(argv, env, { stdout, stderr, stdin }, new AbortController().signal);
  return { code, out };
}

/** Valid commands too, so that output with real sessions in it is checked for leaks. */
const argvArb = fc.oneof(
  { weight: 4, arbitrary: cliArgsArb },
  {
    weight: 1,
    arbitrary: fc.constantFrom<string[]>(['sessions', 'list'], ['sessions', 'list', '--json'], ['sessions', 'list', '--user', 'keeper'],
      ['sessions', 'stats'], ['events'], ['events', '--json'], ['sessions', 'list', '--limit', '1']),
  },
);

test.serial('fuzzed argument vectors, in process: exit 0, 1 or 2, one-line errors, no secret, nobody else killed', async (t) => {
  const codes = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(argvArb, async (argv) => {
      const { code, out } = await inProcess(argv);
      codes.set(code, (codes.get(code) ?? 0) + 1);
      if (![0, 1, 2].includes(code)) throw new Error(`${JSON.stringify(argv)} → exit ${code}`);
      const leak = leaks(out);
      if (leak) throw new Error(`${JSON.stringify(argv)} printed ${leak}: ${out.slice(0, 300)}`);
    }),
    { numRuns: 150, includeErrorInReport: true },
  );
  t.log(`exit codes: ${[...codes].map(([c, n]) => `${c}×${n}`).join(', ')}`);
  t.true((codes.get(0) ?? 0) > 0 && (codes.get(2) ?? 0) > 0, 'both real work and usage errors were exercised');
  const req = client(srv.url);
  for (const tok of tokens) t.is((await req('GET', '/api/me', { cookie: tok })).status, 200, 'the bystander sessions survive');
});

function spawnCli(argv: string[]): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'scripts/admin.ts', ...argv], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d; });
    p.stderr.on('data', (d: Buffer) => { out += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out });
    });
  });
}

test.serial('fuzzed argument vectors, as real processes: the process exits 0, 1 or 2 by itself, never crashes or hangs', async (t) => {
  await fc.assert(
    fc.asyncProperty(argvArb, async (argv) => {
      const r = await spawnCli(argv);
      if (r.signal) throw new Error(`${JSON.stringify(argv)} killed by ${r.signal} (hung?)`);
      if (![0, 1, 2].includes(r.code ?? -1)) throw new Error(`${JSON.stringify(argv)} → exit ${r.code}: ${r.out.slice(0, 300)}`);
      const leak = leaks(r.out);
      if (leak) throw new Error(`${JSON.stringify(argv)} printed ${leak}`);
    }),
    { numRuns: 12, includeErrorInReport: true },
  );
  t.pass();
});
