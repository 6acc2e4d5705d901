import test from 'ava';
import { ConfigError, loadConfig } from '../../src/config.js';
import { accountDelayMs, limitsFromConfig, resolveLimits } from '../../src/throttle/types.js';

const machine = { cpus: 4 };

test('the throttle limits default to 10 per user+address, 100 per address, 50 per account, 15m cap, 90d devices', (t) => {
  t.deepEqual(limitsFromConfig(loadConfig({}, machine)), {
    maxFailuresPerUserIp: 10,
    maxFailuresPerIp: 100,
    windowMs: 15 * 60_000,
    maxFailuresPerAccount: 50,
    accountDelayMaxMs: 15 * 60_000,
    deviceLifetimeMs: 90 * 86_400_000,
  });
  // A library caller who names only the older limits gets the same account defaults.
  t.deepEqual(
    resolveLimits({ maxFailuresPerUserIp: 10, maxFailuresPerIp: 100, windowMs: 15 * 60_000 }),
    limitsFromConfig(loadConfig({}, machine)),
  );
});

test('the account limit may not exceed 100 (NIST SP 800-63B) and the delay cap and device lifetime may not be zero', (t) => {
  const env = { LOGIN_MAX_FAILURES_PER_ACCOUNT: '100', LOGIN_ACCOUNT_DELAY_MAX: '1h', LOGIN_DEVICE_LIFETIME: '30d' };
  const c = loadConfig(env, machine);
  t.is(c.loginMaxFailuresPerAccount, 100);
  t.is(c.loginAccountDelayMaxMs, 3_600_000);
  for (const [name, value] of [
    ['LOGIN_MAX_FAILURES_PER_ACCOUNT', '101'],
    ['LOGIN_MAX_FAILURES_PER_ACCOUNT', '0'],
    ['LOGIN_ACCOUNT_DELAY_MAX', '0'],
    ['LOGIN_DEVICE_LIFETIME', '0'],
  ] as const) {
    const err = t.throws(() => loadConfig({ ...env, [name]: value }, machine), { instanceOf: ConfigError });
    t.is(err?.variable, name);
  }
});

test('the account delay starts at a minute, doubles and stops at the cap, even after very many failures', (t) => {
  const l = resolveLimits({ maxFailuresPerUserIp: 10, maxFailuresPerIp: 100, windowMs: 1, maxFailuresPerAccount: 50 });
  t.deepEqual([50, 51, 52, 53, 54, 55, 10_000].map((n) => accountDelayMs(n, l) / 60_000), [1, 2, 4, 8, 15, 15, 15]);
});
