/**
 * A private Redis Cluster per test file: N masters (`--cluster-enabled yes`), and
 * optionally R replicas of each, on free loopback ports, each in its own temp dir,
 * joined with `redis-cli --cluster create`. Tests never touch a cluster they did not start.
 *
 * The cluster bus port is chosen explicitly (`--cluster-port`) because the default
 * (port + 10000) can land above 65535 for the ephemeral ports freePort() hands out.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { eventually } from './eventually.js';
import { freePort } from './ports.js';
import { type RedisProcess, startRedis } from './redis-server.js';
import { type ClientAccess, type TlsFiles, aclArgs } from './redis-tls.js';

const run = promisify(execFile);

export interface ClusterNode {
  host: string;
  port: number;
}

export interface RedisClusterProcess {
  /** Every node (masters first, then replicas), as `REDIS_CLUSTER_NODES` would list them. */
  readonly nodes: readonly ClusterNode[];
  /** `host:port,host:port,…` for REDIS_CLUSTER_NODES. */
  readonly nodesEnv: string;
  readonly nodeTimeoutMs: number;
  readonly servers: readonly RedisProcess[];
  /** A fresh ioredis Cluster client (closed by stop()). */
  client(): Cluster;
  /** A plain client to one node (for CLUSTER INFO, KEYSLOT, …). */
  nodeClient(i: number): Redis;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  masters?: number;
  /** Replicas per master (default 0). */
  replicas?: number;
  /** cluster-node-timeout; short so a failed node is noticed quickly in tests. */
  nodeTimeoutMs?: number;
  args?: string[];
  /** Every node on TLS only: clients, replication and the cluster bus. */
  tls?: TlsFiles;
  /** An ACL user on every node (default user off). */
  user?: { username: string; password: string };
}

export async function startRedisCluster(opts: ClusterOptions = {}): Promise<RedisClusterProcess> {
  const masters = opts.masters ?? 3;
  const replicas = opts.replicas ?? 0;
  const total = masters * (1 + replicas);
  const nodeTimeoutMs = opts.nodeTimeoutMs ?? 2000;
  const servers: RedisProcess[] = [];
  const clients: (Redis | Cluster)[] = [];
  const access = { ...(opts.tls ? { tls: { ca: opts.tls.ca } } : {}), ...opts.user };
  const stop = async () => {
    for (const c of clients) c.disconnect();
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    const node = async (busPort: number) =>
      startRedis({
        tls: opts.tls,
        access,
        args: [
          ...(opts.tls ? ['--tls-cluster', 'yes'] : []),
          ...(opts.user ? aclArgs(opts.user.username, opts.user.password) : []),
          '--cluster-enabled', 'yes',
          '--cluster-config-file', 'nodes.conf',
          '--cluster-node-timeout', String(nodeTimeoutMs),
          '--cluster-port', String(busPort),
          ...(opts.args ?? []),
        ],
      });
    for (let i = 0; i < total; i++) {
      // A bus port free when drawn may be taken before the node binds it: draw again.
      for (let attempt = 1; ; attempt++) {
        try {
          servers.push(await node(await freePort()));
          break;
        } catch (err) {
          if (attempt === 3 || !/in use/i.test((err as Error).message)) throw err;
        }
      }
    }
    const addrs = servers.map((s) => `127.0.0.1:${s.port}`);
    const cliAccess = [
      ...(opts.tls ? ['--tls', '--cacert', opts.tls.caFile] : []),
      ...(opts.user ? ['--user', opts.user.username, '--pass', opts.user.password] : []),
    ];
    await run('redis-cli', [...cliAccess, '--cluster', 'create', ...addrs, '--cluster-replicas', String(replicas), '--cluster-yes'], {
      timeout: 20_000,
    });
    await waitForClusterOk(servers, total, access);
  } catch (err) {
    await stop();
    throw err;
  }
  const nodes = servers.map((s) => ({ host: '127.0.0.1', port: s.port }));
  return {
    nodes,
    nodesEnv: nodes.map((n) => `${n.host}:${n.port}`).join(','),
    nodeTimeoutMs,
    servers,
    client() {
      const c = new Cluster(nodes, { redisOptions: { ...access, maxRetriesPerRequest: 2 } });
      c.on('error', () => {});
      clients.push(c);
      return c;
    },
    nodeClient(i: number) {
      const s = servers[i];
      if (!s) throw new Error(`no cluster node ${i}`);
      const c = s.client();
      clients.push(c);
      return c;
    },
    stop,
  };
}

