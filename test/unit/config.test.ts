import { readFileSync } from 'node:fs';
import test from 'ava';
import { ConfigError, configTable, loadConfig, policyFromConfig, schema, usesRedis } from '../../src/config.js';

test('with an empty environment every default of docs/configuration.md applies', (t) => {
  const c = loadConfig({}, { cpus: 8 });
  t.is(c.port, 3000);
  t.is(c.host, '127.0.0.1');
  t.is(c.redisUrl, undefined);
  t.false(usesRedis(c));
  t.is(c.idleTimeoutMs, 15 * 60_000);
  t.is(c.absoluteLifetimeMs, 30 * 86_400_000);
  t.is(c.rotationGraceMs, 10_000);
  t.is(c.touchIntervalMs, 60_000);
  t.is(c.maxPerUser, 100);
  t.false(c.sessionCache);
  t.false(c.cookieSecure);
  t.is(c.trustProxy, 0);
  t.true(c.refreshEnabled);
  t.is(c.passwordMinLength, 15);
  t.is(c.loginMaxFailuresPerUserIp, 10);
  t.is(c.loginMaxFailuresPerIp, 100);
  t.is(c.loginThrottleWindowMs, 15 * 60_000);
  t.is(c.shutdownDrainMs, 2000);
  t.is(c.shutdownTimeoutMs, 10_000);
  t.is(c.keyPrefix, 'ss:');
  t.is(c.redisCommandTimeoutMs, 500);
  t.false(c.redisAllowEviction);
  t.is(c.logLevel, 'info');
  t.is(c.passwordHashConcurrency, 3);
  t.true(Object.isFrozen(c));
});

test('durations carry a unit: ms, s, m, h, d (and a bare 0)', (t) => {
  const cases: [string, number][] = [['0', 0], ['500ms', 500], ['10s', 10_000], ['15m', 900_000], ['12h', 43_200_000], ['30d', 2_592_000_000]];
  for (const [raw, ms] of cases) t.is(loadConfig({ SESSION_ROTATION_GRACE: raw }).rotationGraceMs, ms, raw);
});

test('session clocks have sane minimums: an idle timeout or absolute lifetime under a second stops the start', (t) => {
  t.throws(() => loadConfig({ SESSION_IDLE_TIMEOUT: '500ms' }), { message: /^SESSION_IDLE_TIMEOUT: must be at least 1s/ });
  t.throws(() => loadConfig({ SESSION_ABSOLUTE_LIFETIME: '999ms' }), { message: /^SESSION_ABSOLUTE_LIFETIME: must be at least 1s/ });
  t.is(loadConfig({ SESSION_IDLE_TIMEOUT: '1s', SESSION_ABSOLUTE_LIFETIME: '1s' }).idleTimeoutMs, 1000);
});

test('a bare number is not a duration: SESSION_IDLE_TIMEOUT=15 stops the start, naming the variable and the forms', (t) => {
  for (const raw of ['15', '1500', '900000']) {
    const err = t.throws(() => loadConfig({ SESSION_IDLE_TIMEOUT: raw }));
    t.regex(err!.message, /^SESSION_IDLE_TIMEOUT: .*needs a unit.*500ms.*15m/, raw);
  }
});

test('the touch interval defaults to min(1m, idle/10)', (t) => {
  t.is(loadConfig({ SESSION_IDLE_TIMEOUT: '2m' }).touchIntervalMs, 12_000);
  t.is(loadConfig({ SESSION_IDLE_TIMEOUT: '1h' }).touchIntervalMs, 60_000);
  t.is(loadConfig({ SESSION_TOUCH_INTERVAL: '0' }).touchIntervalMs, 0);
});

test('booleans accept on/off, true/false, 1/0, yes/no', (t) => {
  for (const v of ['on', 'true', '1', 'yes', 'ON', 'Yes']) t.true(loadConfig({ SESSION_CACHE: v }).sessionCache, v);
  for (const v of ['off', 'false', '0', 'no']) t.false(loadConfig({ SESSION_CACHE: v }).sessionCache, v);
});

