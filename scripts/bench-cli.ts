/**
 * `npm run bench:cli` (a benchmark, not a test): how the admin CLI copes with a big
 * keyspace. Starts its own redis-server, writes N sessions (default 100,000) through
 * RedisStore, then runs the CLI as a subprocess under /usr/bin/time and reports wall
 * time and peak RSS per command. The `--limit 1` row is the fixed cost (Node, tsx,
 * connect); the gap between it and the full listing is what the sessions cost, and
 * the last row repeats the JSON listing with the V8 heap capped at 40 MiB: it completes
 * (exit 0) only because the listing streams.
 *
 *   npm run bench:cli [-- --sessions 100000 --users 10000]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Table from 'cli-table3';
import { RedisStore } from '../src/store/redis-store.js';
import { connectRedis } from '../src/store/connection.js';
import { startRedis } from '../test/helpers/redis-server.js';

const { values } = parseArgs({
  options: { sessions: { type: 'string', default: '100000' }, users: { type: 'string', default: '10000' } },
});
const SESSIONS = Number(values.sessions);
const USERS = Number(values.users);
const CONCURRENCY = 256;
const HEAP_CAP_MIB = 40;

const redis = await startRedis();
const env = { ...process.env, REDIS_URL: redis.url, SESSION_KEY_PREFIX: 'ss:' };
const client = await connectRedis({ url: redis.url, commandTimeoutMs: 10_000 });
const store = new RedisStore({ client, ownsClient: false });

// Setup: user k gets its sessions from a skewed spread so `stats` has a real top list.
const tags = Array.from({ length: USERS }, (_, k) => `bench${String(k).padStart(7, '0')}`.slice(0, 12));
const userOf = (i: number) => Math.floor(USERS * (i / SESSIONS) ** 2);
const t0 = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    for (let i = next++; i < SESSIONS; i = next++) {
      const k = Math.min(userOf(i), USERS - 1);
      await store.create({ userId: `user${k}`, tag: tags[k]!, ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, userAgent: 'Firefox 128 on Linux' });
    }
  }),
);
const setupS = (performance.now() - t0) / 1000;
const memory = Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1]);
client.disconnect();

interface Row { command: string; wallS: number; maxRssMiB: number; exit: number }

/** One CLI run under /usr/bin/time (-f "%e %M": elapsed seconds, max RSS KiB). */
function timed(args: string[], nodeFlags: string[] = []): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cli-'));
  const out = join(dir, 'time');
  const argv = ['-f', '%e %M', '-o', out, process.execPath, ...nodeFlags, '--import', 'tsx', 'scripts/admin.ts', ...args];
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', argv, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => {
      const [wall, rssKiB] = readFileSync(out, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
      rmSync(dir, { recursive: true, force: true });
      const flags = nodeFlags.length ? ` (node ${nodeFlags.join(' ')})` : '';
      resolve({ command: `admin ${args.join(' ')}${flags}`, wallS: wall!, maxRssMiB: rssKiB! / 1024, exit: code ?? -1 });
    });
  });
}

if (!existsSync('/usr/bin/time')) throw new Error('bench:cli needs /usr/bin/time (apt-get install time)');
const rows: Row[] = [];
try {
  for (const args of [
    ['sessions', 'list', '--json', '--limit', '1'],
    ['sessions', 'list', '--json'],
    ['sessions', 'list'],
    ['sessions', 'stats'],
  ]) {
    rows.push(await timed(args));
  }
  // Bounded memory, shown rather than claimed: the same listing with the V8 heap capped
  // far below what holding every session would need still completes.
  rows.push(await timed(['sessions', 'list', '--json'], [`--max-old-space-size=${HEAP_CAP_MIB}`]));
} finally {
  await redis.stop();
}

const table = new Table({ head: ['command (stdout → /dev/null)', 'wall s', 'peak RSS MiB', 'exit'], style: { head: [], border: [] } });
for (const r of rows) table.push([r.command, r.wallS.toFixed(2), r.maxRssMiB.toFixed(0), String(r.exit)]);
console.log(
  `${SESSIONS.toLocaleString('en')} sessions of ${USERS.toLocaleString('en')} users, ` +
    `written in ${setupS.toFixed(1)} s; Redis used_memory ${(memory / 2 ** 20).toFixed(0)} MiB`,
);
console.log(table.toString());
console.log(`${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
