/**
 * An app that keeps its own users (here a table in memory with scrypt hashes; in real
 * life, the app's database) and leaves sessions to sliding-sessions: the app checks the
 * password, then `signIn(ctx, user.id)`; everything after that — the cookie, the idle
 * and absolute clocks, refresh with rotation, logout, logout everywhere, the list of
 * devices — is the package's. Run: `REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/own-users/server.ts`.
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import Koa from 'koa';
import Router from 'koa-router';
import { AppError, type SlidingSessionsOptions, slidingSessions } from 'sliding-sessions';

interface Account {
  id: string;
  email: string;
  salt: Buffer;
  hash: Buffer;
}

/** The app's own user table. */
export class Accounts {
  readonly #byEmail = new Map<string, Account>();

  add(email: string, password: string): Account {
    const salt = randomBytes(16);
    const account = { id: `u${this.#byEmail.size + 1}`, email, salt, hash: scryptSync(password, salt, 32) };
    this.#byEmail.set(email, account);
    return account;
  }

  verify(email: unknown, password: unknown): Account | null {
    if (typeof email !== 'string' || typeof password !== 'string') return null;
    const a = this.#byEmail.get(email);
    return a && timingSafeEqual(a.hash, scryptSync(password, a.salt, 32)) ? a : null;
  }
}

async function readJson(ctx: Koa.Context): Promise<Record<string, unknown>> {
  let raw = '';
  for await (const chunk of ctx.req) raw += chunk;
  return raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
}

export function createExampleApp(accounts: Accounts, options: SlidingSessionsOptions) {
  const app = new Koa();
  const sessions = slidingSessions<{ theme: string }>(app, options);
  app.use(sessions.errors());
  app.use(sessions.routes());
  const router = new Router();
  router.post('/login', async (ctx) => {
    const body = await readJson(ctx);
    const account = accounts.verify(body.email, body.password);
    if (!account) throw new AppError(401, 'invalid_credentials', 'Wrong email or password.');
    const session = await sessions.signIn(ctx, account.id, { remember: body.remember !== false });
    ctx.body = { user: account.id, session: session.handle };
  });
  router.get('/me', sessions.require(), (ctx) => {
    const { session } = sessions.current(ctx);
    ctx.body = { user: session.userId, idleExpiresAt: new Date(session.idleExpiresAt).toISOString() };
  });
  router.post('/theme', sessions.data(), sessions.require(), async (ctx) => {
    const data = sessions.session(ctx)!;
    data.theme = String((await readJson(ctx)).theme);
    ctx.body = { theme: data.theme };
  });
  router.get('/theme', sessions.data(), sessions.require(), (ctx) => {
    ctx.body = { theme: sessions.session(ctx)?.theme ?? null };
  });
  // The app changed a password in its own table: every session of that user ends.
  router.post('/password-reset/:user', async (ctx) => {
    ctx.body = { ended: await sessions.signOutEverywhere(ctx.params.user ?? '') };
  });
  app.use(router.routes());
  return { app, sessions };
}
