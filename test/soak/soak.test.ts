/**
 * The soak's invariant checker as part of the suite: a short `npm run soak` (two server
 * processes on one private redis-server, mixed traffic from many devices, CLI kills and
 * deliberate replays of IDs rotated away any number of times) must end with no
 * violation. The full-length run is `npm run soak` (150 s by default).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('a 30-second soak breaks no invariant: revocations are final, every replay kills its chain, no key outlives its deadline', async (t) => {
  t.timeout(180_000);
  const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));
  const { stdout } = await run(process.execPath, [tsx, 'scripts/soak.ts'], {
    cwd: ROOT,
    env: { ...process.env, SOAK_SECONDS: '30', SOAK_DEVICES: '16', SOAK_CLI_EVERY: '8' },
    maxBuffer: 16 << 20,
  }).catch((err: { stdout?: string; stderr?: string; code?: number }) => {
    t.log(err.stdout ?? '', err.stderr ?? '');
    throw new Error(`the soak exited ${err.code}: ${(err.stdout ?? '').split('\n').filter((l) => l.includes('✗')).slice(0, 10).join('\n')}`);
  });
  t.log(stdout.split('\n').filter((l) => /^soak: \d|replays|violations|revocations/.test(l.trim())).join('\n'));
  t.regex(stdout, /^ {2}violations 0$/m);
  const m = /replays injected (\d+), detected (\d+)/.exec(stdout);
  t.truthy(m, 'the report counts replays');
  t.true(Number(m![1]) > 0, 'replays were exercised');
  t.is(m![2], m![1], 'every injected replay was caught');
});
