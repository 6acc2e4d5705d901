import test from 'ava';
import { connectRedis } from '../../src/store/connection.js';
import { keySpace } from '../../src/store/keys.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { sessionStoreContract } from './session-store.contract.js';

let server: RedisProcess;
let n = 0;
test.before(async () => {
  server = await startRedis();
});
test.after.always(async () => {
  await server?.stop();
});

// Two stores on two connections play two app nodes sharing one Redis.
sessionStoreContract('redis', async ({ clock, policy }) => {
  const keys = keySpace(`c${++n}:`);
  const [a, b] = await Promise.all([connectRedis({ url: server.url }), connectRedis({ url: server.url })]);
  const store = new RedisStore({ client: a, clock, policy, keys });
  const peer = new RedisStore({ client: b, clock, policy, keys });
  return { store, peer, close: async () => { await store.close(); await peer.close(); } };
});
