/**
 * A private Sentinel deployment per test file: one master, one replica and three
 * Sentinels (quorum 2) on free loopback ports, each in its own temp dir. Short
 * `down-after-milliseconds` so a failure is noticed in about a second.
 *
 * `failover()` runs `SENTINEL FAILOVER` and waits until every Sentinel names the new
 * master and that server answers ROLE master: the moment a well-behaved client can
 * find it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { eventually } from './eventually.js';
import { freePort } from './ports.js';
import { type RedisProcess, startRedis } from './redis-server.js';
import { type TlsFiles, aclArgs } from './redis-tls.js';

export interface SentinelAddr {
  host: string;
  port: number;
}

export interface SentinelSetup {
  /** The monitored master's name, for REDIS_SENTINEL_NAME. */
  readonly name: string;
  readonly sentinels: readonly SentinelAddr[];
  /** `host:port,host:port,host:port` for REDIS_SENTINELS. */
  readonly sentinelsEnv: string;
  /** [initial master, initial replica]; roles swap after a failover. */
  readonly servers: readonly RedisProcess[];
  /** The data server Sentinel currently names as master. */
  master(): Promise<RedisProcess>;
  /** A plain ioredis client that follows the master through the Sentinels. */
  client(): Redis;
  /** A plain client to one Sentinel. */
  sentinelClient(i?: number): Redis;
  /** SENTINEL FAILOVER, then wait for the switch; returns the new master and the time taken. */
  failover(): Promise<{ master: RedisProcess; ms: number }>;
  /** Waits until the current master has an online replica (after a failover: the old master). */
  waitForReplica(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface SentinelOptions {
  name?: string;
  downAfterMs?: number;
  failoverTimeoutMs?: number;
  /** Extra arguments for both data servers. */
  args?: string[];
  /** Data servers and Sentinels listen on TLS only; replication uses TLS too. */
  tls?: TlsFiles;
  /** An ACL user on the data servers (default user off); Sentinels and replicas log in with it. */
  dataUser?: { username: string; password: string };
  /** An ACL user on the Sentinels themselves (default user off); they use it with each other. */
  sentinelUser?: { username: string; password: string };
}

export async function startRedisSentinel(opts: SentinelOptions = {}): Promise<SentinelSetup> {
  const name = opts.name ?? 'mymaster';
  const servers: RedisProcess[] = [];
  const sentinelProcs: { proc: ChildProcess; dir: string }[] = [];
  const clients: Redis[] = [];
  const sentinels: SentinelAddr[] = [];

  const stop = async () => {
    for (const c of clients) c.disconnect();
    await Promise.all(sentinelProcs.map(({ proc, dir }) => stopProc(proc).then(() => rmSync(dir, { recursive: true, force: true }))));
    await Promise.all(servers.map((s) => s.stop()));
  };

  const tls = opts.tls ? { tls: { ca: opts.tls.ca } } : {};
  const dataAccess = { ...tls, ...opts.dataUser };
  const sentinelAccess = { ...tls, ...opts.sentinelUser };
  const sentinelPorts = new Set<number>();
  const probes = new Map<number, Redis>();
  const probe = (port: number) => {
    let c = probes.get(port);
    if (!c) {
      const access = sentinelPorts.has(port) ? sentinelAccess : dataAccess;
      c = new Redis({ ...access, port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => 50 });
      c.on('error', () => {});
      clients.push(c);
      probes.set(port, c);
    }
    return c;
  };

  try {
    const user = opts.dataUser;
    const dataArgs = [...(user ? aclArgs(user.username, user.password) : []), ...(opts.args ?? [])];
    const serverOpts = { tls: opts.tls, access: dataAccess };
    const master = await startRedis({ ...serverOpts, args: dataArgs });
    servers.push(master);
    const replica = await startRedis({ ...serverOpts, args: ['--replicaof', '127.0.0.1', String(master.port), ...dataArgs] });
    servers.push(replica);
    await waitFor(async () => /master_link_status:up/.test(await probe(replica.port).info('replication')), 'replica link up');

    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const dir = mkdtempSync(join(tmpdir(), 'ss-sentinel-'));
      const conf = join(dir, 'sentinel.conf');
      const t = opts.tls;
      const su = opts.sentinelUser;
      sentinelPorts.add(port);
      writeFileSync(
        conf,
        [
          ...(t
            ? ['port 0', `tls-port ${port}`, `tls-cert-file ${t.certFile}`, `tls-key-file ${t.keyFile}`, `tls-ca-cert-file ${t.caFile}`, 'tls-auth-clients no', 'tls-replication yes']
            : [`port ${port}`]),
          ...(su
            ? ['user default off', `user ${su.username} on >${su.password} allchannels +@all`, `sentinel sentinel-user ${su.username}`, `sentinel sentinel-pass ${su.password}`]
            : []),
          'bind 127.0.0.1',
          `dir ${dir}`,
          'loglevel warning',
          `sentinel monitor ${name} 127.0.0.1 ${master.port} 2`,
          ...(user ? [`sentinel auth-user ${name} ${user.username}`, `sentinel auth-pass ${name} ${user.password}`] : []),
          `sentinel down-after-milliseconds ${name} ${opts.downAfterMs ?? 1000}`,
          `sentinel failover-timeout ${name} ${opts.failoverTimeoutMs ?? 5000}`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      const proc = spawn('redis-server', [conf, '--sentinel'], { stdio: ['ignore', 'ignore', 'ignore'] });
      sentinelProcs.push({ proc, dir });
      sentinels.push({ host: '127.0.0.1', port });
    }
    // Sentinels find the replica through the master's INFO and each other through
    // hello messages (every 2 s); a failover needs both.
    const sc = sentinels.map((s) => probe(s.port));
    await waitFor(async () => {
      const views = await Promise.all(sc.map((c) => c.call('SENTINEL', 'MASTER', name).catch(() => [])));
      return views.every((v) => {
        const f = fields(v);
        return f['num-other-sentinels'] === '2' && f['num-slaves'] === '1' && f['flags'] === 'master';
      });
    }, 'sentinels to see each other and the replica');
  } catch (err) {
    await stop();
    throw err;
  }

  const masterPort = async (c: Redis) => {
    const addr = (await c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as [string, string] | null;
    return addr ? Number(addr[1]) : 0;
  };
  const byPort = (port: number) => {
    const s = servers.find((x) => x.port === port);
    if (!s) throw new Error(`sentinel names an unknown master port ${port}`);
    return s;
  };
  const sc = sentinels.map((s) => probe(s.port));

  return {
    name,
    sentinels,
    sentinelsEnv: sentinels.map((s) => `${s.host}:${s.port}`).join(','),
    servers,
    master: async () => byPort(await masterPort(sc[0]!)),
    client() {
      const c = new Redis({
        ...dataAccess,
        sentinels: [...sentinels],
        name,
        maxRetriesPerRequest: 2,
        enableTLSForSentinelMode: opts.tls !== undefined,
        ...(opts.tls ? { sentinelTLS: { ca: opts.tls.ca } } : {}),
        sentinelUsername: opts.sentinelUser?.username,
        sentinelPassword: opts.sentinelUser?.password,
      });
      c.on('error', () => {});
      clients.push(c);
      return c;
    },
    sentinelClient: (i = 0) => probe(sentinels[i]!.port),
    async failover() {
      const before = await masterPort(sc[0]!);
      const t0 = performance.now();
      await sc[0]!.call('SENTINEL', 'FAILOVER', name);
      let after = before;
      await waitFor(async () => {
        const ports = await Promise.all(sc.map((c) => masterPort(c).catch(() => 0)));
        if (!ports.every((p) => p !== before && p === ports[0])) return false;
        after = ports[0]!;
        const role = (await probe(after).call('ROLE').catch(() => [])) as unknown[];
        return role[0] === 'master';
      }, 'failover');
      return { master: byPort(after), ms: Math.round(performance.now() - t0) };
    },
    async waitForReplica(timeoutMs = 30_000) {
      await waitFor(async () => {
        const m = await byPort(await masterPort(sc[0]!));
        const info = await probe(m.port).info('replication');
        return /^role:master/m.test(info) && /^slave\d+:.*state=online/m.test(info);
      }, 'an online replica', timeoutMs);
    },
    stop,
  };
}

/** SENTINEL MASTER answers a flat [k, v, k, v, …] list. */
function fields(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(v)) return out;
  for (let i = 0; i + 1 < v.length; i += 2) out[String(v[i])] = String(v[i + 1]);
  return out;
}

const waitFor = (cond: () => Promise<boolean>, what: string, timeoutMs = 30_000) => eventually(cond, { timeoutMs, what });

async function stopProc(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
}