/** Every node says `cluster_state:ok` and knows all the others (gossip has converged). */
async function waitForClusterOk(servers: RedisProcess[], known: number, access: ClientAccess): Promise<void> {
  const probes = servers.map((s) => {
    const c = new Redis({ ...access, port: s.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    c.on('error', () => {});
    return c;
  });
  try {
    let infos: string[] = [];
    await eventually(
      async () => {
        infos = await Promise.all(probes.map((c) => c.cluster('INFO').catch(() => '')));
        return infos.every((i) => /cluster_state:ok/.test(i) && new RegExp(`cluster_known_nodes:${known}\\b`).test(i));
      },
      { timeoutMs: 20_000, everyMs: 100, what: () => `cluster_state:ok on every node: ${infos.join(' | ')}` },
    );
  } finally {
    for (const c of probes) c.disconnect();
  }
}

/** The master (index into `nodes`) that owns `slot`, as node `via` sees it. */
export async function slotOwner(cluster: RedisClusterProcess, slot: number, via = 0): Promise<number> {
  const ranges = await cluster.nodeClient(via).cluster('SLOTS');
  const port = ranges.find(([from, to]) => slot >= from && slot <= to)?.[2]?.[1];
  const i = cluster.nodes.findIndex((n) => n.port === port);
  if (i < 0) throw new Error(`slot ${slot} is not served by a known node (${port})`);
  return i;
}

/**
 * One slot moving from its master to another, driven step by step the way
 * `redis-cli --cluster reshard` does it: IMPORTING on the target, MIGRATING on the
 * source, MIGRATE key by key, then SETSLOT NODE everywhere (target first, as the docs
 * advise, so the source's MOVED never points at a node that does not know yet).
 */
export interface SlotMove {
  readonly slot: number;
  readonly source: number;
  readonly target: number;
  /** Keys of the slot still on the source. */
  keysLeft(): Promise<string[]>;
  /** MIGRATE one key to the target (no-op when it is no longer on the source). */
  migrate(key: string): Promise<void>;
  /** Migrates whatever is left, then assigns the slot to the target on every node. */
  finish(): Promise<void>;
}

export async function beginSlotMove(cluster: RedisClusterProcess, slot: number, target?: number): Promise<SlotMove> {
  const source = await slotOwner(cluster, slot);
  const masters = cluster.nodes.length; // tests that move slots start masters only
  const to = target ?? (source + 1) % masters;
  if (to === source) throw new Error('target is the source');
  const src = cluster.nodeClient(source);
  const dst = cluster.nodeClient(to);
  const ids = await Promise.all(cluster.nodes.map((_, i) => cluster.nodeClient(i).cluster('MYID') as Promise<string>));
  await dst.cluster('SETSLOT', slot, 'IMPORTING', ids[source]!);
  await src.cluster('SETSLOT', slot, 'MIGRATING', ids[to]!);
  const host = cluster.nodes[to]!.host;
  const port = cluster.nodes[to]!.port;
  const keysLeft = async () => (await src.cluster('GETKEYSINSLOT', slot, 1000)) as string[];
  const migrate = async (key: string) => {
    await src.call('MIGRATE', host, port, '', 0, 5000, 'REPLACE', 'KEYS', key);
  };
  return {
    slot,
    source,
    target: to,
    keysLeft,
    migrate,
    async finish() {
      for (;;) {
        const left = await keysLeft();
        if (!left.length) break;
        for (const key of left) await migrate(key);
      }
      await dst.cluster('SETSLOT', slot, 'NODE', ids[to]!);
      await src.cluster('SETSLOT', slot, 'NODE', ids[to]!);
      await Promise.all(
        cluster.nodes.map((_, i) => (i === source || i === to ? null : cluster.nodeClient(i).cluster('SETSLOT', slot, 'NODE', ids[to]!))),
      );
    },
  };
}
