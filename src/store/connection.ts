/**
 * The one place Redis connections are configured (docs/design.md, invariant 4: "nothing is lost
 * silently"). ioredis defaults queue commands while disconnected and retry each one 20
 * times with no command timeout, so a Redis outage hangs requests for about a minute.
 * Here instead:
 * - `enableOfflineQueue: false`: while the connection is down (including before the
 *   first connect) a command fails at once; the request gets 503 and nothing is queued,
 *   so nothing runs late against a session the user was told is gone.
 * - `commandTimeout`: a stalled server (CLIENT PAUSE, DEBUG SLEEP, blackholed link)
 *   fails the command after 500 ms; `socketTimeout` then drops a link that stays
 *   silent, so a blackhole is caught by us, not by the OS retransmit limits.
 * - `maxRetriesPerRequest: 0`, no resend of unanswered commands: a command in flight
 *   when the link drops fails instead of being replayed after reconnect. Whether it may
 *   be sent again, and for how long, is the store's decision (src/store/retry.ts:
 *   REDIS_RETRY_BUDGET), which knows which calls do the same when sent twice.
 * - reconnect forever with a backoff capped at 1 s, so the server recovers by itself;
 *   `READONLY` (a demoted master after a Sentinel failover) forces a reconnect to the
 *   new master.
 * The store accepts `Redis | Cluster`: the scripts touch one hash slot each.
 */
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config.js';
import { AppError, StoreFullError, StoreUnavailableError } from '../errors.js';
import { fenceSentinelFailovers } from './sentinel-fence.js';

export type RedisClient = Redis | Cluster;

export interface HostPort {
  host: string;
  port: number;
}

/** TLS is always verified: against `ca` when given, else the system's CAs. */
export interface TlsSettings {
  /** PEM CA bundle. */
  ca?: string;
  /** The name a certificate must carry when it is not the address connected to. */
  servername?: string;
}

export interface ConnectionOptions {
  /** redis:// or rediss:// (credentials and db in the URL). */
  url?: string;
  sentinels?: HostPort[];
  sentinelName?: string;
  /** Cluster seed nodes. */
  clusterNodes?: HostPort[];
  /** ACL user and password of the data nodes, in every mode (a URL may carry its own). */
  username?: string;
  password?: string;
  /** TLS to the data nodes (a rediss:// URL turns it on by itself). */
  tls?: TlsSettings;
  /** The Sentinels' own credentials and TLS. */
  sentinelUsername?: string;
  sentinelPassword?: string;
  sentinelTls?: TlsSettings;
  /** Default 500 ms. */
  commandTimeoutMs?: number;
  /** Connection-level errors (for the log; commands fail on their own). */
  onError?: (err: Error) => void;
  /** Shown in CLIENT LIST. */
  connectionName?: string;
  /** Key prefixes are applied by src/store/keys.ts, never by ioredis. */
  keyPrefix?: never;
}

const BACKOFF_CAP_MS = 1000;
const backoff = (attempt: number): number => Math.min(50 * 2 ** Math.min(attempt, 10), BACKOFF_CAP_MS);

const reconnectOnError = (err: Error): boolean => err.message.startsWith('READONLY');

/** The connection settings of a loaded configuration, shared by the server and the CLI. */
export const connectionOptionsFromConfig = (c: Config): ConnectionOptions => ({
  url: c.redisUrl,
  sentinels: c.redisSentinels,
  sentinelName: c.redisSentinelName,
  clusterNodes: c.redisClusterNodes,
  username: c.redisUsername,
  password: c.redisPassword,
  tls: c.redisTls,
  sentinelUsername: c.redisSentinelUsername,
  sentinelPassword: c.redisSentinelPassword,
  sentinelTls: c.redisSentinelTls,
  commandTimeoutMs: c.redisCommandTimeoutMs,
});

