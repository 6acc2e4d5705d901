import test from 'ava';
import { ConfigError, loadConfig } from '../../src/config.js';

test('SESSION_CACHE=on with Sentinel or Cluster stops the start, naming the variable and why', (t) => {
  for (const env of [
    { SESSION_CACHE: 'on', REDIS_SENTINELS: '127.0.0.1:26379', REDIS_SENTINEL_NAME: 'mymaster' },
    { SESSION_CACHE: 'on', REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:7001' },
  ]) {
    const err = t.throws(() => loadConfig(env), { instanceOf: ConfigError });
    t.is(err?.variable, 'SESSION_CACHE');
    t.regex(err?.message ?? '', /standalone Redis \(REDIS_URL\)/);
  }
  t.true(loadConfig({ SESSION_CACHE: 'on', REDIS_URL: 'redis://127.0.0.1:6379' }).sessionCache);
  t.false(loadConfig({ SESSION_CACHE: 'off', REDIS_CLUSTER_NODES: '127.0.0.1:7000' }).sessionCache);
});
