/**
 * The real app on a free loopback port, for every HTTP-level test (API, pages, CLI,
 * performance, reliability). Without `redis` it runs on the embedded stores
 * (MemoryStore, MemoryUserStore, MemoryThrottle); with a RedisProcess it runs on
 * RedisStore, RedisUserStore and RedisThrottle under a fresh key prefix, through the
 * production connection factory. Logs are captured (and never printed), so tests can
 * assert on events and grep them for secrets.
 *
 *   const srv = await startServer({ redis, clock, env: { SESSION_IDLE_TIMEOUT: '2s' } });
 *   await srv.addUser('alice', 'correct horse battery staple');
 *   const res = await fetch(`${srv.url}/api/me`, { headers: { cookie } });
 *   await srv.close();
 */
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import type { AuditLog } from '../../src/audit/types.js';
import { type AppHandle, createApp } from '../../src/app.js';
import type { Clock } from '../../src/clock.js';
import { type Env, loadConfig, policyFromConfig } from '../../src/config.js';
import { type RunningServer, listen } from '../../src/http/server.js';
import { createLogger } from '../../src/log.js';
import type { SessionStore } from '../../src/sessions/types.js';
import { type ConnectionOptions, type RedisClient, createRedisConnection } from '../../src/store/connection.js';
import { keySpace } from '../../src/store/keys.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { MemoryThrottle } from '../../src/throttle/memory-throttle.js';
import { RedisThrottle } from '../../src/throttle/redis-throttle.js';
import { type LoginThrottle, limitsFromConfig } from '../../src/throttle/types.js';
import { MemoryUserStore } from '../../src/users/memory-user-store.js';
import { RedisUserStore } from '../../src/users/redis-user-store.js';
import type { User, UserStore } from '../../src/users/types.js';
import { setupOidc } from '../../src/oidc/setup.js';
import type { RedisProcess } from './redis-server.js';

export interface TestServerOptions {
  /**
   * A private redis-server (test/helpers/redis-server.ts), or the connection of a
   * Sentinel / Cluster deployment (test/helpers/redis-sentinel.ts, redis-cluster.ts);
   * unset = embedded stores.
   */
  redis?: RedisProcess | RedisTarget;
  /** Configuration variables (docs/configuration.md) on top of the test defaults. */
  env?: Env;
  /** Drives every expiry decision (ManualClock); the Redis store passes it in ARGV. */
  clock?: Clock;
  audit?: AuditLog;
  /** Redis key prefix; default a fresh one per server, so servers never share keys. */
  keyPrefix?: string;
  /** Replace the session store (e.g. a wrapper); gets the default one. */
  wrapStore?: (store: SessionStore) => SessionStore;
  /**
   * Serve over HTTPS with this key and certificate (test/helpers/tls-cert.ts): `url` is
   * then https://127.0.0.1:<port>. The TLS listener hands its sockets to the app's own
   * HTTP server (as node:https does), so the app sees encrypted sockets and every limit,
   * drain and shutdown behaviour of listen() applies unchanged.
   */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

/** Sentinel or Cluster: the production connection factory's options. */
export interface RedisTarget {
  connection: Pick<ConnectionOptions, 'url' | 'sentinels' | 'sentinelName' | 'clusterNodes'>;
}

export interface LogCapture {
  /** Every log line so far, parsed. */
  lines(): Record<string, unknown>[];
  /** Everything logged so far, raw. */
  text(): string;
  /** Lines whose `event` is `name`. */
  events(name: string): Record<string, unknown>[];
}

export interface TestServer extends AppHandle {
  url: string;
  port: number;
  logs: LogCapture;
  /** The Redis connection the stores use (undefined on the embedded stores). */
  redisClient?: RedisClient;
  keyPrefix: string;
  /** Creates a user with an argon2id hash through the app's own hasher. */
  addUser(username: string, password: string): Promise<User>;
  /** The graceful shutdown path of main (drain → close → stores closed). */
  shutdown(): Promise<void>;
  /** Immediate stop for test teardown. */
  close(): Promise<void>;
  running: RunningServer;
}

/**
 * Test defaults: everything logged (and captured), no drain wait, and a 2 s Redis
 * command timeout so functional tests do not flake into 503s on a loaded machine; tests
 * about timeouts pin REDIS_COMMAND_TIMEOUT themselves.
 */
const TEST_ENV: Env = { LOG_LEVEL: 'debug', SHUTDOWN_DRAIN: '0', PORT: '0', REDIS_COMMAND_TIMEOUT: '2s' };

let servers = 0;

export async function startServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const config = loadConfig({ ...TEST_ENV, ...opts.env });
  const keyPrefix = opts.keyPrefix ?? `t${process.pid}-${++servers}:`;
  const logText: string[] = [];
  const log = createLogger({
    level: config.logLevel,
    destination: new Writable({
      write(chunk, _enc, cb) {
        logText.push(String(chunk));
        cb();
      },
    }),
  });
  const policy = policyFromConfig(config);
  const limits = limitsFromConfig(config);

