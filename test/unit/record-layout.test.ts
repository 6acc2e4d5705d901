/**
 * One record layout: the field names live in src/store/record.ts (F, RECORD_FIELDS) and
 * reach the Lua scripts only through the generated prelude, so a field renamed or
 * reordered in TypeScript cannot leave a script reading the old one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import test from 'ava';
import { F, luaPrelude, RECORD_FIELDS } from '../../src/store/record.js';
import { scriptSources } from '../../src/store/scripts.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';

const LUA = new URL('../../src/store/lua/', import.meta.url);
let redis: RedisProcess;
test.before(async () => {
  redis = await startRedis();
});
test.after.always(async () => {
  await redis?.stop();
});

test('no script spells a record field: every hash command names fields through F or RECORD_FIELDS', (t) => {
  const offenders: string[] = [];
  for (const file of readdirSync(LUA).filter((f) => f.endsWith('.lua'))) {
    readFileSync(new URL(file, LUA), 'utf8').split('\n').forEach((line, i) => {
      if (/\bH(SET|SETNX|MGET|GET|DEL|EXISTS|INCRBY)\b/.test(line) && /'[a-z]'/.test(line)) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
      if (/ARGV\[\w+\] == '[a-z]'/.test(line)) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
  t.deepEqual(offenders, []);
});

test('the prelude Redis runs holds exactly the TypeScript layout, and every script starts with it', async (t) => {
  const c = redis.client();
  t.teardown(() => c.disconnect());
  const [f, fields, at] = JSON.parse(String(await c.eval(`${luaPrelude()}\nreturn cjson.encode({ F, RECORD_FIELDS, AT })`, 0))) as [
    Record<string, string>, string[], Record<string, number>,
  ];
  t.deepEqual(f, { ...F });
  t.deepEqual(fields, [...RECORD_FIELDS]);
  const names = Object.fromEntries(Object.entries(F).map(([n, v]) => [v, n]));
  t.deepEqual(at, Object.fromEntries(RECORD_FIELDS.map((v, i) => [names[v], i + 1])));
  for (const [name, { lua }] of Object.entries(scriptSources())) t.true(lua.includes(luaPrelude()), name);
});

test('validate answers every field the decoder reads, each name once', (t) => {
  const values = new Set(Object.values(F));
  t.is(new Set(RECORD_FIELDS).size, RECORD_FIELDS.length);
  for (const f of RECORD_FIELDS) t.true(values.has(f), f);
  t.is(new Set(values).size, Object.keys(F).length, 'no two names share a field');
});
