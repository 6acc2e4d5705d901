/**
 * This server as a benchmark stack: the real entry point (src/main.ts) in a child,
 * against the benchmark's Redis, with a user created beforehand through the product's
 * own user store and password hasher.
 */
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { PasswordHasher } from '../../src/users/password.js';
import { RedisUserStore } from '../../src/users/redis-user-store.js';
import { keySpace } from '../../src/store/keys.js';
import { F } from '../../src/store/record.js';
import { cookieHeader, type SessionMemory, type Stack } from './stacks.js';

export const BENCH_PASSWORD = 'bench-password-long-enough-0123';
/** A typical browser; the server stores a compact device summary, not this string. */
export const TYPICAL_UA =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const PREFIX = 'ss:';
const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

/** Creates the user if absent (idempotent across stacks sharing one Redis). */
export async function ensureUser(client: Redis, username: string): Promise<{ tag: string }> {
  const users = new RedisUserStore(client, { keyPrefix: PREFIX });
  const found = await users.find(username);
  if (found) return { tag: found.tag };
  const hasher = new PasswordHasher({ concurrency: 1, queueLimit: 1 });
  await users.create(username, await hasher.hash(BENCH_PASSWORD));
  const made = await users.find(username);
  return { tag: made!.tag };
}

export async function login(url: string, username: string, userAgent = TYPICAL_UA): Promise<Response> {
  return fetch(`${url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': userAgent, accept: 'application/json' },
    body: JSON.stringify({ username, password: BENCH_PASSWORD }),
  });
}

export async function loginCookie(url: string, username: string): Promise<string> {
  const res = await login(url, username);
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`POST /auth/login answered ${res.status}`);
  return cookieHeader(res);
}

/** Environment of a product child: its real configuration variables. */
export const productEnv = (redisUrl: string, cache: boolean): Record<string, string> => ({
  REDIS_URL: redisUrl,
  HOST: '127.0.0.1',
  SESSION_CACHE: cache ? 'on' : 'off',
  SESSION_KEY_PREFIX: PREFIX,
  // No per-request log lines: the peers write none either.
  LOG_LEVEL: 'warn',
  SHUTDOWN_DRAIN: '0',
});

async function usage(admin: Redis, keys: string[]): Promise<number> {
  let bytes = 0;
  for (const key of keys) bytes += (await admin.memory('USAGE', key, 'SAMPLES', 0)) ?? 0;
  return bytes;
}

/**
 * MEMORY USAGE of one session: its record plus its entry in the user's index (the
 * index's growth from the user's first to second session). A user's only session also
 * carries the index's fixed overhead; the note gives that figure too.
 */
async function productMemory(admin: Redis, url: string): Promise<SessionMemory> {
  const { tag } = await ensureUser(admin, 'memory-probe');
  const k = keySpace(PREFIX);
  const records = async () => {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await admin.scan(cursor, 'MATCH', k.session(tag, '*'), 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    return keys;
  };
  await loginCookie(url, 'memory-probe');
  const [first] = await records();
  if (!first) throw new Error('no session record after login');
  const index1 = await usage(admin, [k.userIndex(tag)]);
  await loginCookie(url, 'memory-probe');
  const index2 = await usage(admin, [k.userIndex(tag)]);
  const record = await usage(admin, [first]);
  const [ip, userAgent] = await admin.hmget(first, F.ip, F.userAgent);
  return {
    bytes: record + (index2 - index1),
    keys: [`record ss:{<tag>}:s:<sha256> ${record} B`, `its entry in ss:{<tag>}:u ${index2 - index1} B`],
    note: `a user's only session also carries the index's fixed part: ${record + index1} B`,
    typical: { ip: ip ?? '', userAgent: userAgent ?? '' },
  };
}

export const productStacks = (): Stack[] =>
  ([false, true] as const).map((cache) => ({
    id: cache ? 'sliding-cache' : 'sliding',
    label: cache ? 'this server, SESSION_CACHE=on' : 'this server (Redis store, cache off)',
    entry: main,
    env: (redisUrl: string) => productEnv(redisUrl, cache),
    session: true,
    login: async (url: string, admin: Redis) => {
      await ensureUser(admin, 'bench');
      return loginCookie(url, 'bench');
    },
    ...(cache ? {} : { memory: productMemory }),
  }));
