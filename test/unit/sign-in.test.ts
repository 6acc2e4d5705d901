/**
 * One sign-in, one set of guarantees, whoever proved the user (password, provider, the
 * embedding app): the browser's previous cookie is checked and ended with its user and
 * handle, the epoch guards the creation, and each step's event carries its log line,
 * audit entry and metric together (SessionService.event()).
 */
import test from 'ava';
import type { AuditEvent } from '../../src/audit/types.js';
import { ManualClock } from '../../src/clock.js';
import { createLogger } from '../../src/log.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { SessionService, type SignInMethod } from '../../src/sessions/service.js';
import { newTag } from '../../src/sessions/token.js';
import { MemoryStore } from '../../src/store/memory-store.js';

function service() {
  const store = new MemoryStore({ clock: new ManualClock(), sweepIntervalMs: 0 });
  const audit: AuditEvent[] = [];
  const metrics = createMetrics();
  const s = new SessionService({ store, log: createLogger({ level: 'silent' }), audit: { append: async (e) => void audit.push(e) }, metrics });
  const count = async (name: string, labels = '') =>
    Number(new RegExp(`^${name}${labels.replace(/[{}"]/g, '\\$&')} (\\d+)$`, 'm').exec(await metrics.registry.metrics())?.[1] ?? 0);
  return { s, store, audit, count };
}

for (const method of ['password', 'oidc:https://idp.example', 'app'] as SignInMethod[]) {
  test(`a ${method} sign-in ends the previous cookie with its user and handle, audits login.ok with user, handle and method, and counts it`, async (t) => {
    const { s, audit, count } = service();
    const user = { id: 'alice', username: 'alice', tag: newTag() };
    const first = await s.signIn({ user, method, remember: true, ip: '192.0.2.1' });
    if (!first) return t.fail();
    const second = await s.signIn({ user, method, remember: true, ip: '192.0.2.1', previousToken: first.token });
    if (!second) return t.fail();
    t.like(await s.validate(first.token), { state: 'login_required' }, 'the previous session ended');
    t.like(audit.find((e) => e.type === 'session.revoked'), { reason: 'login', userId: 'alice', handle: first.session.handle });
    const ok = audit.filter((e) => e.type === 'login.ok');
    t.is(ok.length, 2);
    t.like(ok[1], { userId: 'alice', handle: second.session.handle, ip: '192.0.2.1' });
    t.is(ok[1]!.reason, method === 'password' ? undefined : method);
    t.is(second.session.authMethod, method.startsWith('oidc:') ? method : undefined);
    t.is(await count('logins_total', '{result="ok"}'), 2);
    t.is(await count('sessions_created_total'), 2);
    t.is(await count('sessions_revoked_total'), 1);
  });
}

test('a sign-in that read the epoch before a revoke-all creates nothing, audits login.failed and counts it', async (t) => {
  const { s, store, audit, count } = service();
  const user = { id: 'bob', tag: newTag() };
  const epoch = await s.epoch(user.tag);
  await store.revokeAll(user.tag);
  t.is(await s.signIn({ user, method: 'password', remember: true, expectedEpoch: epoch }), null);
  t.like(audit.find((e) => e.type === 'login.failed'), { reason: 'revoked_meanwhile' });
  t.is(await count('logins_total', '{result="failed"}'), 1);
  t.is(await count('sessions_created_total'), 0);
});

test('what must exist before the cookie fails: the new session is revoked again and no session is left', async (t) => {
  const { s, audit } = service();
  const user = { id: 'carol', tag: newTag() };
  await t.throwsAsync(s.signIn({ user, method: 'oidc:https://idp.example', remember: true, beforeIssue: async () => { throw new Error('index write failed'); } }), { message: 'index write failed' });
  t.deepEqual(await s.list(user.tag), []);
  t.like(audit.find((e) => e.type === 'session.revoked'), { reason: 'sign_in_incomplete', count: 1 });
  t.false(audit.some((e) => e.type === 'login.ok'));
});
