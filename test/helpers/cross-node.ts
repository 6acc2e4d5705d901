/** A login form rendered by one node and posted, with its pre-session cookie, to another. */
import { PageClient, csrfOf } from './pages-client.js';

export async function crossPost(fromUrl: string, toUrl: string, username: string, password: string) {
  const first = new PageClient(fromUrl);
  const page = await first.get('/login');
  const token = csrfOf(page.body);
  const second = new PageClient(toUrl);
  for (const [k, v] of first.cookies) second.cookies.set(k, v);
  return second.post('/login', { _csrf: token, username, password, remember: 'on' });
}
