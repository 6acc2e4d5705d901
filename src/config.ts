/**
 * Configuration (docs/configuration.md): the only module that reads the environment, and only
 * through `loadConfig(env)`, which is pure but for reading the CA bundle REDIS_TLS_CA_FILE
 * names (so an unreadable one is a configuration error at start). One schema holds each variable's parser,
 * default and doc; the README table is written from it. Invalid values throw a
 * ConfigError naming the variable, and main exits 1 with that message.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { SessionPolicy } from './sessions/types.js';
import { type OidcConfig, oidcConfig } from './oidc/config.js';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

export interface HostPort {
  host: string;
  port: number;
}

/** TLS to Redis: always verified, against `ca` (else the system's CAs). */
export interface RedisTls {
  /** PEM bundle read from REDIS_TLS_CA_FILE. */
  ca?: string;
  /** The name certificates must carry when it is not the address connected to. */
  servername?: string;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  port: number;
  host: string;
  production: boolean;
  redisUrl: string | undefined;
  redisSentinels: HostPort[] | undefined;
  redisSentinelName: string | undefined;
  redisClusterNodes: HostPort[] | undefined;
  /** ACL user of the data nodes in every mode (REDIS_URL may carry its own instead). */
  redisUsername: string | undefined;
  /** A secret: never logged, never in an error. */
  redisPassword: string | undefined;
  /** TLS to the data nodes; undefined = plain TCP. */
  redisTls: RedisTls | undefined;
  redisSentinelUsername: string | undefined;
  /** A secret: never logged, never in an error. */
  redisSentinelPassword: string | undefined;
  /** TLS to the Sentinels; undefined = plain TCP. */
  redisSentinelTls: RedisTls | undefined;
  redisCommandTimeoutMs: number;
  redisAllowEviction: boolean;
  /** WAIT for this many replicas after session-creating, rotating and revoking writes; 0 = off. */
  redisWaitReplicas: number;
  redisWaitTimeoutMs: number;
  redisRetryBudgetMs: number;
  keyPrefix: string;
  idleTimeoutMs: number;
  absoluteLifetimeMs: number;
  rotationGraceMs: number;
  touchIntervalMs: number;
  maxPerUser: number;
  sessionCache: boolean;
  cookieSecure: boolean;
  trustProxy: number;
  publicOrigin: string | undefined;
  /** HMAC key of the pages' form CSRF tokens; unset = random per process. A secret. */
  formCsrfKey: string | undefined;
  refreshEnabled: boolean;
  /** SESSION_REAUTH_WINDOW: how recent a password proof must be to end other sessions; 0 = off. */
  reauthWindowMs: number;
  /**
   * SESSION_DEVICE_BINDING as it takes effect: on only with Secure cookies (DBSC works
   * over HTTPS only), so a plain-HTTP deployment never offers nor enforces it.
   */
  deviceBinding: boolean;
  /** SESSION_BOUND_COOKIE_LIFETIME: a bound session must prove its key this often (ms, not sliding). */
  boundCookieLifetimeMs: number;
  passwordMinLength: number;
  passwordHashConcurrency: number;
  passwordHashQueue: number;
  loginMaxFailuresPerUserIp: number;
  loginMaxFailuresPerIp: number;
  loginThrottleWindowMs: number;
  loginMaxFailuresPerAccount: number;
  loginAccountDelayMaxMs: number;
  loginDeviceLifetimeMs: number;
  shutdownDrainMs: number;
  shutdownTimeoutMs: number;
  logLevel: LogLevel;
  /** OpenID Connect sign-in (src/oidc/config.ts); undefined = off. */
  oidc: OidcConfig | undefined;
  /** Not errors, but worth a line at start (e.g. COOKIE_SECURE=off in production). */
  warnings: readonly string[];
}

export type Env = Readonly<Record<string, string | undefined>>;
type Parser<T> = (raw: string, name: string) => T;

const fail = (name: string, msg: string): never => {
  throw new ConfigError(name, msg);
};

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

