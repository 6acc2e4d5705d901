/**
 * `npm run bench`: this server against the session layers people would otherwise pick,
 * in one run on one machine. Starts its own redis-server, runs each stack as a separate
 * child process, drives GET /api/me with wrk or autocannon in alternating rounds, counts Redis
 * commands with MONITOR, measures memory per session, a login storm and (cache on) the
 * revocation propagation, then writes bench-results/latest.{md,json} and the results
 * block of docs/performance.md. Any non-2xx fails the run (exit 1). Options: scripts/bench/options.ts.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { startRedis } from '../test/helpers/redis-server.js';
import { freePort } from '../test/helpers/ports.js';
import { type BenchChild, buildForBench, buildRevision, startChild } from './bench/child.js';
import { parseOptions } from './bench/options.js';
import { consoleTable, updateResultsDoc, writeResults } from './bench/report.js';
import type { BenchRun } from './bench/results.js';
import { allStacks, extraStacks, revisionStacks } from './bench/all-stacks.js';
import { measureSideBySide, measureThroughput, type Running } from './bench/throughput.js';
import { measureMemory } from './bench/memory.js';
import { measureStorm } from './bench/storm.js';
import { measurePropagation } from './bench/propagation.js';

const root = new URL('../', import.meta.url);
const resultsDoc = new URL('docs/performance.md', root);
if (process.argv[2] === '--render') {
  // Re-render bench-results/latest.md and the docs/performance.md block from latest.json (no measuring).
  const saved = JSON.parse(readFileSync(new URL('bench-results/latest.json', root), 'utf8')) as BenchRun;
  writeResults(saved, new URL('bench-results/', root));
  updateResultsDoc(saved, resultsDoc);
  process.exit(0);
}
const o = parseOptions(process.argv.slice(2), process.env);
const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);

if (o.pin) {
  // This process, the redis-server it starts and the load generator (autocannon in this
  // process, or wrk as a child inheriting the affinity) share CPU 0; apps get CPU 1.
  execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
}

log('compiling the stacks (tsc → dist/, as npm start runs the server)');
buildForBench();
const redis = await startRedis();
const admin = redis.client();
const children: BenchChild[] = [];
const run: BenchRun = {
  date: new Date().toISOString().slice(0, 10),
  machine: {
    cpus: cpus().length,
    model: cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    redis: /redis_version:(\S+)/.exec(await admin.info('server'))?.[1] ?? '?',
    pinned: o.pin,
    loadAvg: loadavg().map((x) => Math.round(x * 10) / 10),
  },
  options: { rounds: o.rounds, seconds: o.seconds, connections: o.connections, countRequests: o.countRequests, driver: o.driver },
  stacks: [],
  failures: [],
};

try {
  const stacks = o.stacks
    ? [...allStacks(), ...extraStacks()].filter((s) => o.stacks!.includes(s.id))
    : allStacks();
  if (o.against) {
    log(`building this server at ${o.against} (--against)`);
    stacks.push(...revisionStacks(o.against, buildRevision(o.against)));
  }
  const running: Running[] = [];
  for (const stack of stacks) {
    const profiling = o.profile === stack.id;
    const child = await startChild({
      name: stack.id,
      entry: stack.entry,
      port: await freePort(),
      env: { BENCH_REDIS_URL: redis.url, ...stack.env(redis.url) },
      cpus: o.pin ? '1' : undefined,
      nodeFlags: profiling ? ['--cpu-prof', '--cpu-prof-dir', new URL('bench-results/profiles', root).pathname] : [],
    });
    children.push(child);
    const cookie = await stack.login(child.url, admin);
    const probe = await fetch(`${child.url}/api/me`, { headers: { cookie } });
    if (stack.session && probe.status !== 200) throw new Error(`${stack.id}: GET /api/me with the fresh cookie answered ${probe.status}`);
    await probe.arrayBuffer();
    running.push({ stack, child, cookie });
    log(`started ${stack.id} (${child.url})`);
  }

  run.stacks = await measureThroughput(running, admin, redis.url, redis.port, o, log);
  if (o.against) run.sideBySide = await measureSideBySide(running, o, log);
  for (const s of run.stacks) {
    if (s.failures) run.failures.push(`${s.id}: ${s.failures} non-2xx/errors ${JSON.stringify(s.statusCodes)}`);
  }
  if (!o.skip.has('memory')) run.memory = await measureMemory(running, redis, o.quick ? 5000 : 50_000, log);
  const product = running.find((r) => r.stack.id === 'sliding');
  if (!o.skip.has('storm') && product) {
    run.storm = await measureStorm(product.stack, redis.url, admin, o, log);
    if (run.storm.failures) run.failures.push(`login storm: ${run.storm.failures} failed /api/me requests`);
  }
  const cached = running.find((r) => r.stack.id === 'sliding-cache');
  if (!o.skip.has('propagation') && cached) {
    run.propagation = await measurePropagation(cached, admin, o.quick ? 50 : 200, log);
  }
} catch (err) {
  run.failures.push(err instanceof Error ? err.message : String(err));
  log(`FAILED: ${run.failures.at(-1)}`);
} finally {
  for (const c of children) await c.stop();
  admin.disconnect();
  await redis.stop();
}

process.stdout.write(`${consoleTable(run)}\n`);
writeResults(run, new URL('bench-results/', root));
// `--skip readme` is the option's old name, still accepted.
const skipDoc = o.skip.has('docs') || o.skip.has('readme');
if (!skipDoc && run.failures.length === 0) updateResultsDoc(run, resultsDoc);
if (run.failures.length) {
  log(`run failed: ${run.failures.join('; ')}`);
  process.exit(1);
}
log(`wrote bench-results/latest.md and latest.json${skipDoc ? '' : ' and the results block of docs/performance.md'}`);
