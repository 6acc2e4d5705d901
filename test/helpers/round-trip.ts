/**
 * One session's whole life through a real server process: login, GET /api/me, logout,
 * and the cookie refused after it; and none of the given secrets in the process output.
 */
import type { ExecutionContext } from 'ava';
import { startApp } from './app-process.js';
import { client } from './http.js';
import { PASSWORD } from './login.js';

export async function sessionRoundTrip(
  t: ExecutionContext,
  env: Record<string, string>,
  opts: { username?: string; password?: string; secrets?: readonly string[]; during?: (url: string) => Promise<void> } = {},
): Promise<void> {
  const username = opts.username ?? 'alice';
  const app = await startApp({ env });
  try {
    const req = client(app.url);
    const login = await req('POST', '/auth/login', { json: { username, password: opts.password ?? PASSWORD } });
    t.is(login.status, 200, login.text);
    const cookie = login.cookie()!;
    const me = await req('GET', '/api/me', { cookie });
    t.is(me.status, 200, me.text);
    t.like(me.body, { user: { username } });
    await opts.during?.(app.url);
    t.is((await req('POST', '/auth/logout', { cookie })).status, 204);
    t.is((await req('GET', '/api/me', { cookie })).status, 401);
    for (const secret of opts.secrets ?? []) t.false(app.output().includes(secret), 'a secret is never logged');
  } finally {
    await app.stop('SIGKILL');
  }
}
