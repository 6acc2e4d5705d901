/** The JSON API contract on RedisStore, RedisUserStore and RedisThrottle, on a private redis-server. */
import test from 'ava';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { registerApiSuite } from './api-suite.js';

let redis: RedisProcess | undefined;
test.before(async () => {
  redis = await startRedis();
});
test.after.always(async () => {
  await redis?.stop();
});

registerApiSuite('redis', () => redis);
