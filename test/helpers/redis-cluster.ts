/**
 * A private Redis Cluster per test file: N masters (`--cluster-enabled yes`), and
 * optionally R replicas of each, on free loopback ports, each in its own temp dir,
 * joined with `redis-cli --cluster create`. Tests never touch a cluster they did not start.
 *
 * The cluster bus port is chosen explicitly (`--cluster-port`) because the default
 * (port + 10000) can land above 65535 for the ephemeral ports freePort() hands out.
 */
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
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
    for (let i = 0; i < total; i++) {
      const busPort = await freePort();
      servers.push(
        await startRedis({
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
        }),
      );
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
    const deadline = Date.now() + 20_000;
    for (;;) {
      const infos = await Promise.all(probes.map((c) => c.cluster('INFO').catch(() => '')));
      const ready = infos.every(
        (i) => /cluster_state:ok/.test(i) && new RegExp(`cluster_known_nodes:${known}\\b`).test(i),
      );
      if (ready) return;
      if (Date.now() > deadline) throw new Error(`cluster did not become ok: ${infos.join(' | ')}`);
      await sleep(100);
    }
  } finally {
    for (const c of probes) c.disconnect();
  }
}