const duration: Parser<number> = (raw, name) => {
  const m = /^(\d{1,15})(ms|s|m|h|d)?$/.exec(raw.trim());
  if (!m) return fail(name, `"${raw}" is not a duration (500ms / 10s / 15m / 12h / 30d)`);
  // A bare number is ambiguous (15 meant as minutes would be 15 ms): only 0 needs no unit.
  if (m[2] === undefined && Number(m[1]) !== 0) {
    return fail(name, `"${raw}" needs a unit: 500ms / 10s / 15m / 12h / 30d (a bare number would be read as milliseconds)`);
  }
  const ms = Number(m[1]) * UNITS[m[2] ?? 'ms']!;
  if (!Number.isSafeInteger(ms)) return fail(name, `"${raw}" is too large`);
  return ms;
};

const boolean: Parser<boolean> = (raw, name) => {
  const v = raw.trim().toLowerCase();
  if (['on', 'true', '1', 'yes'].includes(v)) return true;
  if (['off', 'false', '0', 'no'].includes(v)) return false;
  return fail(name, `"${raw}" is not a boolean (on/off, true/false, 1/0, yes/no)`);
};

/** A duration of at least `min` ms (a zero delay or lifetime would be an expiry Redis refuses). */
const durationFrom =
  (min: number): Parser<number> =>
  (raw, name) => {
    const ms = duration(raw, name);
    return ms >= min ? ms : fail(name, `must be at least ${min % 1000 === 0 ? `${min / 1000}s` : `${min}ms`}`);
  };

const int =
  (min: number, max: number): Parser<number> =>
  (raw, name) => {
    const v = raw.trim();
    if (!/^\d{1,15}$/.test(v)) return fail(name, `"${raw}" is not a whole number`);
    const n = Number(v);
    if (n < min || n > max) return fail(name, `${n} is out of range ${min}..${max}`);
    return n;
  };

const text: Parser<string> = (raw, name) => (raw.trim() ? raw.trim() : fail(name, 'is empty'));

const hostList: Parser<HostPort[]> = (raw, name) =>
  raw.split(',').map((item) => {
    const m = /^\s*(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})\s*$/.exec(item);
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) return fail(name, `"${item.trim()}" is not host:port`);
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
  });

const redisUrl: Parser<string> = (raw, name) => {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    return fail(name, 'is not a URL (redis://host:port or rediss://…)');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') return fail(name, 'must start with redis:// or rediss://');
  return raw.trim();
};

/** Taken as written: a password may start or end with a space. */
const secret: Parser<string> = (raw) => raw;

const origin: Parser<string> = (raw, name) => {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    return fail(name, 'is not an origin such as https://app.example.org');
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.pathname !== '/' || u.search || u.hash) {
    return fail(name, 'must be a bare origin such as https://app.example.org (no path)');
  }
  return u.origin;
};

/** TRUST_PROXY: a hop count, or on/true = 1 and off/false = 0. */
const hops: Parser<number> = (raw, name) => {
  const v = raw.trim().toLowerCase();
  if (/^\d+$/.test(v)) return int(0, 32)(v, name);
  return boolean(v, name) ? 1 : 0;
};

/** An OIDC issuer: https, or http on a loopback host (a provider on the same machine). */
const issuer: Parser<string> = (raw, name) => {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    return fail(name, 'is not a URL such as https://accounts.example.org');
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) return fail(name, 'must be an https:// URL');
  if (u.search || u.hash) return fail(name, 'must not have a query or fragment');
  // Kept as given: the issuer must match the provider's own spelling, trailing slash included.
  return raw.trim();
};

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const logLevel: Parser<LogLevel> = (raw, name) => {
  const v = raw.trim().toLowerCase() as LogLevel;
  return LOG_LEVELS.includes(v) ? v : fail(name, `"${raw}" is not one of ${LOG_LEVELS.join(', ')}`);
};

interface Entry<T> {
  env: string;
  parse: Parser<T>;
  /** undefined = unset (or derived from other values, see loadConfig). */
  default: T | undefined;
  /** How the README shows the default. */
  shown: string;
  doc: string;
}
const e = <T>(env: string, parse: Parser<T>, def: T | undefined, shown: string, doc: string): Entry<T> => ({
  env,
  parse,
  default: def,
  shown,
  doc,
});

