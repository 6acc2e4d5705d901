/**
 * The stacks under test. Each one is a separate child process answering GET /api/me;
 * `login` gets a live session cookie for the load generator.
 */
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { formatToken, newSecret, newTag } from '../../src/sessions/token.js';

export interface Stack {
  id: string;
  label: string;
  entry: string;
  /** Extra environment of the child, given the benchmark's Redis URL. */
  env: (redisUrl: string) => Record<string, string>;
  /** Whether the stack has a session (bare Koa has none). */
  session: boolean;
  /** Returns the Cookie header of a live session (admin: the benchmark's Redis). */
  login(url: string, admin: Redis): Promise<string>;
  /** Redis memory of one session (all of its keys); undefined = no Redis state. */
  memory?(admin: Redis, url: string): Promise<SessionMemory>;
}

export interface SessionMemory {
  bytes: number;
  keys: string[];
  note: string;
  /** The metadata the server stored for a typical login (for the bulk measurement). */
  typical?: { ip: string; userAgent: string };
}

/** MEMORY USAGE of the one session a peer holds (its only key under `pattern`). */
export const memoryByPattern =
  (pattern: string, note: string) =>
  async (admin: Redis): Promise<SessionMemory> => {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    if (keys.length !== 1) throw new Error(`expected one key for ${pattern}, found ${keys.length}`);
    const bytes = (await admin.memory('USAGE', keys[0]!, 'SAMPLES', 0)) ?? 0;
    return { bytes, keys: [pattern.replace('*', '<id>')], note };
  };

const app = (file: string) => fileURLToPath(new URL(`./apps/${file}`, import.meta.url));

/** `name=value; name2=value2` from a response's Set-Cookie headers. */
export const cookieHeader = (res: Response): string =>
  res.headers
    .getSetCookie()
    .map((c) => c.split(';', 1)[0]!)
    .join('; ');

async function postLogin(url: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(`${url}/login`, { method: 'POST', ...init });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`POST ${url}/login answered ${res.status}`);
  return res;
}

export const peerStacks: Stack[] = [
  {
    id: 'koa',
    label: 'bare Koa 3 (no session)',
    entry: app('bare-koa.ts'),
    env: () => ({}),
    session: false,
    login: async () => 'sid=none',
  },
  {
    id: 'koa-session',
    label: 'koa-session 7 + koa-redis 4 (rolling)',
    entry: app('koa-session.ts'),
    env: () => ({}),
    session: true,
    login: async (url) => cookieHeader(await postLogin(url)),
    memory: memoryByPattern('koa:sess:*', 'JSON string, no metadata, no index'),
  },
  {
    id: 'express-session',
    label: 'express-session + connect-redis 9 (rolling)',
    entry: app('express-session.ts'),
    env: () => ({}),
    session: true,
    login: async (url) => cookieHeader(await postLogin(url)),
    memory: memoryByPattern('express:sess:*', 'JSON string with the cookie options, no metadata, no index'),
  },
  {
    id: 'fastify-session',
    label: '@fastify/session + connect-redis 9 (rolling)',
    entry: app('fastify-session.ts'),
    env: () => ({}),
    session: true,
    login: async (url) => cookieHeader(await postLogin(url)),
    memory: memoryByPattern('fastify:sess:*', 'JSON string with the cookie options, no metadata, no index'),
  },
  {
    id: 'probe',
    label: 'limit probe: Koa + ioredis, one EVALSHA',
    entry: app('probe.ts'),
    // The same client settings as this server's (RESP2), so the floor is a fair one.
    env: () => ({ BENCH_RESP: '2' }),
    session: true,
    login: async (url) => {
      const cookie = `sid=${formatToken(newTag(), newSecret())}`;
      await postLogin(url, { headers: { cookie } });
      return cookie;
    },
  },
];

/** The probe with ioredis auto-pipelining: only for the A/B (`--stacks probe,probe-autopipe`). */
export const probeAutopipe: Stack = {
  ...peerStacks.find((s) => s.id === 'probe')!,
  id: 'probe-autopipe',
  label: 'limit probe with ioredis enableAutoPipelining',
  env: () => ({ BENCH_RESP: '2', BENCH_AUTOPIPELINE: '1' }),
};

/** The probe speaking ioredis 6's default RESP3: only for the A/B (`--stacks probe,probe-resp3`). */
export const probeResp3: Stack = {
  ...peerStacks.find((s) => s.id === 'probe')!,
  id: 'probe-resp3',
  label: 'limit probe over RESP3',
  env: () => ({ BENCH_RESP: '3' }),
};

/**
 * Bare Koa sending this server's security headers (src/http/middleware/security-headers.ts):
 * only for the A/B (`--stacks koa,koa-headers`), to show what the headers every response
 * carries (docs/security.md, "Response headers") cost on their own.
 */
export const koaHeaders: Stack = {
  ...peerStacks.find((s) => s.id === 'koa')!,
  id: 'koa-headers',
  label: 'bare Koa + the security headers',
  env: () => ({ BENCH_SECURITY_HEADERS: '1' }),
};

/**
 * The probe as this server answers: its security headers and its fail-fast Redis client
 * (command and socket timeouts, no offline queue). The floor the cache-off server is
 * held to (within 10 %): it still decides one clock and answers a smaller body.
 */
export const probeProduct: Stack = {
  ...peerStacks.find((s) => s.id === 'probe')!,
  id: 'probe-product',
  label: "limit probe with this server's headers and Redis client settings",
  env: () => ({ BENCH_CLIENT: 'product', BENCH_SECURITY_HEADERS: '1' }),
};

/** The probe on this server's Redis client settings: only for the A/B (`--stacks probe,probe-client`). */
export const probeClient: Stack = {
  ...peerStacks.find((s) => s.id === 'probe')!,
  id: 'probe-client',
  label: "limit probe on this server's Redis client settings",
  env: () => ({ BENCH_CLIENT: 'product' }),
};
