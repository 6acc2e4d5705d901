/**
 * A Cluster master hands its slots to its replica under steady load (docs/design.md,
 * invariant 12: maintenance costs latency, not errors): first a manual failover
 * (`CLUSTER FAILOVER` sent to the replica, what an operator does before patching a
 * master), then a master killed (SIGKILL) and its replica elected. Several clients
 * validate, refresh, log in, log out, log out everywhere, revoke devices and list them,
 * some of the users on the master that moves; the admin CLI lists and kills a user's
 * sessions during the manual failover. What must hold: no request fails, the waiting
 * bounded by REDIS_RETRY_BUDGET, and afterwards every session is as the answers said.
 *
 * A killed master is noticed after cluster-node-timeout (1 s here) and its replica
 * elected about a second later: longer than the default 2 s budget on a loaded machine,
 * so that case runs with a budget of 6 s, as docs/reliability.md advises for a
 * deployment that must ride out a master loss. Latency is reported (t.log), not asserted.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import test, { type ExecutionContext } from 'ava';
import type { Redis } from 'ioredis';
import { newTag } from '../../src/sessions/token.js';
import { connectRedis } from '../../src/store/connection.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { keySlot } from '../../src/store/replica-acks.js';
import { PasswordHasher } from '../../src/users/password.js';
import { RedisUserStore } from '../../src/users/redis-user-store.js';
import { eventually } from '../helpers/eventually.js';
import { type RedisClusterProcess, startRedisCluster } from '../helpers/redis-cluster.js';
import { admin } from '../helpers/run-admin.js';
import { SessionLoad } from '../helpers/session-load.js';

/** A budget above node timeout + election on 2 shared cores (measured 2.3–3.5 s). */
const KILL_BUDGET_MS = 6000;
/** How long before a SIGKILL an acknowledged write may still be on its way to the replica (2 loaded cores). */
const UNREPLICATED_WINDOW_MS = 200;

let cluster: RedisClusterProcess;
test.before(async () => {
  cluster = await startRedisCluster({ masters: 3, replicas: 1, nodeTimeoutMs: 1000 });
});
test.after.always(async () => {
  await cluster?.stop();
});