/** Only what is set: an explicit `undefined` would override what a URL carries. */
function accessOptions(o: ConnectionOptions): RedisOptions {
  return {
    ...(o.username !== undefined ? { username: o.username } : {}),
    ...(o.password !== undefined ? { password: o.password } : {}),
    ...(o.tls ? { tls: { ...o.tls } } : {}),
  };
}

function commonOptions(o: ConnectionOptions): RedisOptions {
  const commandTimeout = o.commandTimeoutMs ?? 500;
  return {
    ...accessOptions(o),
    commandTimeout,
    socketTimeout: Math.max(2000, 5 * commandTimeout),
    connectTimeout: Math.max(2000, 4 * commandTimeout),
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    enableOfflineQueue: false,
    retryStrategy: backoff,
    reconnectOnError,
    connectionName: o.connectionName ?? 'sliding-sessions',
    // RESP2: ioredis 6 defaults to RESP3, whose decoder cost ~9 % more app CPU per
    // request in the benchmark (README "Performance"); replies keep the same shapes.
    protocol: 2,
  };
}

/**
 * Creates the client for one deployment shape: Cluster (seed nodes), Sentinel, or
 * standalone (URL). It connects in the background and keeps reconnecting; commands
 * issued while it is down fail fast (see above).
 */
export function createRedisConnection(o: ConnectionOptions): RedisClient {
  const common = commonOptions(o);
  let client: RedisClient;
  if (o.clusterNodes?.length) {
    const { retryStrategy: _r, enableOfflineQueue: _q, ...redisOptions } = common;
    // ioredis' advice is retryDelayOnFailover × maxRedirections > cluster-node-timeout,
    // so that a command rides out a master failover. Here one try waits for a closed
    // node, TRYAGAIN or CLUSTERDOWN at most about one command timeout (6 × timeout/5),
    // and each retry refreshes the slot map so the first request after the election
    // reaches the new master; the store then tries again within REDIS_RETRY_BUDGET
    // (src/store/retry.ts), which also bounds the whole wait and stops it once Redis
    // looks down rather than moving. MOVED/ASK retry at once and need one or two of the
    // 6 redirections during a reshard. ioredis resends a command whose node connection
    // closed under it (after retryDelayOnFailover): the store's calls are written to
    // survive that (a login meets its own record; see redis-store.ts).
    const retryDelay = Math.max(20, Math.round((o.commandTimeoutMs ?? 500) / 5));
    const opts: ClusterOptions = {
      redisOptions,
      enableOfflineQueue: false,
      clusterRetryStrategy: backoff,
      scaleReads: 'master',
      retryDelayOnFailover: retryDelay,
      retryDelayOnTryAgain: retryDelay,
      retryDelayOnClusterDown: retryDelay,
      maxRedirections: 6,
      // ioredis resolves seed names to addresses first, and a certificate names the
      // host, not its address: with TLS the name is kept so it can be verified.
      ...(o.tls ? { dnsLookup: (address: string, done: (err: null, address: string) => void) => done(null, address) } : {}),
    };
    client = new Cluster(o.clusterNodes, opts);
  } else if (o.sentinels?.length) {
    if (!o.sentinelName) throw new Error('createRedisConnection: sentinelName is required with sentinels');
    const sentinelAccess: RedisOptions = {
      ...(o.sentinelTls ? { tls: { ...o.sentinelTls } } : {}),
      ...(o.sentinelUsername !== undefined ? { username: o.sentinelUsername } : {}),
      ...(o.sentinelPassword !== undefined ? { password: o.sentinelPassword } : {}),
    };
    const sentinelClient = new Redis({
      ...common,
      sentinels: o.sentinels,
      name: o.sentinelName,
      sentinelRetryStrategy: backoff,
      // `tls` (in common) is for the master; the Sentinels have their own TLS and user.
      enableTLSForSentinelMode: o.tls !== undefined,
      ...(o.sentinelTls ? { sentinelTLS: { ...o.sentinelTls } } : {}),
      ...(o.sentinelUsername !== undefined ? { sentinelUsername: o.sentinelUsername } : {}),
      ...(o.sentinelPassword !== undefined ? { sentinelPassword: o.sentinelPassword } : {}),
      // Kept beside the fence below for the connections duplicated from this one (the
      // session cache's invalidation link): they too must leave the old master at once.
      failoverDetector: true,
    });
    // The connection follows the master through a failover, and is held while one runs
    // (src/store/sentinel-fence.ts). Without a detector the client would stay on the old
    // master, which keeps accepting reads and writes until Sentinel demotes it (~10 s
    // later, measured): writes there are lost and reads there miss revocations made on
    // the new master by other nodes.
    fenceSentinelFailovers(sentinelClient, { sentinels: o.sentinels, name: o.sentinelName, sentinelAccess });
    client = sentinelClient;
  } else {
    client = o.url ? new Redis(o.url, common) : new Redis(common);
  }
  // Errors surface per command as StoreUnavailableError; the connection-level event
  // would otherwise crash the process as an unhandled 'error'.
  client.on('error', o.onError ?? (() => {}));
  return client;
}

