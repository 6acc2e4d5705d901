/**
 * A Sentinel failover must not lose acknowledged writes (docs/design.md, invariant 12).
 * Sentinel promotes the replica (REPLICAOF NO ONE) about a second before it announces
 * the new master (+switch-master); the old master keeps accepting writes meanwhile and
 * throws them away when it rejoins as a replica. Measured under load, that window lost
 * rotations, logins and revocations the clients had been answered (a revoked session
 * served again; a rotated cookie unknown, then taken for a replay).
 *
 * So a client is fenced from the moment a Sentinel starts a failover of our master
 * (+try-failover, published before the replica is promoted) until it is connected to
 * the new master: store calls see the fence as a command that was not sent and wait
 * within REDIS_RETRY_BUDGET (src/store/retry.ts). On +switch-master the connection is
 * dropped and made again through the Sentinels (as ioredis' `failoverDetector` does),
 * until the server it reaches is the announced one: a Sentinel asked first may not have
 * switched yet. A client that starts during a failover learns of it
 * from the leader's SENTINEL MASTER (the failover flag; from every Sentinel, the address
 * of the newest configuration epoch) and from the leader's later steps; until every
 * Sentinel has answered or SETTLE_MAX_MS has passed, it is fenced.
 * An aborted failover lifts the fence; so does FENCE_MAX_MS, should an announcement be
 * missed. Left open: a write already in flight when the failover starts.
 */
import { isIP } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';
import type { HostPort } from './connection.js';

/** Longer than a Sentinel failover takes (1–2 s measured), short of an outage's worth. */
const FENCE_MAX_MS = 10_000;
/** How long a new client waits for the Sentinels to say whether a failover is running. */
const SETTLE_MAX_MS = 2000;

/** The message a fenced call fails with; retry.ts reads it as "not sent". */
export const FENCED = 'Sentinel failover in progress: command not sent';

const START = '+try-failover';
/** The leader's later steps: a client that subscribed mid-failover learns of it from these. */
const STEPS = ['+elected-leader', '+failover-state-select-slave', '+selected-slave', '+failover-state-send-slaveof-noone', '+failover-state-wait-promotion', '+promoted-slave', '+failover-state-reconf-slaves', '+failover-end'];
const SWITCH = '+switch-master';
const ABORTS = ['-failover-abort-not-elected', '-failover-abort-no-good-slave', '-failover-abort-slave-timeout', '+failover-end-for-timeout'];

export interface Fence {
  /** Whether calls must wait: a failover of our master is under way. */
  readonly closed: boolean;
}

const fences = new WeakMap<object, Fence>();

/** The fence of a client made by createRedisConnection (Sentinel mode only). */
export const fenceOf = (client: object): Fence | undefined => fences.get(client);

export interface FenceOptions {
  sentinels: HostPort[];
  name: string;
  /** How to reach the Sentinels (their credentials and TLS). */
  sentinelAccess: RedisOptions;
}

interface Addr {
  host: string;
  port: number;
}

// A Sentinel that announces host names is compared by port alone (the socket knows addresses).
const same = (a: Addr | undefined, b: Addr | undefined) =>
  !!a && !!b && a.port === b.port && (a.host === b.host || !isIP(a.host) || !isIP(b.host));
const backoff = (n: number) => Math.min(50 * 2 ** Math.min(n, 10), 1000);

