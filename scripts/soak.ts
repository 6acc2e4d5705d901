/**
 * `npm run soak`: a bounded soak run with the invariants checked on the way and at the
 * end (docs/design.md, "Invariants": a revocation checker). `npm test` runs a 30-second
 * one (test/soak/soak.test.ts).
 *
 * Starts its own redis-server and SOAK_SERVERS (2) server processes of src/main.ts,
 * drives a mixed workload from SOAK_DEVICES (24) devices of SOAK_USERS (8) users for
 * SOAK_SECONDS (150), kills sessions from the admin CLI every SOAK_CLI_EVERY seconds,
 * then checks: no revoked session answered after its revocation was acknowledged, every
 * injected replay was caught, no key orphaned or past its deadline, server memory flat.
 * Prints the counts; exits 1 on any violation.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedis } from '../test/helpers/redis-server.js';
import { type MemorySample, probeForged, runCliKiller, runProbes, runSampler } from './soak/actors.js';
import { SoakHttp } from './soak/http.js';
import { auditKeys } from './soak/key-audit.js';
import { SoakModel } from './soak/model.js';
import { type ServerProc, startServerProc } from './soak/procs.js';
import { memoryVerdict, printReport } from './soak/report.js';
import { createUsers } from './soak/users.js';
import { runDevice } from './soak/workload.js';

// The soak's own knobs (the servers' configuration goes through src/config.ts).
const num = (name: string, dflt: number) => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};
const SECONDS = num('SOAK_SECONDS', 150);
const SERVERS = num('SOAK_SERVERS', 2);
const USERS = num('SOAK_USERS', 8);
const DEVICES = num('SOAK_DEVICES', 24);
const CLI_EVERY_S = num('SOAK_CLI_EVERY', 12);

const IDLE_MS = 3000;
const GRACE_MS = 2000;
const PREFIX = 'ss:';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

async function main(): Promise<number> {
  const logDir = mkdtempSync(join(tmpdir(), 'ss-soak-'));
  const redis = await startRedis();
  const servers: ServerProc[] = [];
  try {
    const admin = redis.client();
    const users = await createUsers(admin, PREFIX, USERS);
    const env = {
      SESSION_IDLE_TIMEOUT: `${IDLE_MS}ms`,
      SESSION_ABSOLUTE_LIFETIME: '40s',
      SESSION_ROTATION_GRACE: `${GRACE_MS}ms`,
      SESSION_TOUCH_INTERVAL: '500ms',
      SESSION_KEY_PREFIX: PREFIX,
      LOG_LEVEL: 'warn',
    };
    for (let i = 0; i < SERVERS; i++) {
      servers.push(await startServerProc({ redisUrl: redis.url, env, logFile: join(logDir, `server-${i}.log`), root }));
    }
    console.log(`soak: redis ${redis.url}, servers ${servers.map((s) => s.url).join(' ')}, logs in ${logDir}; ${SECONDS} s`);

    const model = new SoakModel(GRACE_MS);
    const http = new SoakHttp(servers.map((s) => s.url), model);
    const t0 = performance.now();
    const stop = () => performance.now() - t0 > SECONDS * 1000;
    const samples: MemorySample[] = [];
    const progress = setInterval(() => {
      const c = model.counts;
      console.log(`  ${Math.round((performance.now() - t0) / 1000)} s: ${c.requests} requests, ${c.logins} logins, ${c.refreshes} refreshes, ${c.revocations} revocations, ${model.violations.length} violations`);
    }, 15_000);

    const [, , cli] = await Promise.all([
      Promise.all(Array.from({ length: DEVICES }, (_, i) =>
        runDevice(users[i % users.length]!, http, model, { idleMs: IDLE_MS, graceMs: GRACE_MS, replayMarginMs: 500, stop }))),
      runProbes(http, model, stop),
      runCliKiller(root, redis.url, users, model, CLI_EVERY_S * 1000, stop),
      runSampler(servers.map((s) => s.pid), admin, 2000, stop, samples),
    ]);
    clearInterval(progress);

    // Final sweep: every ID of every revoked family, and a few forged ones, once more.
    for (const token of model.revokedTokens(performance.now(), 0).slice(-3000)) {
      model.counts.probesOfRevoked++;
      await http.call('GET', '/api/me', token).catch(() => {});
    }
    for (let i = 0; i < 50; i++) await probeForged(http, model);

    const keys = await auditKeys(admin, PREFIX, GRACE_MS);
    for (const p of keys.problems) model.violate(performance.now(), 'no orphaned keys', p);
    const memory = memoryVerdict(samples, servers.length);
    if (!memory.flat) model.violate(performance.now(), 'memory flat', JSON.stringify(memory.perServer));
    const serverExits = servers.filter((s) => s.proc.exitCode !== null || s.proc.signalCode !== null)
      .map((s) => `server ${s.url} exited (${s.proc.exitCode ?? s.proc.signalCode})`);
    for (const e of serverExits) model.violate(performance.now(), 'the process stays up', e);
    if (http.transportErrors > 0) model.violate(performance.now(), 'every request answered', `${http.transportErrors} without an HTTP answer; last: ${http.lastTransportError}`);
    if (model.counts.replaysInjected === 0) model.violate(performance.now(), 'replays exercised', 'no replay was injected');

    printReport({ seconds: SECONDS, model, cli, memory, samples, keys, transportErrors: http.transportErrors, serverExits });
    return model.violations.length === 0 ? 0 : 1;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await redis.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error('soak failed to run:', err);
    process.exit(2);
  },
);
