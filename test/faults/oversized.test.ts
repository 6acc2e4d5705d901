/**
 * Oversized and flooding input: bodies past the 16 KiB limit (announced or chunked),
 * header floods, and ten thousand distinct well-formed cookies nobody issued, which
 * must cost Redis nothing: no key, no growth.
 */
import test from 'ava';
import type { Redis } from 'ioredis';
import { client } from '../helpers/http.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { type TestServer, startServer } from '../helpers/server.js';
import { forgedTokenArb } from '../helpers/arbitraries.js';
import { PASSWORD } from '../helpers/login.js';
import { buildRequest, header, rawRequest } from './raw-http.js';
import fc from 'fast-check';

let redis: RedisProcess;
let srv: TestServer;
let direct: Redis;

test.before(async () => {
  redis = await startRedis();
  srv = await startServer({ redis });
  await srv.addUser('max', PASSWORD);
  direct = redis.client();
});
test.after.always(async () => {
  await srv?.close();
  await redis?.stop();
});

const json = [['Content-Type', 'application/json']] as Array<[string, string]>;

test.serial('JSON bodies over 16 KiB are refused with 413 payload_too_large, announced or chunked', async (t) => {
  const req = client(srv.url);
  for (const size of [16 * 1024 + 1, 64 * 1024, 2 * 1024 * 1024]) {
    const r = await req('POST', '/auth/login', { body: JSON.stringify({ username: 'max', password: 'x'.repeat(size) }), headers: { 'content-type': 'application/json' } });
    t.is(r.status, 413, `${size} bytes: ${r.text}`);
    t.is(r.body?.error, 'payload_too_large');
  }
  // No Content-Length: the limit must hold on the bytes actually read.
  const big = 'y'.repeat(40 * 1024);
  const chunked = `${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`;
  const r = await rawRequest(srv.port, buildRequest('POST', '/auth/login', [...json, ['Transfer-Encoding', 'chunked']], chunked));
  t.is(r.status, 413, `chunked: ${r.body}`);
  // A lying Content-Length is refused before any body is trusted.
  const lie = await rawRequest(srv.port, buildRequest('POST', '/auth/login', [...json, ['Content-Length', String(10 * 1024 * 1024)]], '{}'), 15_000);
  t.is(lie.status, 413, 'refused on the announced length, without waiting for 10 MB');
});

test.serial('header floods get 431, not 500: a 20 KB cookie, thousands of headers', async (t) => {
  const cookie = await rawRequest(srv.port, buildRequest('GET', '/api/me', [['Cookie', `sid=${'a'.repeat(20 * 1024)}`]]));
  t.is(cookie.status, 431);
  const many = Array.from({ length: 3000 }, (_, i): [string, string] => [`x-flood-${i}`, 'v']);
  const flood = await rawRequest(srv.port, buildRequest('GET', '/api/me', many));
  t.is(flood.status, 431);
  const manyCookies = Array.from({ length: 1500 }, (_, i): [string, string] => ['Cookie', `c${i}=v`]);
  const cookieFlood = await rawRequest(srv.port, buildRequest('GET', '/api/me', manyCookies));
  t.is(cookieFlood.status, 431);
  t.is((await client(srv.url)('GET', '/healthz')).status, 200, 'the server is fine afterwards');
});

test.serial('10,000 distinct well-formed cookies nobody issued: all 401, no new key, no growth in Redis', async (t) => {
  const tokens = [...new Set(fc.sample(forgedTokenArb, 10_000))];
  const req = client(srv.url);
  // Warm-up: loads the script and grows the Lua heap to its working size first.
  for (const tok of fc.sample(forgedTokenArb, 200)) await req('GET', '/api/me', { cookie: tok });
  const keyBytesBefore = await keyBytes(direct);
  const keysBefore = (await direct.keys('*')).sort();
  const dbBefore = await direct.dbsize();
  const memBefore = await usedMemory(direct);
  const statuses = new Map<number, number>();
  let resetsCookie = 0;
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < tokens.length) {
      const tok = tokens[next++]!;
      const r = await req('GET', '/api/me', { cookie: tok });
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (r.setCookies.some((c) => c.startsWith(`sid=${tok}`))) resetsCookie++;
    }
  }));
  const memAfter = await usedMemory(direct);
  const keyBytesAfter = await keyBytes(direct);
  t.log(`${tokens.length} tokens: ${[...statuses].map(([s, n]) => `${s}×${n}`).join(', ')}; used_memory ${memBefore} → ${memAfter}`);
  t.deepEqual([...statuses], [[401, tokens.length]]);
  t.is(resetsCookie, 0, 'no reply sets the presented ID');
  t.is(await direct.dbsize(), dbBefore);
  t.deepEqual((await direct.keys('*')).sort(), keysBefore);
  t.is(keyBytesAfter, keyBytesBefore, 'MEMORY USAGE summed over every key is unchanged');
  // used_memory_dataset also moves with the Lua heap and allocator noise; a key per
  // token would have added about 1 MB (~100 B × 10,000).
  t.true(memAfter - memBefore < 256 * 1024, `used_memory_dataset moved ${memAfter - memBefore} bytes`);
});

test.serial('a header-injection attempt through the cookie value is refused by the parser, not echoed', async (t) => {
  const r = await rawRequest(srv.port, buildRequest('GET', '/api/me', [['Cookie', 'sid=abc\r\nSet-Cookie: sid=evil']]));
  t.true(r.status === 400 || r.status === 401, `→ ${r.status}`);
  t.false(header(r, 'set-cookie').some((c) => c.includes('evil')));
});

async function keyBytes(r: Redis): Promise<number> {
  let n = 0;
  for (const k of await r.keys('*')) n += Number(await r.memory('USAGE', k));
  return n;
}

async function usedMemory(r: Redis): Promise<number> {
  const info = await r.info('memory');
  // used_memory_dataset excludes the overhead of client connections and buffers.
  return Number(/used_memory_dataset:(\d+)/.exec(info)?.[1] ?? 'NaN');
}
