/**
 * Progress of the long scans (`sessions list`, `sessions stats`, `user list`): a counter
 * on stderr, rewritten in place with \r, once the scan has run over a second and only
 * when stderr is a terminal; nothing when it is not, nothing with --json, nothing for a
 * scan that ends sooner. The terminal and the clock are the CLI's io, given here
 * in-process (no pseudo-terminal, no waiting), over a private redis-server.
 */
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import test from 'ava';
import { run } from '../../src/cli/main.js';
import { keySpace } from '../../src/store/keys.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { RedisUserStore } from '../../src/users/redis-user-store.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';

// The CLI never verifies passwords: any PHC-looking string will do as a stored hash.
const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
const USERS = 1200;
let redis: RedisProcess;
let env: Record<string, string>;

// Enough records for several SCAN replies of each listing (COUNT 1000 for sessions, 500 for users).
test.before(async () => {
  redis = await startRedis();
  const prefix = `t${randomBytes(4).toString('hex')}:`;
  const client = redis.client();
  const store = new RedisStore({ client, keys: keySpace(prefix), ownsClient: false });
  const users = new RedisUserStore(client, { keyPrefix: prefix });
  for (let i = 0; i < USERS; i += 100) {
    await Promise.all(
      Array.from({ length: 100 }, async (_, j) => {
        const user = await users.create(`user${i + j}`, HASH);
        await store.create({ userId: user.id, tag: user.tag });
        await store.create({ userId: user.id, tag: user.tag });
      }),
    );
  }
  env = { REDIS_URL: redis.url, SESSION_KEY_PREFIX: prefix };
});
test.after.always(async () => {
  await redis?.stop();
});

interface Terminal {
  /** Everything written, in order, as one terminal would show stdout and stderr. */
  writes: Array<{ to: 'stdout' | 'stderr'; text: string }>;
  stdout: () => string;
  stderr: () => string;
}

/** Runs the CLI with stderr a terminal or not, on a clock that moves `step` ms each time it is read. */
async function admin(args: string[], opts: { tty: boolean; step: number }): Promise<Terminal & { code: number }> {
  const writes: Terminal['writes'] = [];
  const sink = (to: 'stdout' | 'stderr') =>
    new Writable({
      write(chunk, _enc, cb) {
        writes.push({ to, text: String(chunk) });
        cb();
      },
    });
  const stderr = Object.assign(sink('stderr'), { isTTY: opts.tty });
  let clock = 0;
  const io = { stdout: sink('stdout'), stderr, stdin: Readable.from([]), now: () => (clock += opts.step) };
  const code = await run(args, env, io, new AbortController().signal);
  const of = (to: string) => writes.filter((w) => w.to === to).map((w) => w.text).join('');
  return { code, writes, stdout: () => of('stdout'), stderr: () => of('stderr') };
}

const SCANS: Array<{ args: string[]; what: string; total: number }> = [
  { args: ['sessions', 'list'], what: 'sessions', total: 2 * USERS },
  { args: ['sessions', 'stats'], what: 'sessions', total: 2 * USERS },
  { args: ['user', 'list'], what: 'users', total: USERS },
];
const CLEAR = '\r\x1b[K';

for (const { args, what, total } of SCANS) {
  const name = args.join(' ');

  test(`${name}: past a second, a terminal on stderr shows a growing counter of ${what}, erased at the end`, async (t) => {
    const r = await admin(args, { tty: true, step: 300 });
    t.is(r.code, 0, r.stderr());
    const counts = [...r.stderr().matchAll(new RegExp(`\\rscanned (\\d+) ${what}…`, 'g'))].map((m) => Number(m[1]));
    t.true(counts.length >= 2, r.stderr());
    t.deepEqual(counts, [...counts].sort((a, b) => a - b), 'it only grows');
    t.true(counts.at(-1)! <= total);
    t.true(r.stderr().endsWith(CLEAR), 'the last counter is erased');
    t.is(r.stderr().replace(new RegExp(`\\rscanned \\d+ ${what}…`, 'g'), '').replaceAll(CLEAR, ''), '', 'nothing else on stderr');
    t.false(r.stdout().includes('\r'));
  });

  test(`${name}: the counter never splits a line of the output on the same terminal`, async (t) => {
    const r = await admin(args, { tty: true, step: 300 });
    let shown = false;
    let counters = 0;
    for (const w of r.writes) {
      if (w.to === 'stderr') {
        shown = !w.text.endsWith(CLEAR);
        if (shown) counters++;
      } else {
        t.false(shown, `stdout written over a counter: ${JSON.stringify(w.text.slice(0, 40))}`);
      }
    }
    t.true(counters >= 2, 'counters were shown while the output was written');
  });

  test(`${name}: nothing on stderr when it is not a terminal, with --json, or when the scan ends within a second`, async (t) => {
    const plain = await admin(args, { tty: false, step: 300 });
    t.is(plain.code, 0);
    t.is(plain.stderr(), '');
    const json = await admin([...args, '--json'], { tty: true, step: 300 });
    t.is(json.code, 0);
    t.is(json.stderr(), '');
    t.notThrows(() => JSON.parse(json.stdout()), 'stdout is the JSON alone');
    const quick = await admin(args, { tty: true, step: 0 });
    t.is(quick.code, 0);
    t.is(quick.stderr(), '');
  });
}
