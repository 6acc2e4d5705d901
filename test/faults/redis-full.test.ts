/**
 * A full Redis over HTTP and from the admin CLI (maxmemory reached, noeviction: every
 * write command is refused with OOM). Authenticated requests keep answering, every way
 * of ending sessions works and leaves them dead, and only what needs new memory (a
 * login, a refresh) is refused: 503 store_unavailable with Retry-After. The operator
 * sees it without the node leaving the load balancer (/readyz 200 with store_full, one
 * log line per episode, a refusal counter), and deleting the filler is enough to
 * recover, with no restart.
 */
import test, { type ExecutionContext } from 'ava';
import { RedisAuditLog } from '../../src/store/redis-audit.js';
import { keySpace } from '../../src/store/keys.js';
import { admin } from '../helpers/run-admin.js';
import { client, type Reply } from '../helpers/http.js';
import { PASSWORD, login as signIn } from '../helpers/login.js';
import { startServer } from '../helpers/server.js';
import { fill, free, startSmallRedis } from './fill.js';

const NEW_PASSWORD = 'a brand new passphrase, long enough';

let worlds = 0;
async function world(t: ExecutionContext) {
  const redis = await startSmallRedis();
  t.teardown(() => redis.stop());
  const keyPrefix = `f${process.pid}-${++worlds}:`;
  // The audit trail in the same Redis: its XADD is refused too, and must not matter.
  const audit = new RedisAuditLog(redis.client(), { keys: keySpace(keyPrefix) });
  const srv = await startServer({ redis, keyPrefix, audit, env: { SESSION_TOUCH_INTERVAL: '0' } });
  t.teardown(() => srv.close());
  const req = client(srv.url);
  const login = (username: string, password = PASSWORD) => signIn(req, username, password);
  const me = async (token: string) => (await req('GET', '/api/me', { cookie: token })).status;
  const metric = async (line: RegExp) => {
    const m = (await req('GET', '/metrics')).text;
    const hit = line.exec(m);
    return hit ? Number(hit[1]) : 0;
  };
  return { redis, admin: redis.client(), srv, req, login, me, metric, env: { REDIS_URL: redis.url, SESSION_KEY_PREFIX: keyPrefix } };
}

const refusedAsFull = (t: ExecutionContext, r: Reply, what: string) => {
  t.is(r.status, 503, what);
  t.is(r.body?.['error'], 'store_unavailable', what);
  t.regex(r.headers.get('retry-after') ?? '', /^[1-9]\d*$/, `${what}: Retry-After`);
  t.deepEqual(r.setCookies, [], `${what}: no cookie`);
};

