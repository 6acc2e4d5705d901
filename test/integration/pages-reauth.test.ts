/**
 * The pages' "Confirm your password" step (the third clock) at the HTTP level: the form
 * is CSRF-protected, its returnTo is validated as for sign-in, and an action it carries
 * is one of a fixed set, checked again when posted.
 */
import test from 'ava';
import { ManualClock } from '../../src/clock.js';
import { formLogin } from '../helpers/login.js';
import { HOSTILE_RETURN_TO } from '../helpers/return-to-cases.js';
import { startServer } from '../helpers/server.js';
import { PageClient, csrfOf } from '../helpers/pages-client.js';

const PASSWORD = 'correct horse battery staple';
const MIN = 60_000;

async function setup(t: import('ava').ExecutionContext) {
  const clock = new ManualClock(Date.now());
  const srv = await startServer({ clock, env: { SESSION_IDLE_TIMEOUT: '1h', SESSION_ABSOLUTE_LIFETIME: '1d' } });
  t.teardown(() => srv.close());
  await srv.addUser('alice', PASSWORD);
  const me = new PageClient(srv.url);
  t.is((await formLogin(me, 'alice', PASSWORD)).status, 303);
  const other = new PageClient(srv.url);
  t.is((await formLogin(other, 'alice', PASSWORD)).status, 303);
  return { clock, me, other };
}

test('an old password sends a device sign-out through the confirmation, which completes it', async (t) => {
  const { clock, me, other } = await setup(t);
  clock.advance(11 * MIN);
  const devices = await me.get('/account/sessions');
  const otherHandle = [...devices.body.matchAll(/data-handle="([^"]+)"/g)].map((m) => m[1]!).find((h) => !devices.body.includes(`aria-current="true" data-handle="${h}"`));
  t.truthy(otherHandle);
  const post = await me.post(`/account/sessions/${otherHandle}/revoke`, { _csrf: csrfOf(devices.body) });
  t.is(post.status, 303);
  t.is(post.location, `/account/confirm?action=${encodeURIComponent(`revoke:${otherHandle}`)}`);
  t.is((await other.get('/')).status, 200, 'nothing changed yet');
  const page = await me.get(post.location!);
  t.is(page.status, 200);
  t.regex(page.body, /Confirm your password/);
  t.regex(page.body, new RegExp(`name="action" value="revoke:${otherHandle}"`));
  const noToken = await me.post('/account/confirm', { action: `revoke:${otherHandle}`, password: PASSWORD });
  t.is(noToken.status, 403, 'the confirmation form is CSRF-protected');
  const wrong = await me.post('/account/confirm', { _csrf: csrfOf(page.body), action: `revoke:${otherHandle}`, password: 'not the password at all' });
  t.is(wrong.status, 401);
  t.regex(wrong.body, /Wrong password/);
  const ok = await me.post('/account/confirm', { _csrf: csrfOf(wrong.body), action: `revoke:${otherHandle}`, password: PASSWORD });
  t.is(ok.status, 303);
  t.is(ok.location, '/account/sessions?done=revoked');
  t.is((await other.get('/')).status, 303, 'the other device is signed out');
});

test('the confirmation\'s returnTo is validated as for sign-in, and an unknown action is ignored', async (t) => {
  const { clock, me } = await setup(t);
  clock.advance(11 * MIN);
  for (const hostile of HOSTILE_RETURN_TO.slice(0, 5)) {
    const page = await me.get(`/account/confirm?returnTo=${encodeURIComponent(hostile)}&action=drop-database`);
    t.false(page.body.includes('name="action"'), 'no action outside the fixed set');
    const ok = await me.post('/account/confirm', { _csrf: csrfOf(page.body), returnTo: hostile, action: 'drop-database', password: PASSWORD });
    t.is(ok.status, 303);
    t.is(ok.location, '/account/sessions', `returnTo ${JSON.stringify(hostile)} falls back`);
  }
  const page = await me.get('/account/confirm?returnTo=%2F');
  t.is((await me.post('/account/confirm', { _csrf: csrfOf(page.body), returnTo: '/', password: PASSWORD })).location, '/');
});
