/**
 * Device-bound sessions over HTTP (DBSC; docs/security.md "Device binding", invariant 11),
 * registered for every store (test/integration/dbsc-protocol.test.ts: embedded and Redis;
 * test/scale/cluster-http.test.ts: Redis Cluster): the offer, the registration, the proof
 * clock that does not slide, the signed refresh that rotates the ID, and every refusal —
 * each of which changes nothing. A ManualClock moves time; the device is a real key pair
 * (test/helpers/dbsc-device.ts).
 */
import test, { type ExecutionContext } from 'ava';
import { ManualClock } from '../../src/clock.js';
import { parseToken } from '../../src/sessions/token.js';
import { keySpace } from '../../src/store/keys.js';
import { Device, challengeOf, hmacJwt, quoted, unsignedJwt } from '../helpers/dbsc-device.js';
import { client, type Reply, type Request } from '../helpers/http.js';
import { PASSWORD } from '../helpers/login.js';
import type { RedisProcess } from '../helpers/redis-server.js';
import { type RedisTarget, startServer, type TestServer } from '../helpers/server.js';

export type Target = () => RedisProcess | RedisTarget | undefined;

export const MIN = 60_000;
export const LIFETIME = 5 * MIN;
export const COOKIE = '__Host-sid';

export interface Rig {
  srv: TestServer;
  clock: ManualClock;
  req: Request;
  origin: string;
  n: number;
}

export async function rig(t: ExecutionContext, target: Target, env: Record<string, string> = {}): Promise<Rig> {
  const clock = new ManualClock(Date.now());
  const srv = await startServer({
    ...(target() ? { redis: target()! } : {}),
    clock,
    env: { COOKIE_SECURE: 'on', SESSION_BOUND_COOKIE_LIFETIME: '5m', SESSION_IDLE_TIMEOUT: '15m', ...env },
  });
  t.teardown(() => srv.close());
  return { srv, clock, req: client(srv.url, COOKIE), origin: `https://${new URL(srv.url).host}`, n: 0 };
}

/** Signs a new user in with JSON; the answer carries the registration offer. */
export async function signIn(r: Rig): Promise<{ token: string; handle: string; offer: string | null }> {
  const name = `user${r.n++}`;
  await r.srv.addUser(name, PASSWORD);
  const res = await r.req('POST', '/auth/login', { json: { username: name, password: PASSWORD }, headers: { origin: r.origin } });
  if (res.status !== 200) throw new Error(`login: ${res.status} ${res.text}`);
  return { token: res.cookie()!, handle: (res.body!.session as { handle: string }).handle, offer: res.headers.get('secure-session-registration') };
}

export const register = (r: Rig, token: string, jwt: string): Promise<Reply> =>
  r.req('POST', '/auth/dbsc/register', { cookie: token, headers: { 'secure-session-response': quoted(jwt) } });

export const refresh = (r: Rig, token: string, handle: string, jwt?: string): Promise<Reply> =>
  r.req('POST', '/auth/dbsc/refresh', {
    cookie: token,
    headers: { 'sec-secure-session-id': quoted(handle), ...(jwt ? { 'secure-session-response': quoted(jwt) } : {}) },
  });

/** A signed-in session bound to a new device key. */
export async function bound(r: Rig): Promise<{ token: string; handle: string; device: Device }> {
  const s = await signIn(r);
  const device = new Device();
  const res = await register(r, s.token, device.registration(challengeOf(s.offer)!));
  if (res.status !== 200) throw new Error(`register: ${res.status} ${res.text}`);
  return { token: s.token, handle: s.handle, device };
}

/** The signed refresh a browser makes: 403 challenge, then the proof. */
export async function proveKey(r: Rig, token: string, handle: string, device: Device): Promise<Reply> {
  const asked = await refresh(r, token, handle);
  if (asked.status !== 403) throw new Error(`refresh without proof: ${asked.status}`);
  return refresh(r, token, handle, device.refresh(challengeOf(asked.headers.get('secure-session-challenge'))!));
}

export const me = (r: Rig, token: string) => r.req('GET', '/api/me', { cookie: token });
export const boundFlag = async (r: Rig, token: string) =>
  ((await r.req('GET', '/auth/sessions', { cookie: token })).body!.sessions as { current: boolean; bound: boolean }[]).find((s) => s.current)?.bound;


