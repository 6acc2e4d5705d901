/**
 * Benchmark options: flags win over environment variables, which win over defaults.
 *   --quick                 1 round × 2 s, short storm (whole run < 1 min)
 *   --rounds N   BENCH_ROUNDS      alternating rounds (default 5)
 *   --seconds N  BENCH_SECONDS     measured seconds per stack and round (default 3)
 *   --warmup N   BENCH_WARMUP      warm-up seconds per stack before round 1 (default 2)
 *   --connections N BENCH_CONNECTIONS (default 50)
 *   --driver D   BENCH_DRIVER      load generator for the throughput rounds: wrk or autocannon
 *                                  (default wrk when a `wrk` binary is on PATH, else autocannon)
 *   --stacks a,b BENCH_STACKS      only these stack ids
 *   --skip x,y   BENCH_SKIP        skip parts: memory, storm, propagation, docs (the
 *                                  docs/performance.md results block; `readme` is its old name)
 *   --no-pin     BENCH_PIN=0       do not pin apps to CPU 1 and load + Redis to CPU 0
 *   --against REV BENCH_AGAINST   also run this server as built from git revision REV (both
 *                                  cache modes, ids `sliding@REV`, `sliding-cache@REV`): a
 *                                  before/after measured in the same run
 *   --profile ID BENCH_PROFILE     run stack ID with node --cpu-prof into bench-results/profiles
 *                                  (`storm`: the login-storm server)
 *   --render                       only re-render latest.md and the docs/performance.md block
 *                                  from latest.json
 */
import { availableParallelism } from 'node:os';
import type { LoadDriver } from './load.js';
import { wrkAvailable } from './wrk.js';

export interface BenchOptions {
  rounds: number;
  seconds: number;
  warmup: number;
  connections: number;
  driver: LoadDriver;
  /** Requests in each MONITOR counting window. */
  countRequests: number;
  stacks: string[] | undefined;
  skip: Set<string>;
  pin: boolean;
  profile: string | undefined;
  against: string | undefined;
  quick: boolean;
  stormSeconds: number;
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const [k, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    if (['quick', 'no-pin'].includes(k)) flags.set(k, 'true');
    else flags.set(k, inline ?? argv[++i] ?? '');
  }
  const quick = flags.has('quick') || env.BENCH_QUICK === '1';
  const num = (flag: string, envName: string, def: number): number => {
    const raw = flags.get(flag) ?? env[envName];
    if (raw === undefined || raw === '') return def;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${flag} / ${envName}: "${raw}" is not a positive number`);
    return n;
  };
  const list = (flag: string, envName: string) => {
    const raw = flags.get(flag) ?? env[envName];
    return raw ? raw.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
  };
  const driver = flags.get('driver') ?? env.BENCH_DRIVER ?? (wrkAvailable() ? 'wrk' : 'autocannon');
  if (driver !== 'wrk' && driver !== 'autocannon') throw new Error(`--driver / BENCH_DRIVER: "${driver}" is not wrk or autocannon`);
  if (driver === 'wrk' && !wrkAvailable()) throw new Error('--driver wrk: no `wrk` binary on PATH (apt-get install wrk)');
  return {
    rounds: num('rounds', 'BENCH_ROUNDS', quick ? 1 : 5),
    seconds: num('seconds', 'BENCH_SECONDS', quick ? 2 : 3),
    warmup: num('warmup', 'BENCH_WARMUP', quick ? 1 : 2),
    connections: num('connections', 'BENCH_CONNECTIONS', 50),
    driver,
    countRequests: num('count-requests', 'BENCH_COUNT_REQUESTS', quick ? 1000 : 3000),
    stacks: list('stacks', 'BENCH_STACKS'),
    skip: new Set(list('skip', 'BENCH_SKIP') ?? []),
    pin: !flags.has('no-pin') && env.BENCH_PIN !== '0' && availableParallelism() >= 2,
    profile: flags.get('profile') ?? env.BENCH_PROFILE,
    against: flags.get('against') ?? env.BENCH_AGAINST,
    quick,
    stormSeconds: num('storm-seconds', 'BENCH_STORM_SECONDS', quick ? 4 : 10),
  };
}