const AUTH_REFUSED = /\b(WRONGPASS|NOAUTH)\b/;
// Node's codes for a certificate that does not verify or does not name the host.
const CERT_REFUSED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** A Cluster reports "Failed to refresh slots cache"; the node's own error says why. */
const causes = (err: Error): Error[] => {
  const node = (err as { lastNodeError?: unknown }).lastNodeError;
  return node instanceof Error ? [err, node] : [err];
};

/**
 * A connection error retrying cannot cure: the server refused the credentials, or its
 * certificate does not verify. A start-up check fails at once on it instead of waiting.
 */
export const isAccessError = (err: Error): boolean =>
  causes(err).some((e) => AUTH_REFUSED.test(e.message) || CERT_REFUSED.has(String((e as NodeJS.ErrnoException).code)));

/**
 * A connection error for an operator: the message, and a Cluster node's underlying
 * error. ioredis' messages carry no credentials (they are not part of any address).
 */
export const describeConnectError = (err: Error): string =>
  causes(err)
    .map((e) => e.message)
    .join(': ');

/**
 * Every failure of a store call (connection refused or closed, timeout, READONLY,
 * LOADING, CLUSTERDOWN, a script error…) becomes the one typed 503; an AppError thrown
 * on purpose passes through. A write refused because Redis is at maxmemory (`OOM …`,
 * from the command, from inside a script or queued in a MULTI) is StoreFullError,
 * still a 503.
 */
export function toStoreError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return isOom(err) ? new StoreFullError(err) : new StoreUnavailableError(err);
}

// A MULTI whose queued command was refused fails as EXECABORT, the refusal inside.
const isOom = (err: unknown): boolean =>
  err instanceof Error &&
  (err.message.startsWith('OOM ') || ((err as { previousErrors?: unknown[] }).previousErrors ?? []).some(isOom));

/** Runs a store call, mapping any failure with toStoreError. */
export async function guard<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw toStoreError(err);
  }
}

/**
 * Resolves once the client is ready. Without an offline queue a command sent before
 * the first connect fails, so a CLI or a start-up check waits here first (a server may
 * also skip it and answer 503 until Redis is reachable). Rejects with
 * StoreUnavailableError after `timeoutMs`; the client keeps reconnecting regardless.
 */
export function waitForReady(client: RedisClient, timeoutMs = 5000): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: unknown) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('end', onEnd);
      if (err) reject(toStoreError(err));
      else resolve();
    };
    const onReady = () => done();
    const onEnd = () => done(new Error('connection closed'));
    const timer = setTimeout(() => done(new Error(`not ready after ${timeoutMs} ms`)), timeoutMs);
    client.on('ready', onReady);
    client.on('end', onEnd);
  });
}

/** createRedisConnection + waitForReady. */
export async function connectRedis(o: ConnectionOptions, timeoutMs = 5000): Promise<RedisClient> {
  const client = createRedisConnection(o);
  try {
    await waitForReady(client, timeoutMs);
  } catch (err) {
    client.disconnect();
    throw err;
  }
  return client;
}