/** The protocol tests, titled `<kind>: …`, against the store `target` gives (undefined: embedded). */
export function registerDbscSuite(kind: string, target: Target): void {
  test(`${kind}: a sign-in offers binding (ES256 and RS256, a challenge); registration binds, sets the bound cookie and answers the session config`, async (t) => {
    const r = await rig(t, target);
    const s = await signIn(r);
    t.regex(s.offer ?? '', /^\(ES256 RS256\);path="\/auth\/dbsc\/register";challenge="[^"]+"$/);
    t.is((await me(r, s.token)).headers.get('secure-session-registration'), null, 'not again in the seconds after the sign-in\'s own offer');
    r.clock.advance(10_000);
    t.truthy((await me(r, s.token)).headers.get('secure-session-registration'), 'then an unbound session is offered binding on its responses');
    t.false(await boundFlag(r, s.token));

    const device = new Device();
    const res = await register(r, s.token, device.registration(challengeOf(s.offer)!));
    t.is(res.status, 200, res.text);
    t.deepEqual(res.body, {
      session_identifier: s.handle,
      refresh_url: '/auth/dbsc/refresh',
      scope: { origin: r.origin, include_site: false, scope_specification: [] },
      credentials: [{ type: 'cookie', name: '__Host-sid-bound', attributes: 'Path=/; Secure; HttpOnly; SameSite=Lax' }],
    });
    t.true(res.setCookies.includes('__Host-sid-bound=1; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=300'));
    t.true(await boundFlag(r, s.token));
    if (r.srv.redisClient) {
      // An ES256 key is kept compressed: every field stays ≤ 64 bytes, so the record stays a compact listpack.
      const p = parseToken(s.token)!;
      const key = keySpace(r.srv.keyPrefix).session(p.tag, p.idHash);
      t.is(await r.srv.redisClient.object('ENCODING', key), 'listpack');
      t.true(Number(await r.srv.redisClient.memory('USAGE', key)) < 400);
    }
    t.is((await me(r, s.token)).headers.get('secure-session-registration'), null, 'a bound session is not offered binding again');
    t.is(r.srv.logs.events('session.bound').length, 1);
    t.is((await register(r, s.token, new Device().registration(challengeOf(s.offer)!))).body?.error, 'already_bound', 'a second key never replaces the first');
  });

  test(`${kind}: a bound session is refused on every route once its proof is older than the bound lifetime, whatever its activity`, async (t) => {
    const r = await rig(t, target);
    const { token, handle } = await bound(r);
    // Busy all along: one request a minute keeps the idle clock fresh, not the proof clock.
    for (let m = 1; m < 5; m++) {
      r.clock.advance(MIN);
      t.is((await me(r, token)).status, 200, `minute ${m}`);
    }
    r.clock.advance(MIN);
    for (const [method, path] of [['GET', '/api/me'], ['GET', '/auth/sessions'], ['POST', '/auth/refresh'], ['POST', '/auth/logout-all']] as const) {
      const res = await r.req(method, path, { cookie: token, headers: { origin: r.origin } });
      t.is(res.status, 401, `${method} ${path}`);
      t.is(res.body?.error, 'device_proof_required', `${method} ${path}`);
      t.false(res.setCookies.some((c) => c.startsWith(`${COOKIE}=`)), 'the cookie stays: the device may still renew it');
    }
    const page = await r.req('GET', '/account/sessions', { cookie: token });
    t.is(page.status, 303, 'a page sends it to the sign-in form');
    t.regex(page.headers.get('location') ?? '', /^\/login\?.*notice=unproven/);
    t.false(page.setCookies.some((c) => c.startsWith(`${COOKIE}=`)), 'keeping the cookie');
    // Logout with a copy past its proof ends nothing (a thief cannot sign the owner out either).
    t.is((await r.req('POST', '/auth/logout', { cookie: token, headers: { origin: r.origin } })).status, 204);
    t.is((await refresh(r, token, handle)).status, 403, 'the session is still there, waiting for its device');
    t.true(Number((await r.srv.metrics.registry.getSingleMetricAsString('session_device_binding_total')).match(/event="refused",reason="unproven"} (\d+)/)?.[1]) >= 4);
  });

  test(`${kind}: a signed refresh rotates the ID, renews the proof clock and the bound cookie; the old ID is then a replay`, async (t) => {
    const r = await rig(t, target, { SESSION_ROTATION_GRACE: '10s' });
    const { token, handle, device } = await bound(r);
    r.clock.advance(LIFETIME + MIN);
    const res = await proveKey(r, token, handle, device);
    t.is(res.status, 200, res.text);
    t.is((res.body as { session_identifier: string }).session_identifier, handle);
    const next = res.cookie(COOKIE)!;
    t.truthy(next);
    t.not(next, token, 'the ID rotated');
    t.true(res.setCookies.some((c) => c.startsWith('__Host-sid-bound=1;') && c.endsWith('Max-Age=300')));
    t.is((await me(r, next)).status, 200);
    const raced = await r.req('POST', '/auth/refresh', { cookie: token, headers: { origin: r.origin } });
    t.is(raced.status, 403, 'inside the grace, the old cookie cannot obtain the proven successor');
    t.false(raced.setCookies.some((c) => c.startsWith(`${COOKIE}=`) && !c.startsWith(`${COOKIE}=;`)));
    r.clock.advance(LIFETIME - 1000);
    t.is((await me(r, next)).status, 200, 'a full bound lifetime from the proof');
    t.is(r.srv.logs.events('session.proved').length, 1);
    // The copy of the old cookie, after the grace: a replay revokes the whole session.
    t.is((await me(r, token)).body?.error, 'login_required');
    t.is((await me(r, next)).status, 401);
    t.is(r.srv.logs.events('session.reuse_detected').length, 1);
  });

  test(`${kind}: ten signed refreshes racing with one challenge: exactly one rotates, the others are asked again`, async (t) => {
    const r = await rig(t, target);
    const { token, handle, device } = await bound(r);
    r.clock.advance(LIFETIME);
    const asked = await refresh(r, token, handle);
    const proof = device.refresh(challengeOf(asked.headers.get('secure-session-challenge'))!);
    const answers = await Promise.all(Array.from({ length: 10 }, () => refresh(r, token, handle, proof)));
    const statuses = answers.map((a) => a.status).sort();
    t.deepEqual(statuses, [200, 403, 403, 403, 403, 403, 403, 403, 403, 403]);
    const next = answers.find((a) => a.status === 200)!.cookie(COOKIE)!;
    t.is((await me(r, next)).status, 200);
    t.is(r.srv.logs.events('session.proved').length, 1, 'one rotation, one proof');
    const metric = await r.srv.metrics.registry.getSingleMetricAsString('session_device_binding_total');
    t.regex(metric, /event="registered"[^}]*} 1\b/);
    t.regex(metric, /event="proved"[^}]*} 1\b/);
  });

  test(`${kind}: POST /auth/refresh rotates a bound session but never renews its proof`, async (t) => {
    const r = await rig(t, target);
    const { token } = await bound(r);
    r.clock.advance(3 * MIN);
    const rotated = await r.req('POST', '/auth/refresh', { cookie: token, headers: { origin: r.origin } });
    t.is(rotated.status, 200);
    const next = rotated.cookie(COOKIE)!;
    t.true(await boundFlag(r, next), 'still bound after a plain rotation');
    r.clock.advance(2 * MIN);
    t.is((await me(r, next)).body?.error, 'device_proof_required', 'the proof clock counted on from the registration');
  });

  test(`${kind}: refused proofs change nothing: bad signature, another key, alg none, HS256, spent and expired challenges, no jti`, async (t) => {
    const r = await rig(t, target);
    const { token, handle, device } = await bound(r);
    r.clock.advance(LIFETIME);
    const challenge = async () => challengeOf((await refresh(r, token, handle)).headers.get('secure-session-challenge'))!;
    const thief = new Device();
    const c = await challenge();
    const good = device.refresh(c);
    const cases: [string, string, number][] = [
      ['a signature that does not verify', `${good.slice(0, -4)}AAAA`, 401],
      ['a proof by another key (carrying it)', thief.jwt({ alg: 'ES256', typ: 'dbsc+jwt', jwk: thief.jwk }, { jti: c }), 401],
      ['a proof by another key', thief.refresh(c), 401],
      ['alg none', unsignedJwt(device.jwk, c), 401],
      ['HS256 over the public key', hmacJwt(device.jwk, c), 401],
      ['no jti', device.jwt({ alg: 'ES256', typ: 'dbsc+jwt' }, {}), 401],
      ['a challenge of another session', device.refresh('x'.repeat(40)), 403],
    ];
    for (const [what, jwt, status] of cases) {
      const res = await refresh(r, token, handle, jwt);
      t.is(res.status, status, what);
      t.false(res.setCookies.some((x) => x.startsWith(`${COOKIE}=`)), `${what}: no new cookie`);
      t.is((await me(r, token)).body?.error, 'device_proof_required', `${what}: still unproven`);
    }
    const reasons = r.srv.logs.events('session.proof_refused').map((e) => e.reason);
    t.true(reasons.includes('wrong_key') && reasons.includes('signature') && reasons.includes('alg') && reasons.includes('no_jti'), String(reasons));

    const expired = await challenge();
    r.clock.advance(61_000);
    const late = await refresh(r, token, handle, device.refresh(expired));
    t.is(late.status, 403, 'an expired challenge is answered with a fresh one');
    t.truthy(challengeOf(late.headers.get('secure-session-challenge')));

    const used = await challenge();
    const ok = await refresh(r, token, handle, device.refresh(used));
    t.is(ok.status, 200, ok.text);
    const replayed = await refresh(r, ok.cookie(COOKIE)!, handle, device.refresh(used));
    t.is(replayed.status, 403, 'a challenge answers once: the proof it was issued for has moved on');
    t.is((await me(r, ok.cookie(COOKIE)!)).status, 200, 'and the session it was replayed against is unharmed');
  });

  test(`${kind}: registration refuses what is not a proof for this session, and binds nothing`, async (t) => {
    const r = await rig(t, target);
    const s = await signIn(r);
    const other = await signIn(r);
    const device = new Device();
    const c = challengeOf(s.offer)!;
    const hugeKey = { kty: 'RSA', n: Buffer.alloc(1100, 0xff).toString('base64url'), e: 'AQAB' };
    const cases: [string, string | undefined][] = [
      ['no proof', undefined],
      ['garbage', 'not a jwt'],
      ['alg none', unsignedJwt(device.jwk, c)],
      ['HS256', hmacJwt(device.jwk, c)],
      ['no jwk', device.refresh(c)],
      ['an oversize key', device.jwt({ alg: 'RS256', typ: 'dbsc+jwt', jwk: hugeKey }, { jti: c })],
      ['a private key', device.jwt({ alg: 'ES256', typ: 'dbsc+jwt', jwk: { ...device.jwk, d: 'AAAA' } }, { jti: c })],
      ['no jti', device.jwt({ alg: 'ES256', typ: 'dbsc+jwt', jwk: device.jwk }, {})],
      ['another session\'s challenge', device.registration(challengeOf(other.offer)!)],
    ];
    for (const [what, jwt] of cases) {
      const res = await r.req('POST', '/auth/dbsc/register', { cookie: s.token, headers: jwt === undefined ? {} : { 'secure-session-response': quoted(jwt) } });
      t.is(res.status, 400, what);
      t.is(res.body?.error, 'proof_invalid', what);
    }
    t.false(await boundFlag(r, s.token));
    r.clock.advance(11 * MIN);
    const late = await register(r, s.token, device.registration(c));
    t.is(late.status, 400, 'an expired registration challenge');
    t.false(await boundFlag(r, s.token));
    t.is((await r.req('POST', '/auth/dbsc/register', { headers: { 'secure-session-response': quoted(device.registration(c)) } })).status, 401, 'no session');
  });

  test(`${kind}: refresh of an unknown or unbound session is refused (ending the browser's DBSC session)`, async (t) => {
    const r = await rig(t, target);
    const s = await signIn(r);
    t.is((await refresh(r, s.token, s.handle)).body?.error, 'not_bound');
    const b = await bound(r);
    t.is((await refresh(r, b.token, s.handle)).body?.error, 'not_bound', 'an id that is not this session\'s');
    t.is((await r.req('POST', '/auth/logout', { cookie: b.token, headers: { origin: r.origin } })).status, 204);
    t.is((await refresh(r, b.token, b.handle)).status, 401, 'a signed-out session');
  });

  test(`${kind}: the idle timeout and the absolute lifetime still end a bound session`, async (t) => {
    const r = await rig(t, target, { SESSION_ABSOLUTE_LIFETIME: '1h' });
    const idle = await bound(r);
    r.clock.advance(16 * MIN);
    const lapsed = await proveKey(r, idle.token, idle.handle, idle.device);
    t.is(lapsed.status, 200, 'a stale (idle-lapsed, refreshable) session is renewed by its proof like by a refresh');
    let token = lapsed.cookie(COOKIE)!;
    let elapsed = 16 * MIN;
    for (let i = 0; i < 13; i++) {
      r.clock.advance(LIFETIME - 1000);
      elapsed += LIFETIME - 1000;
      const res = await proveKey(r, token, idle.handle, idle.device).catch(() => undefined);
      if (res?.status !== 200) {
        t.true(elapsed >= 60 * MIN && elapsed - (LIFETIME - 1000) < 60 * MIN, 'ends at the absolute lifetime, not before');
        return;
      }
      token = res.cookie(COOKIE)!;
    }
    t.fail('a bound session outlived its absolute lifetime');
  });
}
