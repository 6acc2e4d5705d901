/**
 * Redis-side cost of the validate script on its common path (active, no slide due):
 * usec_per_call from INFO commandstats after N sequential validates of one session,
 * in a private redis-server. With a file argument, that Lua file (lib.lua prepended)
 * is measured instead of the current validate-session-4.lua (A/B of script versions; its
 * key count comes from the `-<n>.lua` file name, and the store's call must match it).
 *   npx tsx scripts/bench/lua-cost.ts [old-validate.lua] [N]
 */
import { readFileSync } from 'node:fs';
import { startRedis } from '../../test/helpers/redis-server.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { newTag } from '../../src/sessions/token.js';

const [file, nArg] = process.argv.slice(2);
const n = Number(nArg ?? 20000);
const redis = await startRedis();
const client = redis.client();
try {
  if (file) {
    const lib = readFileSync(new URL('../../src/store/lua/lib.lua', import.meta.url), 'utf8');
    const numberOfKeys = Number(/-(\d+)\.lua$/.exec(file)?.[1] ?? 1);
    client.defineCommand('ss_validateSession', { numberOfKeys, lua: `${lib}\n${readFileSync(file, 'utf8')}` });
  }
  const store = new RedisStore({ client, policy: { touchIntervalMs: 60_000 }, ownsClient: false });
  const issued = await store.create({ tag: newTag(), userId: 'u_bench', ip: '127.0.0.1', userAgent: 'Chrome on macOS', data: { theme: 'dark' } });
  if (!issued) throw new Error('create refused');
  for (let i = 0; i < 200; i++) await store.validate(issued.token);
  await client.call('CONFIG', 'RESETSTAT');
  for (let i = 0; i < n; i++) {
    const r = await store.validate(issued.token);
    if (r.state !== 'active') throw new Error(`validate answered ${r.state}`);
  }
  const stats = String(await client.call('INFO', 'commandstats'));
  const line = stats.split('\n').find((l) => l.startsWith('cmdstat_evalsha:'));
  process.stdout.write(`${file ?? 'current'}: ${line?.match(/usec_per_call=([\d.]+)/)?.[1]} µs per EVALSHA (Redis-side, ${n} calls)\n`);
} finally {
  client.disconnect();
  await redis.stop();
}