const field = (info: string, name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
const role = async (node: Redis) => field(await node.info('replication'), 'role');

/** A master with a replica that has every write so far: [master index, replica index]. */
async function masterWithReplica(): Promise<[number, number]> {
  const nodes = cluster.servers.map((_, i) => cluster.nodeClient(i));
  for (let i = 0; i < nodes.length; i++) {
    if ((await role(nodes[i]!).catch(() => 'down')) !== 'master') continue;
    let replica = -1;
    await eventually(async () => {
      const info = await nodes[i]!.info('replication');
      const port = Number(/slave0:ip=[^,]+,port=(\d+),state=online/.exec(info)?.[1]);
      replica = cluster.servers.findIndex((s) => s.port === port);
      const acked = Number(/slave0:[^\r\n]*offset=(\d+)/.exec(info)?.[1] ?? -1);
      return replica >= 0 && acked >= Number(field(info, 'master_repl_offset'));
    }, { timeoutMs: 20_000, what: `a replica of node ${i} in sync` }).catch(() => false);
    if (replica >= 0) return [i, replica];
  }
  throw new Error('no master with a replica');
}

/** Tags (users) whose slots `master` serves, and some it does not. */
async function tagsAround(master: number, on: number, off: number): Promise<string[]> {
  const ranges = await cluster.nodeClient(master).cluster('SLOTS');
  const port = cluster.servers[master]!.port;
  const owned = (tag: string) => ranges.some(([lo, hi, m]) => m?.[1] === port && keySlot(tag) >= lo && keySlot(tag) <= hi);
  const inside: string[] = [];
  const outside: string[] = [];
  while (inside.length < on || outside.length < off) {
    const tag = newTag();
    if (owned(tag)) {
      if (inside.length < on) inside.push(tag);
    } else if (outside.length < off) outside.push(tag);
  }
  // The last tag is the logout-all user's: on the master that moves.
  return [...outside, ...inside];
}

async function appStore(t: ExecutionContext, retryBudgetMs?: number): Promise<RedisStore> {
  const client = await connectRedis({ clusterNodes: [...cluster.nodes] });
  const store = new RedisStore({ client, ...(retryBudgetMs === undefined ? {} : { retryBudgetMs }) });
  t.teardown(() => store.close());
  return store;
}

test.serial('CLUSTER FAILOVER on a replica under load: no request fails, every session is as acknowledged, the CLI’s list and kill --user go through', async (t) => {
  const [master, replica] = await masterWithReplica();
  const store = await appStore(t);
  const load = new SessionLoad(store, { tags: await tagsAround(master, 3, 2) });

  // The operator's target, on the master that moves.
  const users = new RedisUserStore(store.client);
  let name = '';
  let tag = '';
  for (let i = 0; !tag; i++) {
    const candidate = `ops${i}`;
    const created = await users.create(candidate, await new PasswordHasher({ concurrency: 1, queueLimit: 1 }).hash('correct horse battery staple'));
    if (await ownedBy(master, created.tag)) [name, tag] = [candidate, created.tag];
  }
  const targeted = [];
  for (let i = 0; i < 4; i++) targeted.push((await store.create({ userId: name, tag }))!);

  await load.start();
  await sleep(300);
  load.counting = true;
  const env = { REDIS_CLUSTER_NODES: cluster.nodesEnv };
  const cli = (async () => {
    const list = await admin(['sessions', 'list', '--user', name, '--json'], env);
    load.mark('CLI list done');
    const kill = await admin(['sessions', 'kill', '--user', name], env);
    load.mark('CLI kill done');
    return { list, kill };
  })();
  await sleep(300);
  load.mark('CLUSTER FAILOVER sent');
  const t0 = performance.now();
  await cluster.nodeClient(replica).cluster('FAILOVER');
  await eventually(async () => (await role(cluster.nodeClient(replica))) === 'master' && (await role(cluster.nodeClient(master))) === 'slave', {
    timeoutMs: 20_000, everyMs: 20, what: 'the replica promoted, the master demoted',
  });
  const switchMs = Math.round(performance.now() - t0);
  load.mark('roles switched');
  await sleep(1500);
  load.counting = false;
  await load.stop();
  const { list, kill } = await cli;

  t.log(`CLUSTER FAILOVER: node ${replica} master, node ${master} its replica after ${switchMs} ms`);
  load.report(t, 'CLUSTER FAILOVER');
  for (const [kind, tally] of Object.entries(load.tally)) t.is(tally.failed, 0, `${kind} failed during the failover: ${tally}`);
  t.true(load.tally.validate.ok > 0 && load.tally.login.ok > 0);
  await load.check(t);

  t.log(`CLI during the failover: list --user exit ${list.code}, kill --user exit ${kill.code} ${(kill.stdout + kill.stderr).trim()}; ${load.marks.join(', ')}`);
  t.is(list.code, 0, list.stderr);
  t.deepEqual((JSON.parse(list.stdout) as { handle: string }[]).map((s) => s.handle).sort(), targeted.map((s) => s.session.handle).sort());
  t.is(kill.code, 0, kill.stderr);
  for (const s of targeted) t.like(await store.validate(s.token), { state: 'login_required' });
  t.deepEqual(await store.list(tag), []);
});

test.serial('a master killed under load, its replica elected: no request fails within a budget above the election, every session is as acknowledged', async (t) => {
  const [master, replica] = await masterWithReplica();
  const store = await appStore(t, KILL_BUDGET_MS);
  const load = new SessionLoad(store, { tags: await tagsAround(master, 3, 2) });
  await load.start();
  await sleep(300);
  load.counting = true;
  load.mark('SIGKILL sent');
  const t0 = performance.now();
  await cluster.servers[master]!.kill('SIGKILL');
  const killedAt = performance.now();
  await eventually(async () => (await role(cluster.nodeClient(replica))) === 'master', {
    timeoutMs: 30_000, everyMs: 20, what: 'the replica elected',
  });
  const electedMs = Math.round(performance.now() - t0);
  load.mark('replica elected');
  await sleep(1500);
  load.counting = false;
  await load.stop();

  t.log(`master node ${master} SIGKILLed: node ${replica} elected after ${electedMs} ms (REDIS_RETRY_BUDGET ${KILL_BUDGET_MS} ms)`);
  load.report(t, 'master killed');
  for (const [kind, tally] of Object.entries(load.tally)) t.is(tally.failed, 0, `${kind} failed while the master was lost: ${tally}`);
  t.true(load.tally.validate.ok > 0 && load.tally.login.ok > 0);
  // Without REDIS_WAIT_REPLICAS, what the master acknowledged in its last instants may
  // not have reached its replica (Redis replicates asynchronously): tolerated only there.
  await load.check(t, { at: killedAt, windowMs: UNREPLICATED_WINDOW_MS });
});

async function ownedBy(master: number, tag: string): Promise<boolean> {
  const ranges = await cluster.nodeClient(master).cluster('SLOTS');
  const port = cluster.servers[master]!.port;
  return ranges.some(([lo, hi, m]) => m?.[1] === port && keySlot(tag) >= lo && keySlot(tag) <= hi);
}
