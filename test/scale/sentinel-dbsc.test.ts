/**
 * Device binding behind Sentinel: the DBSC protocol suite (test/integration/dbsc-suite.ts)
 * against a master and a replica watched by three Sentinels, through the production
 * connection factory.
 */
import test from 'ava';
import { registerDbscSuite } from '../integration/dbsc-suite.js';
import { type SentinelSetup, startRedisSentinel } from '../helpers/redis-sentinel.js';

let sentinel: SentinelSetup | undefined;
test.before(async () => {
  sentinel = await startRedisSentinel();
});
test.after.always(async () => {
  await sentinel?.stop();
});

registerDbscSuite('sentinel', () => ({ connection: { sentinels: [...sentinel!.sentinels], sentinelName: sentinel!.name } }));
