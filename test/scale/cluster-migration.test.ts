/**
 * A user's hash slot moves between masters of a real 3-master Redis Cluster, key by
 * key (CLUSTER SETSLOT IMPORTING/MIGRATING, one MIGRATE per key, SETSLOT NODE), while
 * that user logs in, validates, refreshes, lists and logs out everywhere. What must hold
 * (issue 12 item 2): no live session leaves its user's index except by being revoked
 * or expiring; a logout-all run mid-way ends every session created before it; and the
 * user is served instead of answering 503: a request that meets the move (TRYAGAIN,
 * MOVED, ASK: nothing was applied) waits within REDIS_RETRY_BUDGET (2 s) and goes
 * through, so none fails while the slot moves; latency is reported (t.log).
 */
import test, { type ExecutionContext } from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { newTag } from '../../src/sessions/token.js';
import { connectRedis } from '../../src/store/connection.js';
import { keySpace } from '../../src/store/keys.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { keySlot } from '../../src/store/replica-acks.js';
import { RedisUserStore } from '../../src/users/redis-user-store.js';
import { admin as runAdmin } from '../helpers/run-admin.js';
import { Tally } from '../helpers/session-load.js';
import { beginSlotMove, type RedisClusterProcess, type SlotMove, startRedisCluster } from '../helpers/redis-cluster.js';

let cluster: RedisClusterProcess;
test.before(async () => {
  cluster = await startRedisCluster();
});
test.after.always(async () => {
  await cluster?.stop();
});

/** Pause between two keys: a reshard slow enough for requests to land in every state. */
const PAUSE_MS = 25;

async function appStore(t: ExecutionContext, prefix = 'ss:'): Promise<RedisStore> {
  const client = await connectRedis({ clusterNodes: [...cluster.nodes] });
  const store = new RedisStore({ client, keys: keySpace(prefix) });
  t.teardown(() => store.close());
  return store;
}

/** Whether the slot is open (MIGRATING/IMPORTING): only those requests are counted. */
let open = false;

/** Moves every key of the slot with a pause after each; `midway` runs once half are moved. */
async function moveKeyByKey(move: SlotMove, midway: () => Promise<void>): Promise<number> {
  const keys = await move.keysLeft();
  let moved = 0;
  for (const key of keys) {
    await move.migrate(key);
    moved++;
    if (moved === Math.ceil(keys.length / 2)) await midway();
    await sleep(PAUSE_MS);
  }
  // Whatever the source still holds (nothing expected: scripts create new keys only on
  // the target while the slot is open).
  const late = await move.keysLeft();
  await move.finish();
  return moved + late.length;
}

