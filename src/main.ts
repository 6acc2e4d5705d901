/**
 * The standalone server: load config → open the stores → create the app → listen.
 * SIGTERM/SIGINT drain and close (docs/deployment.md, "HAProxy, sticky sessions and
 * rolling restarts" ends with the shutdown); exit 0. An invalid configuration, an
 * unreachable Redis or an evicting Redis stops the start with exit 1 and one line
 * saying why.
 */
import { randomBytes } from 'node:crypto';
import { createApp } from './app.js';
import { RedisAuditLog } from './store/redis-audit.js';
import type { AuditLog } from './audit/types.js';
import { type Config, ConfigError, loadConfig, policyFromConfig, usesRedis } from './config.js';
import { listen } from './http/server.js';
import { type Logger, createLogger } from './log.js';
import type { SessionStore } from './sessions/types.js';
import { CachedStore } from './store/cached-store.js';
import { type RedisClient, connectionOptionsFromConfig, createRedisConnection } from './store/connection.js';
import { sharedFormKey } from './store/form-key.js';
import { keySpace } from './store/keys.js';
import { type OidcClient, OidcDiscoveryError, discoverOidc } from './oidc/client.js';
import { oidcStores } from './oidc/setup.js';
import { MemoryStore } from './store/memory-store.js';
import { checkRedis, UnsafeRedisError, waitReady } from './store/checks.js';
import { redisSessionStore } from './store/stack.js';
import { MemoryThrottle } from './throttle/memory-throttle.js';
import { RedisThrottle } from './throttle/redis-throttle.js';
import { type LoginThrottle, limitsFromConfig } from './throttle/types.js';
import { MemoryUserStore } from './users/memory-user-store.js';
import type { PasswordHasher } from './users/password.js';
import { RedisUserStore } from './users/redis-user-store.js';
import type { UserStore } from './users/types.js';

class StartupError extends Error {}

interface Stores {
  store: SessionStore;
  users: UserStore;
  throttle: LoginThrottle;
  audit?: AuditLog;
  embedded: boolean;
  /** The form CSRF master shared through Redis (FORM_CSRF_KEY unset). */
  formCsrfKey?: Buffer;
  /** The connection the stores share (unset: embedded). */
  redis?: RedisClient;
}

async function openStores(config: Config, log: Logger): Promise<Stores> {
  const policy = policyFromConfig(config);
  const limits = limitsFromConfig(config);
  if (!usesRedis(config)) {
    return {
      store: new MemoryStore({ policy }),
      users: new MemoryUserStore(),
      throttle: new MemoryThrottle(limits),
      embedded: true,
    };
  }
  const connect = (connectionName?: string) =>
    createRedisConnection({
      ...connectionOptionsFromConfig(config),
      connectionName,
      onError: (err) => log.warn({ event: 'redis.error', err: err.message }, 'redis connection error'),
    });
  const client = connect();
  const keys = keySpace(config.keyPrefix);
  let formCsrfKey: Buffer | undefined;
  // REDIS_WAIT_REPLICAS: confirmed writes get their own connection (WAIT blocks it).
  const writes = config.redisWaitReplicas > 0 ? connect('sliding-sessions-writes') : undefined;
  try {
    await waitReady(client, 10_000);
    if (writes) await waitReady(writes, 10_000);
    await checkRedis(client, { allowEviction: config.redisAllowEviction, log });
    // Read once at start, like the rest of the setup: a node that cannot get it does
    // not start rather than sign forms the other nodes would refuse.
    if (config.formCsrfKey === undefined) {
      formCsrfKey = await sharedFormKey(client, keys).catch((err: unknown) => {
        throw new StartupError(`cannot read the form CSRF key from Redis (${(err as Error).message})`);
      });
    }
  } catch (err) {
    client.disconnect();
    writes?.disconnect();
    throw err;
  }
  const base = redisSessionStore({ client, writes, keys, config });
  let store: SessionStore = base;
  if (config.sessionCache) {
    try {
      store = new CachedStore({
        inner: base,
        onLinkChange: (up, reason) => log.info({ event: 'cache.link', up, reason }, 'session cache invalidation link'),
      });
    } catch (err) {
      client.disconnect();
      writes?.disconnect();
      throw new ConfigError('SESSION_CACHE', (err as Error).message);
    }
  }
  return {
    store,
    users: new RedisUserStore(client, { keyPrefix: config.keyPrefix, retryBudgetMs: config.redisRetryBudgetMs }),
    throttle: new RedisThrottle(client, limits, { keyPrefix: config.keyPrefix, retryBudgetMs: config.redisRetryBudgetMs }),
    // A failed append rejects; the app logs and counts it (createApp).
    audit: new RedisAuditLog(client, { keys }),
    embedded: false,
    formCsrfKey,
    redis: client,
  };
}

/** Embedded store, no users: a `demo` account with a random password, printed once. */
async function createDemoUser(users: UserStore, hasher: PasswordHasher): Promise<void> {
  if ((await users.count()) > 0) return;
  const password = randomBytes(15).toString('base64url');
  await users.create('demo', await hasher.hash(password));
  console.log(`Demo account (embedded store): user name "demo", password "${password}"`);
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`Configuration error: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  const log = createLogger({ level: config.logLevel });
  for (const w of config.warnings) log.warn({ event: 'config.warning' }, w);

  // OpenID Connect: the provider is discovered before anything else opens, so a wrong
  // or unreachable issuer stops the start at once.
  let oidcClient: OidcClient | undefined;
  if (config.oidc) {
    try {
      oidcClient = await discoverOidc(config.oidc);
    } catch (err) {
      if (!(err instanceof OidcDiscoveryError)) throw err;
      console.error(`Cannot start: ${err.message}`);
      process.exit(1);
    }
  }

  let stores: Stores;
  try {
    stores = await openStores(config, log);
  } catch (err) {
    if (err instanceof StartupError || err instanceof ConfigError || err instanceof UnsafeRedisError) {
      console.error(`Cannot start: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  if (stores.embedded) {
    console.log('Using the embedded store (REDIS_URL is unset): sessions live in this process and end with it.');
    if (config.sessionCache) log.warn({ event: 'config.warning' }, 'SESSION_CACHE has no effect on the embedded store');
  }

  const { redis, ...appStores } = stores;
  const oidc = oidcClient && { client: oidcClient, ...oidcStores(redis, config.keyPrefix) };
  const handle = createApp({ config, log, ...appStores, oidc });
  await handle.hasher.warmUp();
  if (stores.embedded) await createDemoUser(handle.users, handle.hasher);

  const running = await listen(handle.app, {
    port: config.port,
    host: config.host,
    lifecycle: handle.lifecycle,
    drainMs: config.shutdownDrainMs,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    log,
    onClosed: () => handle.store.close(),
  });
  log.info({ event: 'server.listening', url: running.url, port: running.port, store: stores.embedded ? 'embedded' : 'redis' }, `listening on ${running.url}`);

  const stop = (signal: string) => {
    log.info({ event: 'server.signal', signal }, `${signal}: shutting down`);
    running.shutdown().then(
      () => log.flush(() => process.exit(0)),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        log.flush(() => process.exit(1));
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error('Cannot start:', err);
  process.exit(1);
});
