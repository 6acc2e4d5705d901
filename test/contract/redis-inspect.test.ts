/**
 * Redis only: what the store leaves in Redis (no secrets, deadlines as TTLs, memory),
 * that every script call stays in one hash slot (run on a one-node Redis Cluster, which
 * also refuses cross-slot scripts itself), one round trip per validate, and Redis TIME.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import test from 'ava';
import { ManualClock } from '../../src/clock.js';
import { familyHash, newTag, parseToken } from '../../src/sessions/token.js';
import type { SessionPolicy } from '../../src/sessions/types.js';
import { connectRedis, type RedisClient } from '../../src/store/connection.js';
import { keySpace } from '../../src/store/keys.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { POLICY } from './session-store.contract.js';
import { spyOn } from './record-spy.js';

let server: RedisProcess;
let admin: RedisClient;
const clients: RedisClient[] = [];
test.before(async () => {
  // rdbcompression off: DUMP payloads hold strings verbatim, so a search in them is meaningful.
  server = await startRedis({ args: ['--rdbcompression', 'no'] });
  admin = server.client();
});
test.after.always(async () => {
  for (const c of clients) c.disconnect();
  await server?.stop();
});

const storeOn = async (url: string, policy: Partial<SessionPolicy> = {}, clock = new ManualClock()) => {
  const client = await connectRedis({ url });
  clients.push(client);
  return { store: new RedisStore({ client, clock, policy: { ...POLICY, ...policy }, ownsClient: false }), clock, client };
};

test('no key or value in Redis contains a cookie secret, and records are keyed by SHA-256 of it', async (t) => {
  const { store, clock } = await storeOn(server.url);
  const tag = newTag();
  const secrets: string[] = [];
  const issue = async () => {
    const s = await store.create({ userId: 'u1', tag, ip: '198.51.100.1', userAgent: 'Chrome on Android', data: { a: 1 } });
    secrets.push(s!.token.slice(13));
    return s!;
  };
  const a = await issue();
  const b = await issue();
  await issue();
  const ra = await store.refresh(a.token);
  if (!ra.ok) return t.fail();
  secrets.push(ra.token.slice(13));
  const again = await store.refresh(a.token);
  t.like(again, { ok: true, token: ra.token });
  clock.advance(61_000);
  const rb = await store.refresh(b.token, { grace: false, reauthenticated: true });
  if (!rb.ok) return t.fail();
  secrets.push(rb.token.slice(13));
  const v = await store.validate(ra.token);
  if (v.state === 'login_required') return t.fail();
  await store.updateData(v.ref, { theme: 'dark' });

  const keys = await admin.keys('*');
  t.true(keys.some((k) => k.includes(':g:')) && keys.some((k) => k.includes(':r:')) && keys.some((k) => k.endsWith(':u')));
  const ks = keySpace();
  t.true(keys.includes(ks.session(tag, parseToken(ra.token)!.idHash)), 'the record key is the hash of the secret');
  const recordDump = await admin.dumpBuffer(ks.session(tag, parseToken(ra.token)!.idHash));
  t.true(recordDump?.includes('Chrome on Android'), 'control: DUMP shows stored strings verbatim');
  let checked = 0;
  for (const key of keys) {
    const type = await admin.type(key);
    const readable =
      type === 'hash' ? JSON.stringify(await admin.hgetall(key))
      : type === 'zset' ? JSON.stringify(await admin.call('ZRANGE', key, '0', '-1', 'WITHSCORES'))
      : type === 'string' ? String(await admin.get(key))
      : `unexpected type ${type}`;
    const dump = (await admin.dumpBuffer(key)) ?? Buffer.alloc(0);
    for (const secret of secrets) {
      t.false(key.includes(secret), key);
      t.false(readable.includes(secret), key);
      t.false(dump.includes(secret), key);
    }
    checked++;
  }
  t.true(checked >= 6);
});

test('key TTLs match the deadlines of records, index, grace alias and replay marker', async (t) => {
  const { store, clock } = await storeOn(server.url);
  const ks = keySpace();
  const tag = newTag();
  const slack = 2_000; // real milliseconds that may pass while the test runs
  const near = (actual: number, expected: number, what: string) =>
    t.true(actual <= expected && actual > expected - slack, `${what}: PTTL ${actual}, expected ≈ ${expected}`);
  const key = (token: string) => ks.session(tag, parseToken(token)!.idHash);

  const keep = (await store.create({ userId: 'u1', tag }))!;
  near(await admin.pttl(key(keep.token)), POLICY.absoluteLifetimeMs, 'refreshable record: absolute deadline');
  near(await admin.pttl(ks.userIndex(tag)), POLICY.absoluteLifetimeMs, 'index: its latest deadline');
  t.is(Number(await admin.zscore(ks.userIndex(tag), parseToken(keep.token)!.idHash)), keep.session.absoluteExpiresAt);

  const brief = (await store.create({ userId: 'u1', tag, remember: false }))!;
  near(await admin.pttl(key(brief.token)), POLICY.idleTimeoutMs, 'remember:false record: idle deadline');
  clock.advance(30_000);
  await store.validate(brief.token);
  near(await admin.pttl(key(brief.token)), POLICY.idleTimeoutMs, 'remember:false record after a slide');
  t.is(Number(await admin.zscore(ks.userIndex(tag), parseToken(brief.token)!.idHash)), clock.now() + POLICY.idleTimeoutMs);

  const r = await store.refresh(keep.token);
  if (!r.ok) return t.fail();
  const old = parseToken(keep.token)!.idHash;
  const remaining = keep.session.absoluteExpiresAt - clock.now();
  near(await admin.pttl(key(r.token)), remaining, 'rotated record keeps the absolute deadline');
  near(await admin.pttl(ks.grace(tag, old)), POLICY.rotationGraceMs, 'grace alias');
  near(await admin.pttl(ks.replay(tag, old)), remaining, 'replay marker: until the absolute deadline');
  t.is(await admin.exists(key(keep.token)), 0);

  await store.revokeAll(tag);
  t.is(await admin.pttl(ks.userEpoch(tag)), -1, 'the epoch never expires (a lost epoch would re-admit old logins)');
});

test('a session record plus its index entry stays within about 375 bytes, and with its family key within 550', async (t) => {
  const { store } = await storeOn(server.url);
  const ks = keySpace();
  const tag = newTag();
  const input = { userId: 'V1StGXR8_Z5jdHi6B-myT', tag, ip: '203.0.113.45', userAgent: 'Firefox 128 on macOS 14' };
  const a = (await store.create(input))!;
  const usage = async (k: string) => Number(await admin.call('MEMORY', 'USAGE', k, 'SAMPLES', '0'));
  const record = await usage(ks.session(tag, parseToken(a.token)!.idHash));
  const indexOfOne = await usage(ks.userIndex(tag));
  await store.create(input);
  const entry = (await usage(ks.userIndex(tag))) - indexOfOne;
  const family = await usage(ks.family(tag, familyHash(a.token)));
  t.log(`record ${record} B, index entry ${entry} B, family key ${family} B, index key of a one-session user ${indexOfOne} B`);
  t.true(record + entry <= 380, `${record} + ${entry}`);
  t.true(record + entry + family <= 550, `${record} + ${entry} + ${family}`);
  // The sizing operators read (docs/deployment.md, docs/design.md) is what Redis measures.
  const deployment = readFileSync(new URL('../../docs/deployment.md', import.meta.url), 'utf8');
  t.true(deployment.includes(`| ${record} + ${entry} + ${family} B |`), `docs/deployment.md: a fresh session is ${record} + ${entry} + ${family} B`);
  const design = readFileSync(new URL('../../docs/design.md', import.meta.url), 'utf8');
  t.true(design.includes(`takes ${record} B of \`MEMORY USAGE\``), `docs/design.md: a fresh record is ${record} B`);
  t.true(design.includes(`the family key ${family} B`), `docs/design.md: the family key is ${family} B`);
});

test('validate costs one round trip, and a malformed cookie none', async (t) => {
  const { store, client, clock } = await storeOn(server.url, { touchIntervalMs: 0 });
  const a = (await store.create({ userId: 'u1', tag: newTag() }))!;
  const spy = spyOn(client);
  clock.advance(1_000);
  t.is((await store.validate(a.token)).state, 'active');
  t.deepEqual(spy.sent.map((c) => c.script), ['validateSession']);
  spy.reset();
  await store.validate('x'.repeat(5000));
  await store.validate(`${newTag()}.bad`);
  t.deepEqual(spy.sent, []);
});

test('with the Redis TIME clock the scripts decide on the server clock', async (t) => {
  const client = await connectRedis({ url: server.url });
  clients.push(client);
  const store = new RedisStore({ client, policy: { ...POLICY, idleTimeoutMs: 200, touchIntervalMs: 0 }, ownsClient: false });
  const [sec, usec] = await admin.time();
  const serverNow = Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
  const a = (await store.create({ userId: 'u1', tag: newTag() }))!;
  t.true(Math.abs(a.now - serverNow) < 1_000, 'now comes from Redis TIME');
  t.is((await store.validate(a.token)).state, 'active');
  await sleep(250); // a few hundred real ms: the only way to let Redis's own clock move
  t.is((await store.validate(a.token)).state, 'stale');
});

test('every script call keeps its keys in one hash slot (run on a one-node Redis Cluster)', async (t) => {
  const node = await startRedis({
    args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-announce-ip', '127.0.0.1'],
  });
  t.teardown(() => node.stop());
  const c = node.client();
  await c.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
  for (let i = 0; !String(await c.call('CLUSTER', 'INFO')).includes('cluster_state:ok'); i++) {
    if (i > 200) return t.fail('cluster did not come up');
    await sleep(50);
  }
  const client = await connectRedis({ clusterNodes: [{ host: '127.0.0.1', port: node.port }] });
  const clock = new ManualClock();
  const store = new RedisStore({ client, clock, policy: { ...POLICY, maxPerUser: 2 } });
  t.teardown(() => store.close());
  const spy = spyOn(client);
  const tag = newTag();

  const a = (await store.create({ userId: 'u1', tag }))!;
  clock.advance(1);
  const b = (await store.create({ userId: 'u1', tag }))!;
  clock.advance(1);
  const c3 = (await store.create({ userId: 'u1', tag }))!;
  t.deepEqual(c3.revokedHandles, [a.session.handle]);
  const rb = await store.refresh(b.token);
  t.like(await store.refresh(b.token), { ok: true });
  const v = await store.validate(b.token);
  t.like(v, { state: 'active', viaGrace: true });
  if (v.state !== 'active') return;
  t.true(await store.updateData(v.ref, { x: 1 }));
  clock.advance(10_000);
  t.like(await store.validate(b.token), { state: 'login_required', reason: 'replay' });
  t.true(rb.ok);
  const d = (await store.create({ userId: 'u1', tag }))!;
  t.is((await store.list(tag)).length, 2);
  t.truthy(await store.get(d.session.handle));
  t.true(await store.revoke(d.token));
  t.true(await store.revokeHandle(c3.session.handle));
  await store.create({ userId: 'u1', tag });
  t.is(await store.revokeAll(tag), 1);

  const calls = spy.sent.filter((s) => s.script);
  t.deepEqual(
    [...new Set(calls.map((s) => s.script))].sort(),
    ['createSession', 'listSessions', 'refreshSession', 'revokeAll', 'revokeHandle', 'revokeSession', 'updateData', 'validateSession'],
  );
  const slotOfTag = Number(await c.call('CLUSTER', 'KEYSLOT', `{${tag}}`));
  for (const call of calls) {
    // The declared KEYS and the key prefixes from which the scripts build member keys.
    const named = [...call.keys!, ...call.argv!.filter((x) => x.startsWith(store.keys.prefix))];
    t.true(call.keys!.length > 0);
    for (const k of named) t.is(Number(await c.call('CLUSTER', 'KEYSLOT', k)), slotOfTag, `${call.script}: ${k}`);
  }
});

test('a session refreshed many times keeps a compact record and a bounded memory cost', async (t) => {
  const { store, clock } = await storeOn(server.url);
  const ks = keySpace();
  const tag = newTag();
  const input = { userId: 'V1StGXR8_Z5jdHi6B-myT', tag, ip: '203.0.113.45', userAgent: 'Firefox 128 on macOS 14' };
  let token = (await store.create(input))!.token;
  for (let i = 0; i < 5; i++) {
    clock.advance(1_000);
    const r = await store.refresh(token);
    if (!r.ok) return t.fail();
    token = r.token;
  }
  const key = ks.session(tag, parseToken(token)!.idHash);
  // Every field value stays under hash-max-listpack-value, or Redis would switch the
  // record to a hash table three times its size.
  t.is(await admin.call('OBJECT', 'ENCODING', key), 'listpack');
  const usage = Number(await admin.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
  t.log(`record of a session refreshed 5 times: ${usage} B`);
  t.true(usage <= 400, `${usage} B`);
  const deployment = readFileSync(new URL('../../docs/deployment.md', import.meta.url), 'utf8');
  t.true(deployment.includes(`| ${usage} + 64 + 168 + 152 B |`), `docs/deployment.md: a refreshed record is ${usage} B`);
  const design = readFileSync(new URL('../../docs/design.md', import.meta.url), 'utf8');
  t.true(design.includes(`stays a listpack (${usage} B)`), `docs/design.md: a refreshed record is ${usage} B`);
});