  let store: SessionStore;
  let users: UserStore;
  let throttle: LoginThrottle;
  let redisClient: RedisClient | undefined;
  if (opts.redis) {
    const target = 'connection' in opts.redis ? opts.redis.connection : { url: opts.redis.url };
    redisClient = createRedisConnection({ ...target, commandTimeoutMs: config.redisCommandTimeoutMs });
    await waitReady(redisClient);
    const retryBudgetMs = config.redisRetryBudgetMs;
    store = new RedisStore({ client: redisClient, policy, clock: opts.clock, keys: keySpace(keyPrefix), ownsClient: true, retryBudgetMs });
    users = new RedisUserStore(redisClient, { keyPrefix, retryBudgetMs });
    throttle = new RedisThrottle(redisClient, limits, { keyPrefix, retryBudgetMs });
  } else {
    store = new MemoryStore({ policy, clock: opts.clock, sweepIntervalMs: 0 });
    users = new MemoryUserStore();
    throttle = new MemoryThrottle(limits, opts.clock);
  }
  if (opts.wrapStore) store = opts.wrapStore(store);

  // OpenID Connect on when configured (OIDC_ISSUER …), discovered as main.ts does.
  const oidc = config.oidc ? await setupOidc(config.oidc, redisClient, keyPrefix) : undefined;
  const handle = createApp({ config, store, users, throttle, log, audit: opts.audit, oidc });
  let running = await listen(handle.app, {
    port: config.port,
    host: '127.0.0.1',
    lifecycle: handle.lifecycle,
    drainMs: config.shutdownDrainMs,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    log,
    onClosed: () => handle.store.close(),
  });
  if (opts.tls) running = await serveTls(running, opts.tls);

  const parsed = () =>
    logText
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  let closed = false;
  return {
    ...handle,
    url: running.url,
    port: running.port,
    running,
    keyPrefix,
    redisClient,
    logs: {
      lines: parsed,
      text: () => logText.join(''),
      events: (name) => parsed().filter((l) => l.event === name),
    },
    addUser: async (username, password) => handle.users.create(username, await handle.hasher.hash(password)),
    shutdown: running.shutdown,
    async close() {
      if (closed) return;
      closed = true;
      running.server.closeAllConnections();
      await new Promise<void>((r) => running.server.close(() => r()));
      await handle.store.close();
    },
  };
}

/**
 * A TLS listener on another free loopback port whose decrypted sockets the app's HTTP
 * server serves, as node:https does (the plain port stays open, unused). Closing the
 * HTTP server (listen()'s shutdown after the drain, or close()) closes the TLS listener
 * too and completes once its connections are gone, so in-flight requests are waited for
 * exactly as on plain HTTP.
 */
async function serveTls(running: RunningServer, tls: { key: string | Buffer; cert: string | Buffer }): Promise<RunningServer> {
  const { server } = running;
  const tlsServer = createTlsServer({ key: tls.key, cert: tls.cert, ALPNProtocols: ['http/1.1'] }, (socket) => {
    server.emit('connection', socket);
  });
  // A client that gives up mid-handshake is no test failure.
  tlsServer.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    tlsServer.once('error', reject);
    tlsServer.listen(0, '127.0.0.1', () => {
      tlsServer.off('error', reject);
      resolve();
    });
  });
  const { port } = tlsServer.address() as AddressInfo;
  const closeHttp = server.close.bind(server);
  let tlsClosed: Promise<void> | undefined;
  server.close = ((cb?: (err?: Error) => void) => {
    closeHttp(() => {
      tlsClosed ??= new Promise<void>((r) => tlsServer.close(() => r()));
      void tlsClosed.then(() => cb?.());
    });
    return server;
  }) as typeof server.close;
  return { ...running, port, url: `https://127.0.0.1:${port}` };
}

function waitReady(client: RedisClient): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('redis not ready after 5 s')), 5000);
    client.once('ready', () => {
      clearTimeout(t);
      resolve();
    });
  });
}
