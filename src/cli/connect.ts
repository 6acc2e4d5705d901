/**
 * Builds a command's context from the config: one connection made by the same factory
 * the server uses (createRedisConnection), the same RedisStore, RedisUserStore, password
 * hasher and key layout, so the CLI cannot drift from the server's rules. Waits for the
 * connection to be ready (the client has no offline queue) and closes everything after.
 */
import { RedisAuditLog } from '../store/redis-audit.js';
import type { Config } from '../config.js';
import { SessionService } from '../sessions/service.js';
import { connectionOptionsFromConfig, createRedisConnection, waitForReady } from '../store/connection.js';
import { keySpace } from '../store/keys.js';
import { redisSessionStore } from '../store/stack.js';
import { RedisThrottle } from '../throttle/redis-throttle.js';
import { limitsFromConfig } from '../throttle/types.js';
import { PasswordHasher } from '../users/password.js';
import { RedisUserStore } from '../users/redis-user-store.js';
import { RedisUserTags } from '../users/user-tags.js';
import { CliError } from './errors.js';
import { readSessionBatch } from './records.js';
import type { RedisClient } from './scan.js';
import type { CliContext, Io } from './types.js';

/**
 * The server's command timeout guards request latency; an admin SCAN page or a
 * thousand-command pipeline on a busy Redis deserves longer.
 */
const CLI_COMMAND_TIMEOUT_MS = 5000;
const CONNECT_TIMEOUT_MS = 5000;
const CONNECT_ATTEMPTS = 3;
/** XREAD BLOCK time of `events --follow`; its connection's timeout must exceed it. */
const FOLLOW_BLOCK_MS = 5000;

export async function connect(
  config: Readonly<Config>,
  io: Io,
  interrupted: AbortSignal,
): Promise<CliContext & { close(): Promise<void> }> {
  // The server's settings (credentials and TLS included), its own name and timeouts.
  const connectionOptions = { ...connectionOptionsFromConfig(config), connectionName: 'sliding-sessions-admin' };
  const open: RedisClient[] = [];
  let lastError: Error | undefined;
  const connection = (commandTimeoutMs: number) => {
    const client = createRedisConnection({
      ...connectionOptions,
      commandTimeoutMs,
      onError: (err) => { lastError = err; },
    });
    open.push(client);
    return client;
  };
  const close = () => Promise.all(open.map(quit)).then(() => {});

  /**
   * A ready connection (commands fail at once until then: no offline queue). Gives up
   * after a few refused attempts rather than the full timeout: an operator would
   * rather hear "refused" now than wait.
   */
  const readyConnection = async (commandTimeoutMs: number) => {
    const client = connection(commandTimeoutMs);
    let failures = 0;
    let onError: () => void = () => {};
    const refused = new Promise<never>((_, reject) => {
      onError = () => {
        if (++failures === CONNECT_ATTEMPTS) reject(new Error('refused'));
      };
      client.on('error', onError);
    });
    try {
      await Promise.race([waitForReady(client, CONNECT_TIMEOUT_MS), refused]);
    } catch {
      await close();
      const why = lastError ? ` (${lastError.message})` : '';
      throw new CliError(`cannot connect to Redis${why}`);
    } finally {
      client.off('error', onError);
    }
    return client;
  };

  const redis = await readyConnection(Math.max(config.redisCommandTimeoutMs, CLI_COMMAND_TIMEOUT_MS));
  const keys = keySpace(config.keyPrefix);
  const hasher = new PasswordHasher({ concurrency: 1, queueLimit: 1 });
  const audit = new RedisAuditLog(redis, {
    keys,
    onError: (err) => io.stderr.write(`admin: warning: the audit event was not recorded (${String(err)})\n`),
  });
  return {
    io,
    redis,
    keys,
    sessions: new SessionService({ store: redisSessionStore({ client: redis, keys, config, ownsClient: false }), audit }),
    users: new RedisUserStore(redis, { keyPrefix: config.keyPrefix, retryBudgetMs: config.redisRetryBudgetMs }),
    appUsers: new RedisUserTags(redis, keys, config.redisRetryBudgetMs),
    throttle: new RedisThrottle(redis, limitsFromConfig(config), { keyPrefix: config.keyPrefix, retryBudgetMs: config.redisRetryBudgetMs }),
    audit,
    refreshEnabled: config.refreshEnabled,
    passwordMinLength: config.passwordMinLength,
    hashPassword: (password) => hasher.hash(password),
    readSessions: (batch) => readSessionBatch(redis, config.keyPrefix, batch),
    blockingConnection: () => readyConnection(FOLLOW_BLOCK_MS + CLI_COMMAND_TIMEOUT_MS),
    interrupted,
    close,
  };
}

/** QUIT when connected (replies flushed), else just drop the socket. */
async function quit(client: RedisClient): Promise<void> {
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}
