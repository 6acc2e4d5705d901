/**
 * What an unauthenticated `GET /auth/oidc/login` may cost: each one stores a state
 * record, so the records are bounded per client address (an IPv6 /64 counting as one),
 * their `returnTo` is capped and they live 5 minutes. Client addresses come from
 * X-Forwarded-For with TRUST_PROXY=1, as behind one reverse proxy. Both stores.
 */
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { Browser, type OidcSetup, oidcSetup, signIn } from '../helpers/oidc-browser.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';

const test = anyTest as TestFn<{ redis: RedisProcess; memory: OidcSetup; redisSetup: OidcSetup }>;

const LIMIT = 3;

test.before(async (t) => {
  const redis = await startRedis();
  const env = { TRUST_PROXY: '1', OIDC_STARTS_PER_ADDRESS: String(LIMIT) };
  const [memory, redisSetup] = await Promise.all([oidcSetup({ env }), oidcSetup({ redis, env })]);
  for (const s of [memory, redisSetup]) s.op.accounts.set('sub-alice', { preferred_username: 'alice' });
  t.context = { redis, memory, redisSetup };
});

test.after.always(async (t) => {
  await t.context.memory?.close();
  await t.context.redisSetup?.close();
  await t.context.redis?.stop();
});

const each = (name: string, fn: (t: ExecutionContext<unknown>, s: OidcSetup) => Promise<void>) => {
  test.serial(`${name} (embedded)`, (t) => fn(t, t.context.memory));
  test.serial(`${name} (redis)`, (t) => fn(t, t.context.redisSetup));
};

const from = (ip: string) => new Browser({ 'x-forwarded-for': ip });
const start = (s: OidcSetup, ip: string, returnTo?: string) =>
  from(ip).get(`${s.origin}/auth/oidc/login${returnTo ? `?returnTo=${encodeURIComponent(returnTo)}` : ''}`);

/** State records in Redis (null on the embedded store). */
async function stateRecords(s: OidcSetup): Promise<string[] | null> {
  const redis = s.srv.redisClient;
  return redis ? redis.keys(`${s.srv.keyPrefix}oidc:st:*`) : null;
}

each('sign-ins started from one address are bounded: past OIDC_STARTS_PER_ADDRESS, 429 too_many_attempts with Retry-After and no record', async (t, s) => {
  const before = (await stateRecords(s))?.length;
  for (let i = 0; i < LIMIT; i++) t.is((await start(s, '192.0.2.1')).status, 302, `start ${i + 1}`);
  const over = await start(s, '192.0.2.1');
  t.is(over.status, 429);
  t.is((JSON.parse(over.body) as { error: string }).error, 'too_many_attempts');
  const retry = Number(over.headers.get('retry-after'));
  t.true(retry >= 1 && retry <= 300, `Retry-After ${retry}`);
  t.false(over.setCookies.some((c) => c.startsWith('oidc=')), 'no pre-session cookie either');
  if (before !== undefined) t.is((await stateRecords(s))!.length, before + LIMIT, 'the refused start stored nothing');
  t.is((await start(s, '198.51.100.7')).status, 302, 'another address is not affected');
});

each('an IPv6 /64 is one address for the bound', async (t, s) => {
  for (let i = 0; i < LIMIT; i++) t.is((await start(s, `2001:db8:1:2::${i + 1}`)).status, 302);
  t.is((await start(s, '2001:db8:1:2:ffff:1:2:3')).status, 429, 'same /64');
  t.is((await start(s, '2001:db8:1:3::1')).status, 302, 'the next /64');
});

each('a returnTo longer than 512 characters is dropped: the sign-in ends at /', async (t, s) => {
  const long = `/${'a'.repeat(600)}`;
  const b = from('203.0.113.10');
  s.op.signInAs('sub-alice');
  const first = await b.get(`${s.origin}/auth/oidc/login?returnTo=${encodeURIComponent(long)}`);
  t.is(first.status, 302);
  const done = await b.get(await b.followUntil(first.location!, (u) => u.startsWith(`${s.origin}/auth/oidc/callback`)));
  t.is(done.location, `${s.origin}/`);
  const edge = `/${'b'.repeat(511)}`;
  const kept = await signIn(s, from('203.0.113.11'), 'sub-alice', edge);
  t.is(kept.location, `${s.origin}${edge}`, '512 characters are kept');
});

each('the pre-session cookie of a sign-in lives 5 minutes', async (t, s) => {
  const r = await start(s, '203.0.113.20');
  t.true(r.setCookies.some((c) => /^oidc=[^;]+;.*Max-Age=300(;|$)/.test(c)), r.setCookies.join(' | '));
});

test.serial('the state record lives 5 minutes and stays under 1 KB with the longest returnTo; the address counter is small (redis)', async (t) => {
  const s = t.context.redisSetup;
  const redis = s.srv.redisClient!;
  const before = new Set(await stateRecords(s));
  t.is((await start(s, '203.0.113.30', `/${'c'.repeat(511)}`)).status, 302);
  const [key] = (await stateRecords(s))!.filter((k) => !before.has(k));
  const ttl = await redis.pttl(key!);
  t.true(ttl > 0 && ttl <= 300_000, `PTTL ${ttl}`);
  const size = Number(await redis.call('MEMORY', 'USAGE', key!));
  t.log(`state record: ${size} bytes`);
  t.true(size > 0 && size <= 1024, `${size} bytes`);
  const counters = await redis.keys(`${s.srv.keyPrefix}oidc:n:*`);
  t.true(counters.length > 0, 'one counter per address');
  const counter = Math.max(...(await Promise.all(counters.map(async (k) => Number(await redis.call('MEMORY', 'USAGE', k))))));
  t.log(`address counter: ${counter} bytes`);
  t.true(counter > 0 && counter <= 128, `${counter} bytes`);
  t.true((await redis.pttl(counters[0]!)) <= 300_000);
});
