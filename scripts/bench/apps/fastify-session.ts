/**
 * fastify 5 + @fastify/cookie + @fastify/session + connect-redis 9, rolling: each
 * authenticated request costs a GET and a SET (the session is saved again to slide it).
 */
import cookie from '@fastify/cookie';
import session from '@fastify/session';
import { RedisStore } from 'connect-redis';
import Fastify from 'fastify';
import { createClient } from 'redis';
import { appEnv, BENCH_USER, COOKIE_SECRET, IDLE_MS, meBody } from './common.js';

declare module 'fastify' {
  interface Session {
    user?: { id: string; username: string };
    createdAt?: number;
  }
}

const { port, redisUrl } = appEnv();
const client = createClient({ url: redisUrl });
client.on('error', () => {});
await client.connect();

const app = Fastify({ logger: false });
await app.register(cookie);
await app.register(session, {
  secret: COOKIE_SECRET,
  store: new RedisStore({ client, prefix: 'fastify:sess:' }),
  saveUninitialized: false,
  rolling: true,
  cookie: { maxAge: IDLE_MS, httpOnly: true, sameSite: 'lax', secure: false },
});
app.get('/healthz', async () => 'ok');
app.post('/login', async (req) => {
  req.session.user = BENCH_USER;
  req.session.createdAt = Date.now();
  return { ok: true };
});
app.get('/api/me', async (req, reply) => {
  const s = req.session;
  if (!s.user) {
    reply.code(401);
    return { error: 'login_required' };
  }
  return meBody(s.user, s.createdAt ?? 0, Date.now());
});
await app.listen({ port, host: '127.0.0.1' });