/** Every variable, in README order. Derived defaults are computed in loadConfig. */
export const schema = {
  port: e('PORT', int(0, 65535), 3000, '`3000`', 'Listening port.'),
  host: e('HOST', text, '127.0.0.1', '`127.0.0.1`', 'Listening address.'),
  redisUrl: e('REDIS_URL', redisUrl, undefined, 'unset', 'Redis standalone. Unset (and no Sentinel/Cluster): the embedded in-process store, refused when `NODE_ENV=production`.'),
  redisSentinels: e('REDIS_SENTINELS', hostList, undefined, 'unset', 'Sentinel mode: `host:port,host:port`; needs `REDIS_SENTINEL_NAME`.'),
  redisSentinelName: e('REDIS_SENTINEL_NAME', text, undefined, 'unset', 'The master name Sentinel monitors.'),
  redisClusterNodes: e('REDIS_CLUSTER_NODES', hostList, undefined, 'unset', 'Cluster mode: seed nodes `host:port,…`.'),
  redisUsername: e('REDIS_USERNAME', text, undefined, 'unset (`default`)', 'ACL user of the data nodes (standalone, Sentinel\'s master and replicas, every Cluster node); needs `REDIS_PASSWORD`. With `REDIS_URL`, either here or in the URL, not both.'),
  redisPassword: e('REDIS_PASSWORD', secret, undefined, 'unset', 'Password of that user (or of `default`, `requirepass`). A secret: never logged or shown in errors.'),
  redisTlsFlag: e('REDIS_TLS', boolean, undefined, 'on for `rediss://`, else `off`', 'TLS to the data nodes, certificates verified (there is no switch to skip that). With `REDIS_URL` the scheme decides; a contradicting `REDIS_TLS` is an error.'),
  redisTlsCaFile: e('REDIS_TLS_CA_FILE', text, undefined, 'unset (system CAs)', 'Path to a PEM CA bundle that signs the Redis (and Sentinel) certificates, read at start; needs TLS.'),
  redisTlsServername: e('REDIS_TLS_SERVERNAME', text, undefined, 'unset (the address connected to)', 'The name the data nodes\' certificates must carry, when nodes are reached by an address their certificate does not name (a Sentinel or a Cluster announcing IPs); needs TLS.'),
  redisSentinelUsername: e('REDIS_SENTINEL_USERNAME', text, undefined, 'unset', 'ACL user of the Sentinels themselves (not of the data nodes); needs `REDIS_SENTINEL_PASSWORD` and `REDIS_SENTINELS`.'),
  redisSentinelPassword: e('REDIS_SENTINEL_PASSWORD', secret, undefined, 'unset', 'Password of the Sentinels (`requirepass` or that user). A secret.'),
  redisSentinelTlsFlag: e('REDIS_SENTINEL_TLS', boolean, undefined, '`REDIS_TLS`', 'TLS to the Sentinels (same CA file); needs `REDIS_SENTINELS`.'),
  redisCommandTimeoutMs: e('REDIS_COMMAND_TIMEOUT', duration, 500, '`500ms`', 'A Redis command that takes longer fails: the request gets 503 `store_unavailable` instead of hanging.'),
  redisAllowEviction: e('REDIS_ALLOW_EVICTION', boolean, false, '`off`', 'Start even when Redis `maxmemory-policy` may evict keys (an evicted revocation marker would undo a revocation; docs/design.md, invariant 8).'),
  redisWaitReplicas: e('REDIS_WAIT_REPLICAS', int(0, 100), 0, '`0`', 'Replicas that must hold a new session, a rotation or a revocation before it is acknowledged (`WAIT`), so a Sentinel/Cluster failover cannot lose it; not confirmed in time → 503 `store_unavailable`. `0` = off (asynchronous replication).'),
  redisWaitTimeoutMs: e('REDIS_WAIT_TIMEOUT', duration, 100, '`100ms`', 'How long such a write waits for its replicas; shorter than `REDIS_COMMAND_TIMEOUT`.'),
  redisRetryBudgetMs: e('REDIS_RETRY_BUDGET', duration, 2000, '`2s`', 'How long a request waits through Redis maintenance (a Sentinel or Cluster failover, a master lost and its replica elected, a slot migration) before it answers 503 `store_unavailable`. A call is sent again only when that cannot apply it twice: any call when Redis answered that nothing was applied or the command was never sent; only calls that do the same when sent twice after a timeout or a dropped connection. Once Redis has failed for longer than the budget with no success in between, every request gets one try (an outage answers fast again). Above node timeout + election (about 3 s with `cluster-node-timeout 1000`) to ride out a killed Cluster master. `0` = no waiting.'),
  keyPrefix: e('SESSION_KEY_PREFIX', text, 'ss:', '`ss:`', 'Prefix of every Redis key.'),
  idleTimeoutMs: e('SESSION_IDLE_TIMEOUT', durationFrom(1000), 15 * 60_000, '`15m`', 'Idle timeout (access-token analog); slides with every authenticated request.'),
  absoluteLifetimeMs: e('SESSION_ABSOLUTE_LIFETIME', durationFrom(1000), 30 * 86_400_000, '`30d`', 'Absolute lifetime from login (refresh-token analog); never extended.'),
  rotationGraceMs: e('SESSION_ROTATION_GRACE', duration, 10_000, '`10s`', 'How long a rotated-away ID still answers as its successor (parallel requests racing a refresh).'),
  touchIntervalMs: e('SESSION_TOUCH_INTERVAL', duration, undefined, '`min(1m, idle/10)`', '`lastActiveAt` is rewritten only when older than this (`0` = every request); the idle deadline may be early by at most this much.'),
  maxPerUser: e('SESSION_MAX_PER_USER', int(0, 1000), 100, '`100`', 'Sessions per user (at most 1000); at the N+1th login the oldest is revoked and audited. It bounds what one user costs the per-user scripts (listing, revoke-all, kill). `0` = no cap, with a warning at start.'),
  sessionCache: e('SESSION_CACHE', boolean, false, '`off`', 'In-process session cache invalidated by Redis client-side caching (sticky load balancers).'),
  cookieSecure: e('COOKIE_SECURE', boolean, undefined, 'on when `NODE_ENV=production`', '`Secure` cookie named `__Host-sid` (else `sid`). Off in production is allowed, with a warning at start.'),
  trustProxy: e('TRUST_PROXY', hops, 0, '`0`', 'Proxy hops of `X-Forwarded-For` to trust, counted from the right (`on`/`true` = 1); `0` = the socket address. A client cannot forge its IP past them.'),
  publicOrigin: e('PUBLIC_ORIGIN', origin, undefined, 'unset', 'The origin browsers use, e.g. `https://app.example.org`; unsafe requests with another `Origin` are refused. Unset: the `Host` header (https when `COOKIE_SECURE`).'),
  formCsrfKey: e('FORM_CSRF_KEY', (raw, name) => (raw.trim().length >= 32 ? raw.trim() : fail(name, 'must be at least 32 characters')), undefined, 'unset (shared through Redis)', 'Master key of the HMAC that binds the pages\' form CSRF tokens to a session (≥ 32 characters; a secret: never logged). Unset: on Redis the first node stores a random 256-bit key in `<prefix>formkey` (SET NX) and every node reads it at start, so forms post to any node with no configuration; on the embedded store a random key per process. The working key is derived per day; a token verifies through the next day. Set it to replace the master (or delete `<prefix>formkey` and restart the nodes).'),
  refreshEnabled: e('SESSION_REFRESH', boolean, true, '`on`', '`off`: an idle lapse always ends the session (NIST SP 800-63B).'),
  reauthWindowMs: e('SESSION_REAUTH_WINDOW', duration, 600_000, '`10m`', 'The third clock: ending *another* session (signing a device out, "sign out everywhere else") needs a password proved this recently (login, password change or `POST /auth/reauthenticate`), so a stolen cookie cannot lock its owner out. `0` = off.'),
  deviceBinding: e('SESSION_DEVICE_BINDING', boolean, true, '`on`', 'Device Bound Session Credentials (docs/security.md, "Device binding"): a browser that supports it binds its session to a key it keeps on the device, and the session must then prove that key every `SESSION_BOUND_COOKIE_LIFETIME`, so a cookie copied off the device stops working within that time. Takes effect only with `Secure` cookies (HTTPS); `off`: nothing is offered and sessions already bound are no longer asked for proofs.'),
  boundCookieLifetimeMs: e('SESSION_BOUND_COOKIE_LIFETIME', durationFrom(10_000), 600_000, '`10m`', 'How long a bound session lives on one proof of its device key (not sliding: activity does not extend it); also the bound cookie\'s `Max-Age`. At least `10s`; under `5m` a warning at start, because browsers allow only a few signatures per site every few minutes.'),
  passwordMinLength: e('PASSWORD_MIN_LENGTH', int(1, 1024), 15, '`15`', 'Minimum password length in characters on set/change (NIST SP 800-63B-4, single factor); the maximum is 1024 bytes.'),
  passwordHashConcurrency: e('PASSWORD_HASH_CONCURRENCY', int(1, 1024), undefined, '`min(UV_THREADPOOL_SIZE, CPUs) − 1`, at least 1', 'argon2 hashes running at once (≤ the libuv thread pool). One pool thread and one CPU stay free, so a login storm cannot starve session checks.'),
  passwordHashQueue: e('PASSWORD_HASH_QUEUE', int(0, 100_000), 64, '`64`', 'Logins waiting for a hashing slot; beyond that, 429 `too_many_attempts` with `Retry-After: 1`.'),
  loginMaxFailuresPerUserIp: e('LOGIN_MAX_FAILURES_PER_USER_IP', int(1, 1_000_000), 10, '`10`', 'Failed logins per user name and client IP within the window; then 429.'),
  loginMaxFailuresPerIp: e('LOGIN_MAX_FAILURES_PER_IP', int(1, 1_000_000), 100, '`100`', 'Failed logins per client IP within the window; then 429.'),
  loginThrottleWindowMs: e('LOGIN_THROTTLE_WINDOW', duration, 15 * 60_000, '`15m`', 'Throttle window, counted from the first failure.'),
  loginMaxFailuresPerAccount: e('LOGIN_MAX_FAILURES_PER_ACCOUNT', int(1, 100), 50, '`50`', 'Consecutive failed logins for one account, from any addresses, before its attempts are spaced out (one per delay, 1 minute doubling up to `LOGIN_ACCOUNT_DELAY_MAX`; others get 429). A browser that signed in to the account before (device cookie) is exempt. At most 100 (NIST SP 800-63B); a success clears it.'),
  loginAccountDelayMaxMs: e('LOGIN_ACCOUNT_DELAY_MAX', durationFrom(1000), 15 * 60_000, '`15m`', 'Longest wait between two attempts on an account over its limit: the most an attacker can hold up the owner on a new browser.'),
  loginDeviceLifetimeMs: e('LOGIN_DEVICE_LIFETIME', durationFrom(60_000), 90 * 86_400_000, '`90d`', 'How long the device cookie of a successful login exempts that browser from the account limit; each login renews it.'),
  shutdownDrainMs: e('SHUTDOWN_DRAIN', duration, 2000, '`2s`', 'After SIGTERM: `/readyz` is 503 at once while requests are still served this long.'),
  shutdownTimeoutMs: e('SHUTDOWN_TIMEOUT', duration, 10_000, '`10s`', 'Then at most this long for in-flight requests to finish.'),
  logLevel: e('LOG_LEVEL', logLevel, 'info', '`info`', 'pino level: fatal, error, warn, info, debug, trace, silent.'),
  // OpenID Connect sign-in (docs/oidc.md); the rules across them are in src/oidc/config.ts.
  oidcIssuer: e('OIDC_ISSUER', issuer, undefined, 'unset', 'OpenID Connect sign-in: the provider\'s issuer URL (discovery at `<issuer>/.well-known/openid-configuration`). Unset: off. Needs `OIDC_CLIENT_ID`, `OIDC_CLIENT_SECRET` and `PUBLIC_ORIGIN`; the redirect URI is `<PUBLIC_ORIGIN>/auth/oidc/callback`.'),
  oidcClientId: e('OIDC_CLIENT_ID', text, undefined, 'unset', 'The client ID registered at the provider.'),
  oidcClientSecret: e('OIDC_CLIENT_SECRET', text, undefined, 'unset', 'The client secret. A secret: never logged.'),
  oidcScopes: e('OIDC_SCOPES', text, 'openid email profile', '`openid email profile`', 'Scopes asked for; must include `openid`.'),
  oidcName: e('OIDC_NAME', text, undefined, '`your provider`', 'The provider\'s name on the sign-in button ("Sign in with …").'),
  oidcStartsPerAddress: e('OIDC_STARTS_PER_ADDRESS', int(1, 1_000_000), 100, '`100`', 'Sign-ins through the provider a client address (an IPv6 /64) may start within 5 minutes, the lifetime of the record each start stores; then 429 `too_many_attempts`. Raise it when many users share one address (an office behind NAT).'),
} satisfies Record<string, Entry<unknown>>;

