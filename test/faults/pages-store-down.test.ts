/**
 * A store failure on a page is a 503 page — never "signed out", never "wrong
 * password" — and the pages work again by themselves once Redis is back (docs/design.md, invariant 4).
 */
import test from 'ava';
import { startRedis } from '../helpers/redis-server.js';
import { startServer } from '../helpers/server.js';
import { eventually } from '../helpers/eventually.js';
import { PASSWORD, formLogin } from '../helpers/login.js';
import { PageClient, csrfOf } from '../helpers/pages-client.js';


test('with Redis down, pages answer a 503 page (JSON for JSON clients), and recover when it returns', async (t) => {
  // AOF with fsync on every write, so the session survives the SIGKILL and the restart.
  const redis = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  const srv = await startServer({ redis, env: { REDIS_COMMAND_TIMEOUT: '300ms' } });
  t.teardown(async () => {
    await srv.close();
    await redis.stop();
  });
  await srv.addUser('alice', PASSWORD);
  const c = new PageClient(srv.url);
  t.is((await formLogin(c, 'alice', PASSWORD)).status, 303);
  const home = await c.get('/');
  t.is(home.status, 200);
  const cookie = c.cookies.get('sid');
  const anon = new PageClient(srv.url);
  const loginPage = await anon.get('/login');

  await redis.kill('SIGKILL');

  for (const path of ['/', '/account/sessions']) {
    const res = await c.get(path);
    t.is(res.status, 503, path);
    t.regex(res.headers.get('content-type') ?? '', /^text\/html/);
    t.truthy(res.headers.get('retry-after'));
    t.regex(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    t.is(res.headers.get('cache-control'), 'no-store');
    t.true(res.body.includes('Temporarily unavailable'));
    t.false(res.setCookies.some((s) => s.startsWith('sid=')), `${path}: the cookie is kept`);
  }
  t.is(c.cookies.get('sid'), cookie);

  const json = await c.get('/', { accept: 'application/json' });
  t.is(json.status, 503);
  t.is(JSON.parse(json.body).error, 'store_unavailable');

  // Signing in while the store is down is a 503, not "wrong password", and no session.
  const login = await anon.post('/login', { _csrf: csrfOf(loginPage.body), username: 'alice', password: PASSWORD });
  t.is(login.status, 503);
  t.false(login.setCookies.some((s) => s.startsWith('sid=')));

  // Signing out while the store is down is not confirmed: 503, the cookie stays.
  const logout = await c.post('/logout', { _csrf: csrfOf(home.body) });
  t.is(logout.status, 503);
  t.is(c.cookies.get('sid'), cookie);

  await redis.restart();
  let back = 0;
  await eventually(
    async () => {
      back = (await c.get('/')).status;
      return back === 200;
    },
    { everyMs: 100, what: 'the home page 200' },
  ).catch(() => false);
  t.is(back, 200, 'the same session works again without restarting the app');
});
