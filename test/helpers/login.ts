/**
 * Signing in for tests that need a session, not tests of the sign-in itself (those send
 * the request and assert on the reply): the JSON API login and the form login of the pages.
 */
import type { Request } from './http.js';
import { PageClient, type PageResponse, csrfOf } from './pages-client.js';

export const PASSWORD = 'correct horse battery staple';

export interface LoggedIn {
  /** The session cookie's value. */
  token: string;
  handle: string;
}

/** POST /auth/login with JSON; throws unless it answered 200 with a cookie and a handle. */
export async function login(req: Request, username: string, password = PASSWORD): Promise<LoggedIn> {
  const r = await req('POST', '/auth/login', { json: { username, password } });
  if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${r.text}`);
  const token = r.cookie();
  if (!token) throw new Error('login gave no cookie');
  const handle = (r.body?.session as { handle?: string } | undefined)?.handle;
  if (!handle) throw new Error('login gave no handle');
  return { token, handle };
}

/**
 * The sign-in form as a browser fills it: GET /login for the pre-session cookie and its
 * CSRF token, then the same-origin POST. Returns the POST's answer (a 303 when it worked).
 */
export async function formLogin(
  c: PageClient,
  username: string,
  password = PASSWORD,
  extra: Record<string, string> = {},
): Promise<PageResponse> {
  const page = await c.get('/login');
  return c.post('/login', { _csrf: csrfOf(page.body), username, password, remember: 'on', ...extra });
}

/** The sign-in form rendered by one node and posted, with its pre-session cookie, to another. */
export async function formLoginAcross(fromUrl: string, toUrl: string, username: string, password = PASSWORD): Promise<PageResponse> {
  const first = new PageClient(fromUrl);
  const page = await first.get('/login');
  const token = csrfOf(page.body);
  const second = new PageClient(toUrl);
  for (const [k, v] of first.cookies) second.cookies.set(k, v);
  return second.post('/login', { _csrf: token, username, password, remember: 'on' });
}