type Parsed = { [K in keyof typeof schema]: (typeof schema)[K] extends Entry<infer T> ? T | undefined : never };

/** What the machine offers; a parameter so tests can pin it. */
export interface Machine {
  cpus: number;
}

/** Sentinel-only settings, checked against REDIS_SENTINELS. */
const SENTINEL_AUTH = ['REDIS_SENTINEL_USERNAME', 'REDIS_SENTINEL_PASSWORD', 'REDIS_SENTINEL_TLS'] as const;

/**
 * Credentials and TLS of the three Redis modes, one scheme for all: REDIS_URL may carry
 * them (`rediss://user:pass@host`), the REDIS_USERNAME / REDIS_PASSWORD / REDIS_TLS*
 * variables say the same for Sentinel and Cluster (whose lists are bare host:port).
 * Anything contradictory or without effect is an error rather than silently ignored:
 * an operator who sets REDIS_TLS and gets plain TCP would not know.
 */
function redisAccess(p: Parsed, env: Env) {
  const set = (name: string) => env[name] !== undefined && env[name] !== '';
  const mode = p.redisUrl ?? p.redisSentinels ?? p.redisClusterNodes;
  for (const name of ['REDIS_USERNAME', 'REDIS_PASSWORD', 'REDIS_TLS', 'REDIS_TLS_CA_FILE', 'REDIS_TLS_SERVERNAME']) {
    if (set(name) && mode === undefined) fail(name, 'needs REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES');
  }
  for (const name of SENTINEL_AUTH) if (set(name) && !p.redisSentinels) fail(name, 'needs REDIS_SENTINELS');

  let urlTls: boolean | undefined;
  if (p.redisUrl) {
    const u = new URL(p.redisUrl);
    urlTls = u.protocol === 'rediss:';
    if ((u.username || u.password) && (p.redisUsername || p.redisPassword)) {
      fail(p.redisUsername ? 'REDIS_USERNAME' : 'REDIS_PASSWORD', 'REDIS_URL already carries credentials; give them in one place');
    }
    if (p.redisTlsFlag !== undefined && p.redisTlsFlag !== urlTls) {
      fail('REDIS_TLS', `contradicts REDIS_URL, which starts with ${u.protocol}// (rediss:// is TLS); leave REDIS_TLS unset`);
    }
  }
  if (p.redisUsername && p.redisPassword === undefined) fail('REDIS_PASSWORD', 'is required with REDIS_USERNAME');
  if (p.redisSentinelUsername && p.redisSentinelPassword === undefined) {
    fail('REDIS_SENTINEL_PASSWORD', 'is required with REDIS_SENTINEL_USERNAME');
  }

  const dataTls = urlTls ?? p.redisTlsFlag ?? false;
  const sentinelTls = p.redisSentinels !== undefined && (p.redisSentinelTlsFlag ?? dataTls);
  if (p.redisTlsServername && !dataTls) fail('REDIS_TLS_SERVERNAME', 'needs TLS: set REDIS_TLS=on (or use rediss://)');
  let ca: string | undefined;
  if (p.redisTlsCaFile) {
    if (!dataTls && !sentinelTls) fail('REDIS_TLS_CA_FILE', 'needs TLS: set REDIS_TLS=on (or use rediss://)');
    try {
      ca = readFileSync(p.redisTlsCaFile, 'utf8');
    } catch (err) {
      fail('REDIS_TLS_CA_FILE', `cannot read ${p.redisTlsCaFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (!ca?.includes('-----BEGIN CERTIFICATE-----')) fail('REDIS_TLS_CA_FILE', `${p.redisTlsCaFile} holds no PEM certificate`);
  }
  const tls = (on: boolean, servername?: string): RedisTls | undefined =>
    on ? { ...(ca ? { ca } : {}), ...(servername ? { servername } : {}) } : undefined;
  return {
    redisUsername: p.redisUsername,
    redisPassword: p.redisPassword,
    redisTls: tls(dataTls, p.redisTlsServername),
    redisSentinelUsername: p.redisSentinelUsername,
    redisSentinelPassword: p.redisSentinelPassword,
    redisSentinelTls: tls(sentinelTls),
  };
}

export interface LoadOptions {
  /** The embedding app hands over its own Redis (library mode): no REDIS_URL needed in production. */
  redisGiven?: boolean;
}

export function loadConfig(env: Env, machine: Machine = { cpus: availableParallelism() }, o: LoadOptions = {}): Readonly<Config> {
  const raw = {} as Record<string, unknown>;
  for (const [key, entry] of Object.entries(schema) as [string, Entry<unknown>][]) {
    const value = env[entry.env];
    raw[key] = value === undefined || value === '' ? entry.default : entry.parse(value, entry.env);
  }
  const p = raw as Parsed;
  const production = env.NODE_ENV === 'production';
  const warnings: string[] = [];

  if (p.absoluteLifetimeMs! < 1) fail('SESSION_ABSOLUTE_LIFETIME', 'must be positive');
  if (p.idleTimeoutMs! < 1) fail('SESSION_IDLE_TIMEOUT', 'must be positive');
  if (p.idleTimeoutMs! > p.absoluteLifetimeMs!) {
    fail('SESSION_IDLE_TIMEOUT', 'must not be longer than SESSION_ABSOLUTE_LIFETIME');
  }
  const touchIntervalMs = p.touchIntervalMs ?? Math.min(60_000, Math.floor(p.idleTimeoutMs! / 10));
  if (touchIntervalMs >= p.idleTimeoutMs!) fail('SESSION_TOUCH_INTERVAL', 'must be shorter than SESSION_IDLE_TIMEOUT');
  if (p.redisCommandTimeoutMs! < 1) fail('REDIS_COMMAND_TIMEOUT', 'must be positive');
  // WAIT with a timeout of 0 blocks forever; one at or past the command timeout would
  // time the command out client-side while Redis still holds the connection.
  if (p.redisWaitTimeoutMs! < 1) fail('REDIS_WAIT_TIMEOUT', 'must be positive');
  if (p.redisWaitReplicas! > 0 && p.redisWaitTimeoutMs! >= p.redisCommandTimeoutMs!) {
    fail('REDIS_WAIT_TIMEOUT', 'must be shorter than REDIS_COMMAND_TIMEOUT');
  }

  if (p.redisSentinels && !p.redisSentinelName) fail('REDIS_SENTINEL_NAME', 'is required with REDIS_SENTINELS');
  const modes = [p.redisUrl, p.redisSentinels, p.redisClusterNodes].filter((v) => v !== undefined).length;
  if (modes > 1) fail('REDIS_URL', 'set only one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES');
  // The cache's invalidation link watches one server (src/store/tracking-link.ts): say so
  // before any connection is made, not after waiting for Redis.
  if (p.sessionCache && (p.redisSentinels || p.redisClusterNodes)) {
    fail('SESSION_CACHE', 'needs a standalone Redis (REDIS_URL); with Sentinel or Cluster an invalidation can be lost in a failover or a slot move. Turn SESSION_CACHE off');
  }
  if (production && modes === 0 && !o.redisGiven) {
    fail('REDIS_URL', 'is required when NODE_ENV=production (the embedded store is for development)');
  }
  const access = redisAccess(p, env);

  if (p.maxPerUser === 0) {
    warnings.push('SESSION_MAX_PER_USER=0: no cap on sessions per user; one user with many sessions makes listing and revoke-all scripts block Redis for longer');
  }

  const cookieSecure = p.cookieSecure ?? production;
  if (production && !cookieSecure) {
    warnings.push('COOKIE_SECURE is off in production: the session cookie will travel over plain HTTP');
  }

  // Chromium refreshes a bound cookie about 2 minutes before it ends and signs at most
  // about 6 times in 9 minutes per site: a shorter lifetime spends that quota.
  if (p.deviceBinding && cookieSecure && p.boundCookieLifetimeMs! < 5 * 60_000) {
    warnings.push('SESSION_BOUND_COOKIE_LIFETIME is under 5m: browsers limit device-key signatures (about 6 per 9 minutes per site), so bound sessions may be refused between refreshes');
  }

  const pool = env.UV_THREADPOOL_SIZE ? int(1, 1024)(env.UV_THREADPOOL_SIZE, 'UV_THREADPOOL_SIZE') : 4;
  // argon2 is CPU-bound: running as many hashes as there are cores would starve the
  // event loop (every authenticated request) during a login flood.
  const passwordHashConcurrency = p.passwordHashConcurrency ?? Math.max(1, Math.min(pool, machine.cpus) - 1);
  if (passwordHashConcurrency > pool) {
    fail('PASSWORD_HASH_CONCURRENCY', `must not exceed the libuv thread pool (UV_THREADPOOL_SIZE=${pool})`);
  }

  const oidc = oidcConfig(p, fail);

  // The TLS switches and file name are folded into redisTls / redisSentinelTls.
  const { redisTlsFlag: _t, redisTlsCaFile: _f, redisTlsServername: _n, redisSentinelTlsFlag: _s, ...plain } = p as Required<Parsed>;
  return Object.freeze({
    ...plain,
    oidc,
    redisUrl: p.redisUrl,
    redisSentinels: p.redisSentinels,
    redisSentinelName: p.redisSentinelName,
    redisClusterNodes: p.redisClusterNodes,
    ...access,
    publicOrigin: p.publicOrigin,
    formCsrfKey: p.formCsrfKey,
    production,
    touchIntervalMs,
    cookieSecure,
    deviceBinding: p.deviceBinding! && cookieSecure,
    passwordHashConcurrency,
    warnings: Object.freeze(warnings),
  }) as Readonly<Config>;
}

/** The timing policy the session store applies (derived, never read separately). */
export const policyFromConfig = (c: Config): SessionPolicy => ({
  idleTimeoutMs: c.idleTimeoutMs,
  absoluteLifetimeMs: c.absoluteLifetimeMs,
  rotationGraceMs: c.rotationGraceMs,
  touchIntervalMs: c.touchIntervalMs,
  maxPerUser: c.maxPerUser,
  refreshEnabled: c.refreshEnabled,
});

/** Whether a shared Redis is configured (else: the embedded store). */
export const usesRedis = (c: Config): boolean =>
  c.redisUrl !== undefined || c.redisSentinels !== undefined || c.redisClusterNodes !== undefined;

/** The Markdown rows of the README configuration table. */
export const configTable = (): string =>
  Object.values(schema)
    .map((v: Entry<unknown>) => `| \`${v.env}\` | ${v.shown} | ${v.doc} |`)
    .join('\n');
