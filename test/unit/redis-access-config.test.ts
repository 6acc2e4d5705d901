/**
 * The Redis credential and TLS settings (docs/configuration.md, "Redis credentials and
 * TLS"): one scheme for standalone, Sentinel and Cluster, contradictions and settings
 * without effect are errors naming the variable, and no error shows a password.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ConfigError, configTable, loadConfig } from '../../src/config.js';
import { connectionOptionsFromConfig } from '../../src/store/connection.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const SECRET = 'pw-Never-Shown-42';
let dir: string;
let caFile: string;
test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ss-ca-'));
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, PEM);
  writeFileSync(join(dir, 'not-pem.txt'), 'hello');
});
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const SENTINEL = { REDIS_SENTINELS: 'h1:26379,h2:26379', REDIS_SENTINEL_NAME: 'mymaster' };
const CLUSTER = { REDIS_CLUSTER_NODES: 'h1:6379,h2:6379' };

/** Asserts a ConfigError naming `variable` whose message holds no secret. */
function refused(t: import('ava').ExecutionContext, env: Record<string, string>, variable: string, why: RegExp) {
  const err = t.throws(() => loadConfig(env), { instanceOf: ConfigError });
  t.is((err as ConfigError).variable, variable, err?.message);
  t.regex(err!.message, why);
  t.false(err!.message.includes(SECRET), err!.message);
}

test('nothing set: no credentials, plain TCP', (t) => {
  const c = loadConfig({ REDIS_URL: 'redis://h:6379' });
  t.is(c.redisUsername, undefined);
  t.is(c.redisPassword, undefined);
  t.is(c.redisTls, undefined);
  t.is(c.redisSentinelTls, undefined);
});

test('rediss:// turns TLS on; the CA file is read at start', (t) => {
  t.deepEqual(loadConfig({ REDIS_URL: 'rediss://u:p@h:6380/0' }).redisTls, {});
  t.deepEqual(loadConfig({ REDIS_URL: 'rediss://h:6380', REDIS_TLS_CA_FILE: caFile }).redisTls, { ca: PEM });
  t.deepEqual(loadConfig({ REDIS_URL: 'rediss://h:6380', REDIS_TLS: 'on' }).redisTls, {});
});

test('Sentinel: data-node and Sentinel credentials apart, Sentinel TLS follows REDIS_TLS unless set', (t) => {
  const c = loadConfig({
    ...SENTINEL,
    REDIS_TLS: 'on',
    REDIS_TLS_CA_FILE: caFile,
    REDIS_TLS_SERVERNAME: 'redis.internal',
    REDIS_USERNAME: 'app',
    REDIS_PASSWORD: SECRET,
    REDIS_SENTINEL_USERNAME: 'watch',
    REDIS_SENTINEL_PASSWORD: 'other secret ',
  });
  t.deepEqual(c.redisTls, { ca: PEM, servername: 'redis.internal' });
  t.deepEqual(c.redisSentinelTls, { ca: PEM }, 'the servername is for the data nodes the Sentinels name');
  t.is(c.redisSentinelPassword, 'other secret ', 'a password is taken as written');
  t.like(connectionOptionsFromConfig(c), {
    username: 'app',
    password: SECRET,
    sentinelUsername: 'watch',
    tls: { ca: PEM, servername: 'redis.internal' },
    sentinelTls: { ca: PEM },
  });
  t.is(loadConfig({ ...SENTINEL, REDIS_TLS: 'on', REDIS_SENTINEL_TLS: 'off' }).redisSentinelTls, undefined);
  t.deepEqual(loadConfig({ ...SENTINEL, REDIS_SENTINEL_TLS: 'on' }).redisSentinelTls, {});
  t.is(loadConfig({ ...SENTINEL, REDIS_SENTINEL_TLS: 'on' }).redisTls, undefined);
});