/** Watches every Sentinel for failovers of `name` and fences `client` during each. */
export function fenceSentinelFailovers(client: Redis, o: FenceOptions): Fence {
  /** Sentinels running a failover of our master (each announces its own start and abort). */
  const running = new Set<number>();
  /** The newest master address a Sentinel gave, with its configuration epoch. */
  let newest: { addr: Addr; epoch: number } | undefined;
  /** Set while the client must reconnect to `newest` before it may be used. */
  let moving = false;
  let settled = false;
  let since = performance.now();
  /** Per Sentinel, bumped on each announcement: an older SENTINEL MASTER answer is stale. */
  const seen = o.sentinels.map(() => 0);

  const held = () => !settled || running.size > 0 || moving;
  const fence: Fence = {
    get closed() {
      if (!held()) return false;
      if (performance.now() - since <= FENCE_MAX_MS) return true;
      running.clear(); // an announcement was missed: stop holding calls
      moving = false;
      settled = true;
      return false;
    },
  };
  const hold = () => {
    if (!held()) since = performance.now();
  };
  const connected = (): Addr | undefined => {
    if (client.status !== 'ready') return undefined;
    const s = (client as unknown as { stream?: { remoteAddress?: string; remotePort?: number } }).stream;
    return s?.remotePort === undefined ? undefined : { host: (s.remoteAddress ?? '').replace(/^::ffff:/, ''), port: s.remotePort };
  };
  /** The master is (now) at `addr`, as of configuration `epoch`. */
  const masterAt = (addr: Addr, epoch: number) => {
    if (newest && (epoch < newest.epoch || same(addr, newest.addr))) return;
    newest = { addr, epoch };
    const at = connected();
    if (same(at, addr)) return;
    hold();
    moving = true;
    // Made again through the Sentinels (ioredis asks them for the master on every
    // connect); a connection still being made is judged when it is ready.
    if (at) client.disconnect(true);
  };
  const settle = () => {
    if (!settled) hold(); // keep `since` meaningful for what follows
    settled = true;
  };
  setTimeout(settle, SETTLE_MAX_MS).unref();
  /** Sentinels that answered SENTINEL MASTER (or could not) since the start. */
  const asked = new Set<number>();
  const answered = (i: number) => {
    asked.add(i);
    // Only the leader knows that a failover is running: every Sentinel has its say.
    if (asked.size === o.sentinels.length) settle();
  };

  /** SENTINEL MASTER from one Sentinel, on a connection of its own (the other one subscribes). */
  const inquire = async (i: number) => {
    const before = seen[i];
    const probe = new Redis({ ...o.sentinelAccess, ...o.sentinels[i]!, connectionName: 'sliding-sessions-fence', retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => {});
    try {
      const flat = (await probe.call('SENTINEL', 'MASTER', o.name)) as string[];
      if (seen[i] !== before) return;
      const f = new Map<string, string>();
      for (let k = 0; k + 1 < flat.length; k += 2) f.set(String(flat[k]), String(flat[k + 1]));
      if (/\bfailover_in_progress\b/.test(f.get('flags') ?? '')) {
        hold();
        running.add(i);
      }
      masterAt({ host: f.get('ip') ?? '', port: Number(f.get('port')) }, Number(f.get('config-epoch') ?? 0));
    } catch {
      // That Sentinel cannot say (down, or its ACL refuses SENTINEL MASTER): the others may.
    } finally {
      probe.disconnect();
      answered(i);
    }
  };

  const subscribers = o.sentinels.map((addr, i) => {
    const sub = new Redis({ ...o.sentinelAccess, host: addr.host, port: addr.port, connectionName: 'sliding-sessions-fence', retryStrategy: backoff });
    sub.on('error', () => {});
    // After each (re)subscription: what happened while this Sentinel was not heard.
    sub.on('ready', () => {
      sub.subscribe(START, ...STEPS, SWITCH, ...ABORTS).then(() => inquire(i), () => {});
    });
    sub.on('message', (channel: string, message: string) => {
      const words = message.split(' ');
      if (channel === SWITCH) {
        // "<name> <old ip> <old port> <new ip> <new port>", from each Sentinel as it switches.
        if (words[0] !== o.name) return;
        seen[i]!++;
        running.clear();
        // The epoch is not in the message; an announcement is newer than any answer so far.
        masterAt({ host: words[3] ?? '', port: Number(words[4]) }, (newest?.epoch ?? 0) + 1);
        return;
      }
      // "master <name> <ip> <port> …", or of a replica "slave <addr> <ip> <port> @ <name> …"
      const at = words.indexOf('@');
      if ((at < 0 ? words[1] : words[at + 1]) !== o.name) return;
      seen[i]!++;
      if (channel === START || STEPS.includes(channel)) {
        hold();
        running.add(i);
      } else {
        running.delete(i);
      }
    });
    return sub;
  });

  // A Sentinel that is down answers at once (refused) and counts as asked.
  for (let i = 0; i < o.sentinels.length; i++) void inquire(i);

  client.on('ready', () => {
    if (!moving || !newest) return;
    const at = connected();
    // A socket that cannot say where it is connected is taken at ioredis' word.
    if (!at || same(at, newest.addr)) moving = false;
    else client.disconnect(true); // a Sentinel that had not switched yet named the old master
  });
  client.on('end', () => {
    for (const sub of subscribers) sub.disconnect();
  });
  fences.set(client, fence);
  return fence;
}
