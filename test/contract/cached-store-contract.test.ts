/**
 * The store contract (test/contract) run on the cached store: the cache changes no
 * decision a node makes about its own sessions. The peer is a second cached node.
 */
import test from 'ava';
import { CachedStore } from '../../src/store/cached-store.js';
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

sessionStoreContract('cached', async ({ clock, policy }) => {
  const keys = keySpace(`cc${++n}:`);
  const [a, b] = await Promise.all([connectRedis({ url: server.url }), connectRedis({ url: server.url })]);
  const store = new CachedStore({ inner: new RedisStore({ client: a, clock, policy, keys }), clock });
  const peer = new CachedStore({ inner: new RedisStore({ client: b, clock, policy, keys }), clock });
  await Promise.all([store.whenUp(), peer.whenUp()]);
  return { store, peer, close: async () => { await store.close(); await peer.close(); } };
});