test('Cluster: REDIS_TLS and the ACL user apply to every node', (t) => {
  const c = loadConfig({ ...CLUSTER, REDIS_TLS: 'yes', REDIS_USERNAME: 'app', REDIS_PASSWORD: SECRET });
  t.like(connectionOptionsFromConfig(c), { clusterNodes: [{ host: 'h1', port: 6379 }, { host: 'h2', port: 6379 }], username: 'app', tls: {} });
  t.is(c.redisSentinelTls, undefined);
});

test('contradictions and settings without effect are errors naming the variable', (t) => {
  refused(t, { REDIS_URL: 'redis://h:6379', REDIS_TLS: 'on' }, 'REDIS_TLS', /contradicts REDIS_URL/);
  refused(t, { REDIS_URL: 'rediss://h:6379', REDIS_TLS: 'off' }, 'REDIS_TLS', /contradicts REDIS_URL/);
  refused(t, { REDIS_URL: `redis://u:${SECRET}@h:6379`, REDIS_PASSWORD: SECRET }, 'REDIS_PASSWORD', /already carries credentials/);
  refused(t, { REDIS_URL: `redis://:${SECRET}@h:6379`, REDIS_USERNAME: 'app', REDIS_PASSWORD: 'x' }, 'REDIS_USERNAME', /one place/);
  refused(t, { ...CLUSTER, REDIS_USERNAME: 'app' }, 'REDIS_PASSWORD', /required with REDIS_USERNAME/);
  refused(t, { ...SENTINEL, REDIS_SENTINEL_USERNAME: 'watch' }, 'REDIS_SENTINEL_PASSWORD', /required/);
  refused(t, { REDIS_PASSWORD: SECRET }, 'REDIS_PASSWORD', /needs REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES/);
  refused(t, { REDIS_TLS: 'on' }, 'REDIS_TLS', /needs REDIS_URL/);
  refused(t, { ...CLUSTER, REDIS_SENTINEL_PASSWORD: SECRET }, 'REDIS_SENTINEL_PASSWORD', /needs REDIS_SENTINELS/);
  refused(t, { REDIS_URL: 'rediss://h:1', REDIS_SENTINEL_TLS: 'on' }, 'REDIS_SENTINEL_TLS', /needs REDIS_SENTINELS/);
  refused(t, { REDIS_URL: 'redis://h:1', REDIS_TLS_CA_FILE: caFile }, 'REDIS_TLS_CA_FILE', /needs TLS/);
  refused(t, { ...CLUSTER, REDIS_TLS_SERVERNAME: 'x' }, 'REDIS_TLS_SERVERNAME', /needs TLS/);
  refused(t, { ...SENTINEL, REDIS_SENTINEL_TLS: 'on', REDIS_TLS_SERVERNAME: 'x' }, 'REDIS_TLS_SERVERNAME', /needs TLS/);
  refused(t, { REDIS_URL: 'rediss://h:1', REDIS_TLS_CA_FILE: join(dir, 'missing.pem') }, 'REDIS_TLS_CA_FILE', /cannot read .*missing\.pem \(ENOENT\)/);
  refused(t, { REDIS_URL: 'rediss://h:1', REDIS_TLS_CA_FILE: join(dir, 'not-pem.txt') }, 'REDIS_TLS_CA_FILE', /no PEM certificate/);
  refused(t, { REDIS_TLS: 'maybe', REDIS_URL: 'rediss://h:1' }, 'REDIS_TLS', /not a boolean/);
});

test('the configuration table documents the variables and holds no value', (t) => {
  loadConfig({ ...CLUSTER, REDIS_PASSWORD: SECRET });
  const table = configTable();
  for (const name of ['REDIS_USERNAME', 'REDIS_PASSWORD', 'REDIS_TLS', 'REDIS_TLS_CA_FILE', 'REDIS_TLS_SERVERNAME', 'REDIS_SENTINEL_USERNAME', 'REDIS_SENTINEL_PASSWORD', 'REDIS_SENTINEL_TLS']) {
    t.true(table.includes(`\`${name}\``), name);
  }
  t.false(table.includes(SECRET));
});