test('Redis full over HTTP: reads, slides and every revocation work; logins and refreshes are 503 with Retry-After; /readyz stays 200 with store_full; freeing memory recovers', async (t) => {
  const w = await world(t);
  await w.srv.addUser('alice', PASSWORD);
  await w.srv.addUser('bob', PASSWORD);
  const a = await w.login('alice');
  const b = await w.login('alice');
  const c = await w.login('alice');
  const bob1 = await w.login('bob');
  const bob2 = await w.login('bob');
  t.like((await w.req('GET', '/readyz')).body, { status: 'ok', store_full: false });
  await fill(w.admin);

  // SESSION_TOUCH_INTERVAL=0: every one of these is due a slide.
  for (let i = 0; i < 3; i++) t.is(await w.me(a.token), 200, 'GET /api/me');
  t.is((await w.req('GET', '/auth/sessions', { cookie: a.token })).status, 200);

  const logout = await w.req('POST', '/auth/logout', { cookie: b.token });
  t.is(logout.status, 204, 'logout');
  t.is(logout.cookie(), '', 'the cookie is cleared');
  t.is(await w.me(b.token), 401, 'the logged-out session is dead');

  t.is((await w.req('DELETE', `/auth/sessions/${c.handle}`, { cookie: a.token })).status, 204, 'DELETE /auth/sessions/:handle');
  t.is(await w.me(c.token), 401);

  t.is((await w.req('POST', '/auth/logout-all', { cookie: bob1.token })).status, 204, 'logout-all');
  t.is(await w.me(bob1.token), 401);
  t.is(await w.me(bob2.token), 401);

  refusedAsFull(t, await w.req('POST', '/auth/login', { json: { username: 'alice', password: PASSWORD } }), 'login');
  refusedAsFull(t, await w.req('POST', '/auth/login', { json: { username: 'bob', password: PASSWORD } }), 'second login');
  // The throttle counts the failure all the same (redis-full-password.test.ts): a 401.
  const failed = await w.req('POST', '/auth/login', { json: { username: 'alice', password: 'a wrong password' } });
  t.is(failed.status, 401, 'failed login');
  refusedAsFull(t, await w.req('POST', '/auth/refresh', { cookie: a.token }), 'refresh');
  t.is(await w.me(a.token), 200, 'the refused refresh left the session as it was');

  const ready = await w.req('GET', '/readyz');
  t.is(ready.status, 200, 'reads and revocations work: the node stays in the load balancer');
  t.is(ready.body?.['store_full'], true);
  t.is(await w.metric(/^sessions_store_refusals_total\{cause="oom"\} (\d+)$/m), 3);
  t.is(await w.metric(/^sessions_store_refusals_total\{cause="unavailable"\} (\d+)$/m), 0);
  t.true((await w.metric(/^audit_append_failures_total\{cause="oom"\} (\d+)$/m)) >= 3, 'the lost audit events are counted');
  t.true(w.srv.logs.events('audit.failed').length >= 3, 'and logged');
  t.is(w.srv.logs.events('store.full').length, 1, 'one log line for the episode, not one per refusal');
  t.is(w.srv.logs.events('store.unavailable').length, 0, 'no per-request warning while full');

  // Last, because it ends every other session of alice.
  const changed = await w.req('POST', '/auth/password', { cookie: a.token, json: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD } });
  t.is(changed.status, 204, `password change: ${changed.text}`);
  const rotated = changed.cookie()!;
  t.truthy(rotated);
  t.is(await w.me(a.token), 401, 'the old ID is dead at once');
  t.is(await w.me(rotated), 200);

  await free(w.admin);
  const after = await w.req('GET', '/readyz');
  t.is(after.status, 200);
  t.is(after.body?.['store_full'], false, 'store_full clears without any login');
  t.is(w.srv.logs.events('store.full_cleared').length, 1);
  const back = await w.req('POST', '/auth/login', { json: { username: 'alice', password: NEW_PASSWORD } });
  t.is(back.status, 200, 'logins work again, same process');
  t.is(await w.me(back.cookie()!), 200);
  t.is((await w.req('POST', '/auth/refresh', { cookie: rotated })).status, 200);
});

test('Redis full from the admin CLI: sessions kill <handle> and kill --user exit 0 and the sessions are dead; the lost audit event is a warning', async (t) => {
  const w = await world(t);
  await w.srv.addUser('alice', PASSWORD);
  await w.srv.addUser('bob', PASSWORD);
  const a1 = await w.login('alice');
  const a2 = await w.login('alice');
  const b1 = await w.login('bob');
  const b2 = await w.login('bob');
  await fill(w.admin);

  const one = await admin(['sessions', 'kill', a1.handle], w.env);
  t.is(one.code, 0, one.stderr);
  t.regex(one.stderr, /audit event was not recorded/);
  t.is(await w.me(a1.token), 401);
  t.is(await w.me(a2.token), 200, 'only that session');

  const all = await admin(['sessions', 'kill', '--user', 'bob'], w.env);
  t.is(all.code, 0, all.stderr);
  t.is(all.stdout, "revoked 2 session(s) of 'bob'\n");
  t.is(await w.me(b1.token), 401);
  t.is(await w.me(b2.token), 401);
});