test('TRUST_PROXY takes a hop count or a boolean', (t) => {
  t.is(loadConfig({ TRUST_PROXY: '2' }).trustProxy, 2);
  t.is(loadConfig({ TRUST_PROXY: 'on' }).trustProxy, 1);
  t.is(loadConfig({ TRUST_PROXY: 'true' }).trustProxy, 1);
  t.is(loadConfig({ TRUST_PROXY: 'off' }).trustProxy, 0);
});

test('production defaults COOKIE_SECURE on, warns when it is turned off, and needs Redis', (t) => {
  const prod = loadConfig({ NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:6390' });
  t.true(prod.cookieSecure);
  t.deepEqual(prod.warnings, []);
  const off = loadConfig({ NODE_ENV: 'production', REDIS_URL: 'redis://r:1', COOKIE_SECURE: 'off' });
  t.false(off.cookieSecure);
  t.regex(off.warnings[0] ?? '', /COOKIE_SECURE/);
  const err = t.throws(() => loadConfig({ NODE_ENV: 'production' }), { instanceOf: ConfigError });
  t.is(err?.variable, 'REDIS_URL');
});

test('Redis modes: URL, Sentinel (needs a name), Cluster; only one at a time', (t) => {
  const s = loadConfig({ REDIS_SENTINELS: 'a:26379, b:26380', REDIS_SENTINEL_NAME: 'mymaster' });
  t.deepEqual(s.redisSentinels, [{ host: 'a', port: 26379 }, { host: 'b', port: 26380 }]);
  t.true(usesRedis(s));
  t.deepEqual(loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:30001' }).redisClusterNodes, [{ host: '127.0.0.1', port: 30001 }]);
  t.is(t.throws(() => loadConfig({ REDIS_SENTINELS: 'a:1' }))?.message.split(':')[0], 'REDIS_SENTINEL_NAME');
  t.is((t.throws(() => loadConfig({ REDIS_URL: 'redis://a:1', REDIS_CLUSTER_NODES: 'a:1' })) as ConfigError).variable, 'REDIS_URL');
});

test('every invalid value names its variable', (t) => {
  const bad: [string, string][] = [
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['SESSION_IDLE_TIMEOUT', '15 minutes'],
    ['SESSION_IDLE_TIMEOUT', '0'],
    ['SESSION_ABSOLUTE_LIFETIME', '-1'],
    ['SESSION_ROTATION_GRACE', '10x'],
    ['SESSION_TOUCH_INTERVAL', '20m'],
    ['SESSION_MAX_PER_USER', '1.5'],
    ['SESSION_CACHE', 'maybe'],
    ['COOKIE_SECURE', 'sometimes'],
    ['TRUST_PROXY', '-1'],
    ['SESSION_REFRESH', 'y'],
    ['PASSWORD_MIN_LENGTH', '0'],
    ['LOGIN_MAX_FAILURES_PER_USER_IP', 'ten'],
    ['LOGIN_MAX_FAILURES_PER_IP', '0'],
    ['LOGIN_THROTTLE_WINDOW', '1w'],
    ['SHUTDOWN_DRAIN', '2 s'],
    ['SHUTDOWN_TIMEOUT', 'soon'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['REDIS_URL', 'not a url'],
    ['REDIS_SENTINELS', 'hostonly'],
    ['REDIS_CLUSTER_NODES', 'a:1,b'],
    ['REDIS_COMMAND_TIMEOUT', '0'],
    ['REDIS_ALLOW_EVICTION', 'perhaps'],
    ['PUBLIC_ORIGIN', 'https://app.example.org/path'],
    ['LOG_LEVEL', 'loud'],
    ['PASSWORD_HASH_CONCURRENCY', '64'],
  ];
  for (const [name, value] of bad) {
    const err = t.throws(() => loadConfig({ [name]: value }), { instanceOf: ConfigError }, `${name}=${value}`);
    t.is(err?.variable, name, `${name}=${value}`);
    t.true(err?.message.startsWith(`${name}:`));
  }
});

test('an idle timeout longer than the absolute lifetime is refused', (t) => {
  const err = t.throws(() => loadConfig({ SESSION_IDLE_TIMEOUT: '2d', SESSION_ABSOLUTE_LIFETIME: '1d' }));
  t.regex(err?.message ?? '', /^SESSION_IDLE_TIMEOUT:/);
});

test('the session policy is derived from the config', (t) => {
  const c = loadConfig({ SESSION_IDLE_TIMEOUT: '2s', SESSION_ABSOLUTE_LIFETIME: '10s', SESSION_REFRESH: 'off', SESSION_MAX_PER_USER: '3' });
  t.deepEqual(policyFromConfig(c), {
    idleTimeoutMs: 2000,
    absoluteLifetimeMs: 10_000,
    rotationGraceMs: 10_000,
    touchIntervalMs: 200,
    maxPerUser: 3,
    refreshEnabled: false,
  });
});

test('the hashing concurrency leaves a pool thread and a CPU free', (t) => {
  t.is(loadConfig({ UV_THREADPOOL_SIZE: '8' }, { cpus: 16 }).passwordHashConcurrency, 7);
  t.is(loadConfig({}, { cpus: 16 }).passwordHashConcurrency, 3);
  t.is(loadConfig({}, { cpus: 2 }).passwordHashConcurrency, 1);
  t.is(loadConfig({ UV_THREADPOOL_SIZE: '1' }, { cpus: 8 }).passwordHashConcurrency, 1);
  t.is(loadConfig({ PASSWORD_HASH_CONCURRENCY: '4' }, { cpus: 2 }).passwordHashConcurrency, 4);
});

test('the generated configuration table lists every variable', (t) => {
  const table = configTable();
  for (const name of ['PORT', 'REDIS_URL', 'SESSION_TOUCH_INTERVAL', 'LOGIN_THROTTLE_WINDOW', 'SHUTDOWN_TIMEOUT', 'LOG_LEVEL']) {
    t.true(table.includes(`\`${name}\``), name);
  }
});

test('docs/configuration.md documents every variable of the schema with its default', (t) => {
  const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  for (const { env, shown } of Object.values(schema)) t.true(doc.includes(`| \`${env}\` | ${shown} |`), env);
});

test('the per-user session cap defaults to 100, is at most 1000, and turning it off warns', (t) => {
  t.is(policyFromConfig(loadConfig({})).maxPerUser, 100);
  t.is(loadConfig({ SESSION_MAX_PER_USER: '1000' }).maxPerUser, 1000);
  t.throws(() => loadConfig({ SESSION_MAX_PER_USER: '1001' }), { instanceOf: ConfigError, message: /SESSION_MAX_PER_USER/ });
  t.deepEqual(loadConfig({}).warnings, []);
  const off = loadConfig({ SESSION_MAX_PER_USER: '0' });
  t.is(off.maxPerUser, 0);
  t.true(off.warnings.some((w) => /SESSION_MAX_PER_USER=0/.test(w)));
});

test('device binding: on by default but in effect only with Secure cookies; the bound lifetime is at least 10s and warns under 5m', (t) => {
  t.false(loadConfig({}).deviceBinding, 'plain HTTP: DBSC does nothing there');
  const secure = loadConfig({ COOKIE_SECURE: 'on' });
  t.true(secure.deviceBinding);
  t.is(secure.boundCookieLifetimeMs, 600_000);
  t.deepEqual(secure.warnings, []);
  t.false(loadConfig({ COOKIE_SECURE: 'on', SESSION_DEVICE_BINDING: 'off' }).deviceBinding);
  t.is(loadConfig({ COOKIE_SECURE: 'on', SESSION_BOUND_COOKIE_LIFETIME: '10s' }).boundCookieLifetimeMs, 10_000);
  t.throws(() => loadConfig({ SESSION_BOUND_COOKIE_LIFETIME: '9s' }), { message: /^SESSION_BOUND_COOKIE_LIFETIME: must be at least 10s/ });
  t.throws(() => loadConfig({ SESSION_DEVICE_BINDING: 'maybe' }), { message: /^SESSION_DEVICE_BINDING: / });
  t.regex(loadConfig({ COOKIE_SECURE: 'on', SESSION_BOUND_COOKIE_LIFETIME: '4m' }).warnings.join('\n'), /SESSION_BOUND_COOKIE_LIFETIME is under 5m/);
  t.deepEqual(loadConfig({ SESSION_BOUND_COOKIE_LIFETIME: '4m' }).warnings, [], 'no warning where binding is not in effect');
});