test.serial('a user’s slot moves key by key under load: nothing live leaves the index, a logout-all mid-way is complete', async (t) => {
  const store = await appStore(t);
  const tag = newTag();
  const userId = `u-${tag}`;
  const login = () => store.create({ userId, tag, ip: '198.51.100.7' });
  /** Every token ever issued, with the time its login answered. */
  const issued: { token: string; at: number }[] = [];
  for (let i = 0; i < 8; i++) issued.push({ token: (await login())!.token, at: Date.now() });
  // Two rotations: grace aliases and replay markers sit in the slot too.
  for (const i of [0, 1]) {
    const r = await store.refresh(issued[i]!.token);
    if (!r.ok) return t.fail(`refresh before the move: ${r.reason}`);
    issued.push({ token: r.token, at: Date.now() });
  }

  const slotOpen = () => open;
  const tally = { validate: new Tally(slotOpen), refresh: new Tally(slotOpen), login: new Tally(slotOpen), list: new Tally(slotOpen), logoutAll: new Tally(slotOpen) };
  let served = 0; // validations answered active/stale while the slot was open
  let moving = true;
  const workers: Promise<void>[] = [];
  const loop = (every: number, body: () => Promise<void>) =>
    workers.push((async () => {
      while (moving) {
        await body();
        await sleep(every);
      }
    })());
  // Four clients of that user, each validating one of its recent cookies after another.
  for (let c = 0; c < 4; c++) {
    loop(2, async () => {
      const during = open;
      const recent = issued.slice(-10);
      const r = await tally.validate.run(() => store.validate(recent[Math.floor(Math.random() * recent.length)]!.token));
      if (during && open && (r?.state === 'active' || r?.state === 'stale')) served++;
    });
  }
  loop(40, async () => {
    const s = issued[Math.floor(Math.random() * issued.length)]!;
    const r = await tally.refresh.run(() => store.refresh(s.token));
    if (r?.ok) issued.push({ token: r.token, at: Date.now() });
  });
  loop(60, async () => {
    const r = await tally.login.run(login);
    if (r) issued.push({ token: r.token, at: Date.now() });
  });
  loop(30, async () => {
    await tally.list.run(() => store.list(tag));
  });

  const move = await beginSlotMove(cluster, keySlot(tag));
  open = true;
  let logoutAllAt: number | undefined;
  let midwayRevoked: number | undefined;
  const started = Date.now();
  const keysMoved = await moveKeyByKey(move, async () => {
    const sent = Date.now();
    midwayRevoked = await tally.logoutAll.run(() => store.revokeAll(tag));
    if (midwayRevoked !== undefined) logoutAllAt = sent;
  });
  const duration = Date.now() - started;
  open = false;
  moving = false;
  await Promise.all(workers);
  if (logoutAllAt === undefined) {
    // Refused mid-way (503, nothing promised): the operator runs it again.
    logoutAllAt = Date.now();
    await store.revokeAll(tag);
  }

  t.log(`slot ${move.slot}: node ${move.source} → ${move.target}, ${keysMoved} keys in ${duration} ms`);
  for (const [kind, tl] of Object.entries(tally)) t.log(`${kind}: ${tl}`);
  t.log(`logout-all mid-way: ${midwayRevoked === undefined ? 'refused (503)' : `revoked ${midwayRevoked}`}`);

  const listed = new Set((await store.list(tag)).map((s) => s.handle));
  let alive = 0;
  for (const s of issued) {
    const r = await store.validate(s.token);
    if (r.state === 'active' || r.state === 'stale') {
      alive++;
      t.true(listed.has(r.session.handle), `a live session is out of its user's index: ${r.session.handle}`);
      t.true(s.at > logoutAllAt!, 'a session that answered before the logout-all was sent survived it');
    }
  }
  t.log(`${issued.length} tokens issued, ${alive} alive after the logout-all, ${listed.size} listed`);
  t.true(served > 0, `every validation failed while the slot moved (${tally.validate})`);
  for (const [kind, tl] of Object.entries(tally)) t.is(tl.failed, 0, `${kind} failed while the slot moved: ${tl}`);
  t.not(midwayRevoked, undefined, 'the logout-all mid-way went through');
  // And a last logout-all ends whatever is left, listed or not.
  await store.revokeAll(tag);
  for (const s of issued) t.like(await store.validate(s.token), { state: 'login_required' });
});

