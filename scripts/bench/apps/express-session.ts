/**
 * express 5 + express-session + connect-redis 9 (node-redis client), rolling with
 * resave off: each authenticated request costs a GET and an EXPIRE (store.touch).
 */
import { RedisStore } from 'connect-redis';
import express from 'express';
import session from 'express-session';
import { createClient } from 'redis';
import { appEnv, BENCH_USER, COOKIE_SECRET, IDLE_MS, meBody } from './common.js';

declare module 'express-session' {
  interface SessionData {
    user: { id: string; username: string };
    createdAt: number;
  }
}

const { port, redisUrl } = appEnv();
const client = createClient({ url: redisUrl });
client.on('error', () => {});
await client.connect();

const app = express();
app.disable('x-powered-by');
app.use(
  session({
    store: new RedisStore({ client, prefix: 'express:sess:' }),
    secret: COOKIE_SECRET,
    resave: false,
    saveUninitialized: false,
    rolling: true,
    cookie: { maxAge: IDLE_MS, httpOnly: true, sameSite: 'lax' },
  }),
);
app.get('/healthz', (_req, res) => {
  res.send('ok');
});
app.post('/login', (req, res) => {
  req.session.user = BENCH_USER;
  req.session.createdAt = Date.now();
  res.json({ ok: true });
});
app.get('/api/me', (req, res) => {
  const s = req.session;
  if (!s.user) {
    res.status(401).json({ error: 'login_required' });
    return;
  }
  res.json(meBody(s.user, s.createdAt ?? 0, Date.now()));
});
app.listen(port, '127.0.0.1');
