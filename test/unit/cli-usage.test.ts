/**
 * The command line itself, in-process (no Redis, no subprocess): every command answers
 * --help with its usage (exit 0), and every misuse with exit 2 and the usage on stderr,
 * decided before any connection. admin.test.ts checks the same codes on a real process.
 */
import { Readable, Writable } from 'node:stream';
import test from 'ava';
import { run } from '../../src/cli/main.js';

function capture() {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      cb();
    },
  });
  return { stream, text: () => text };
}

async function admin(argv: string[], env: Record<string, string> = { REDIS_URL: 'redis://127.0.0.1:1' }) {
  const out = capture();
  const err = capture();
  const code = await run(argv, env, { stdout: out.stream, stderr: err.stream, stdin: Readable.from([]) }, new AbortController().signal);
  return { code, stdout: out.text(), stderr: err.text() };
}

const COMMANDS: [string[], RegExp][] = [
  [[], /^Usage: npm run admin -- <command>/],
  [['user'], /^Usage: npm run admin -- user <add\|passwd\|delete>/],
  [['user', 'add'], /^Usage: npm run admin -- user add <username> \[--password-stdin\]/],
  [['user', 'passwd'], /^Usage: npm run admin -- user passwd <username>/],
  [['user', 'delete'], /^Usage: npm run admin -- user delete <username>/],
  [['sessions'], /^Usage: npm run admin -- sessions <list\|show\|kill\|stats>/],
  [['sessions', 'list'], /^Usage: npm run admin -- sessions list \[--user <u>\] \[--json\] \[--limit N\]/],
  [['sessions', 'show'], /^Usage: npm run admin -- sessions show <handle>/],
  [['sessions', 'kill'], /^Usage: npm run admin -- sessions kill <handle>/],
  [['sessions', 'stats'], /^Usage: npm run admin -- sessions stats/],
  [['events'], /^Usage: npm run admin -- events \[--user <u>\]/],
];

for (const [words, usage] of COMMANDS) {
  test(`admin ${[...words, '--help'].join(' ')} prints the usage on stdout and exits 0, even without Redis`, async (t) => {
    for (const help of ['--help', '-h']) {
      const r = await admin([...words, help], {});
      t.is(r.code, 0);
      t.regex(r.stdout, usage);
      t.is(r.stderr, '');
    }
  });
}

test('--help wins over other mistakes on the same line', async (t) => {
  const r = await admin(['sessions', 'list', '--bogus', '--help']);
  t.is(r.code, 0);
  t.regex(r.stdout, /^Usage: npm run admin -- sessions list/);
});

const MISUSES: [string[], RegExp, RegExp][] = [
  [[], /^admin: missing command\n/, /Usage: npm run admin -- <command>/],
  [['frobnicate'], /^admin: unknown command 'frobnicate'\n/, /Usage: npm run admin -- <command>/],
  [['user'], /^admin: missing user command\n/, /Usage: npm run admin -- user </],
  [['sessions', 'purge'], /^admin: unknown command 'sessions purge'\n/, /Usage: npm run admin -- sessions </],
  [['sessions', 'list', '--bogus'], /^admin: Unknown option '--bogus'/, /sessions list \[--user/],
  [['sessions', 'list', '--user'], /^admin: Option '--user <value>' argument missing/, /sessions list \[--user/],
  [['sessions', 'list', '--limit', 'ten'], /^admin: --limit needs a positive integer\n/, /sessions list/],
  [['sessions', 'list', '--limit', '0'], /^admin: --limit needs a positive integer\n/, /sessions list/],
  [['sessions', 'list', 'extra'], /^admin: unexpected argument 'extra'\n/, /sessions list/],
  [['sessions', 'stats', '--top', '1.5'], /^admin: --top needs a positive integer\n/, /sessions stats/],
  [['sessions', 'show'], /^admin: missing <handle>\n/, /sessions show <handle>/],
  [['sessions', 'kill'], /^admin: give either a <handle> or --user <u>\n/, /sessions kill <handle>/],
  [['user', 'add'], /^admin: missing <username>\n/, /user add <username>/],
  [['user', 'add', 'a', 'b'], /^admin: unexpected argument 'b'\n/, /user add <username>/],
  [['user', 'delete', 'a', '--password-stdin'], /^admin: Unknown option '--password-stdin'/, /user delete <username>/],
  [['events', '--limit', 'x'], /^admin: --limit needs a positive integer\n/, /events \[--user/],
];

for (const [argv, message, usage] of MISUSES) {
  test(`admin ${argv.join(' ') || '(nothing)'} is a usage error: exit 2, message and usage on stderr`, async (t) => {
    const r = await admin(argv);
    t.is(r.code, 2);
    t.regex(r.stderr, message);
    t.regex(r.stderr, usage);
    t.is(r.stdout, '');
  });
}

test('no REDIS_URL (nor Sentinel, nor Cluster): the embedded store lives in the server, exit 1', async (t) => {
  const r = await admin(['sessions', 'list'], {});
  t.is(r.code, 1);
  t.is(r.stderr, 'admin: the admin CLI needs a shared Redis (set REDIS_URL); the embedded store lives inside the server process\n');
  t.is(r.stdout, '');
});

test('an invalid variable stops the CLI with one line naming it, exit 1', async (t) => {
  const r = await admin(['sessions', 'list'], { REDIS_URL: 'redis://127.0.0.1:1', SESSION_IDLE_TIMEOUT: 'soon' });
  t.is(r.code, 1);
  t.regex(r.stderr, /^admin: invalid configuration: SESSION_IDLE_TIMEOUT: .*\n$/);
});