test.serial('`sessions list --user` and `sessions kill --user` mid-migration wait it out: the listing shows every live session, the kill ends every one', async (t) => {
  const store = await appStore(t);
  const env = { REDIS_CLUSTER_NODES: cluster.nodesEnv };
  const added = await runAdmin(['user', 'add', 'mover', '--password-stdin'], env, 'correct horse battery staple\n');
  t.is(added.code, 0, added.stderr);
  const user = (await new RedisUserStore(store.client).find('mover'))!;
  const issued = [];
  for (let i = 0; i < 8; i++) issued.push((await store.create({ userId: user.id, tag: user.tag }))!);
  const tokens = issued.map((s) => s.token);
  const move = await beginSlotMove(cluster, keySlot(user.tag));
  let running: Promise<[Awaited<ReturnType<typeof runAdmin>>, Awaited<ReturnType<typeof runAdmin>>]> | undefined;
  // The CLI starts once half the keys have moved, and the move goes on under it: its
  // calls meet the split slot (TRYAGAIN) and wait it out within REDIS_RETRY_BUDGET.
  await moveKeyByKey(move, async () => {
    running = (async () => {
      const list = await runAdmin(['sessions', 'list', '--user', 'mover', '--json'], env);
      return [list, await runAdmin(['sessions', 'kill', '--user', 'mover'], env)];
    })();
    await sleep(1000); // the CLI process is up and reading the split slot
  });
  const [listed, killed] = await running!;
  t.log(`list --user mid-way: exit ${listed.code}${listed.code ? `, ${listed.stderr.trim()}` : ''}`);
  t.log(`kill --user mid-way: exit ${killed.code}, ${(killed.stdout + killed.stderr).trim()}`);
  t.is(listed.code, 0, `list --user waits out the move: ${listed.stderr}`);
  const handles = (JSON.parse(listed.stdout) as { handle: string }[]).map((r) => r.handle).sort();
  t.deepEqual(handles, issued.map((s) => s.session.handle).sort(), 'a listing mid-way left live sessions out');
  const states = await Promise.all(tokens.map((tk) => store.validate(tk).then((r) => r.state)));
  const alive = states.filter((s) => s !== 'login_required').length;
  t.is(killed.code, 0, `kill --user waits out the move: ${killed.stderr}`);
  t.is(alive, 0, 'kill --user answered 0 and left sessions alive');
  t.deepEqual(await store.list(user.tag), [], 'nothing listed after the kill');
});

test.serial('what the engine relies on: Redis refuses a script with partly missing declared keys, and ioredis retries TRYAGAIN', async (t) => {
  const tag = newTag();
  const k = (name: string) => `probe:{${tag}}:${name}`;
  const seed = cluster.client();
  await seed.set(k('a'), '1');
  await seed.set(k('b'), '1');
  const move = await beginSlotMove(cluster, keySlot(tag));
  const src = cluster.nodeClient(move.source);
  const dst = cluster.nodeClient(move.target);
  const evalOn = (c: typeof src, keys: string[], lua = '#!lua\nreturn 1') =>
    c.eval(lua, keys.length, ...keys).then(String, (e: Error) => e.message);
  // Nothing moved yet: a declared key that does not exist is enough to refuse the script.
  t.is(await evalOn(src, [k('a'), k('b')]), '1');
  t.regex(await evalOn(src, [k('a'), k('never')]), /^TRYAGAIN/);
  t.regex(await evalOn(src, [k('never')]), /^ASK /);
  await dst.call('ASKING');
  t.regex(await evalOn(dst, [k('a'), k('never')]), /^TRYAGAIN/, 'the target refuses a multi-key script with a missing key too');
  // Inside a script on the source, a key that is not there cannot even be read: an error
  // that redis.pcall catches (the scripts turn it into TRYAGAIN or "not here").
  const undeclared = `#!lua\nlocal r = redis.pcall('GET', '${k('b')}')\nreturn type(r) == 'table' and r.err or tostring(r)`;
  t.is(await evalOn(src, [k('a')], undeclared), '1');
  await move.migrate(k('b'));
  t.regex(await evalOn(src, [k('a')], undeclared), /non local key/);
  t.regex(await evalOn(src, [k('a'), k('b')]), /^TRYAGAIN/);

  // The ioredis Cluster client retries a script's own TRYAGAIN error reply (after
  // retryDelayOnTryAgain), as it does Redis's.
  const client = await connectRedis({ clusterNodes: [...cluster.nodes] });
  t.teardown(() => client.disconnect());
  await move.finish();
  const flaky = `#!lua
if redis.call('INCR', KEYS[1]) < 3 then return redis.error_reply('TRYAGAIN not yet') end
return 'served'`;
  t.is(String(await client.eval(flaky, 1, k('tries'))), 'served');
  t.is(await client.get(k('tries')), '3');
});
