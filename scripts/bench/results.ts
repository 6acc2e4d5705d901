/** The shape of one benchmark run, as written to bench-results/latest.json. */
export interface RoundFigures {
  rps: number;
  p50: number;
  p99: number;
  appCpuMicrosPerReq: number;
  /** The kernel's share of appCpuMicrosPerReq. */
  appSystemMicrosPerReq?: number;
  redisCpuMicrosPerReq: number;
  /** Busy share of each CPU during the window (cpu0, cpu1, …), in %. */
  cores?: Record<string, number>;
}

export interface StackResult {
  id: string;
  label: string;
  rounds: RoundFigures[];
  /** Medians over the rounds. */
  rps: number;
  /**
   * Paired ratios: each round's figure over bare Koa's (or the probe's) in the same
   * round, then the median over rounds. Slow drift on a shared machine (the same stack
   * measured 40 and 80 µs per request minutes apart) moves both sides of a pair alike.
   */
  ratioToKoa: number;
  cpuRatioToKoa?: number;
  ratioToProbe?: number;
  /** Paired over bare Koa sending the same security headers (the koa-headers stack). */
  ratioToKoaHeaders?: number;
  /** Paired over the probe with this server's headers and Redis client (probe-product). */
  ratioToProbeProduct?: number;
  p50: number;
  p99: number;
  appCpuMicrosPerReq: number;
  appSystemMicrosPerReq?: number;
  redisCpuMicrosPerReq: number;
  /** From the MONITOR window (undefined when not counted). */
  tripsPerReq?: number;
  writesPerReq?: number;
  commands?: Record<string, number>;
  failures: number;
  statusCodes: Record<string, number>;
}

export interface MemoryFigures {
  /** Per stack id: bytes of MEMORY USAGE for one session, all of its keys. */
  perSession: Record<string, { bytes: number; keys: string[]; note: string }>;
  /** used_memory growth per session over a bulk of sessions (dict/expire overhead included). */
  usedMemoryPerSession?: { standalone: number; cluster: number; sessions: number };
  projection?: { sessions: number; bytes: number; perMasterBytes: number; masters: number }[];
}

export interface StormFigures {
  /** Logins/s the hashing pool can absorb (measured) and the rate sent (4×). */
  poolCapacityPerSec: number;
  offeredPerSec: number;
  logins: { ok: number; throttled: number; other: number };
  baseline: { p50: number; p99: number; eldP99: number; rps: number };
  storm: { p50: number; p99: number; eldP99: number; eldMax: number; rps: number };
  failures: number;
}

export interface PropagationFigures {
  samples: number;
  /** ms from the revocation's acknowledgement to the first refused response. */
  p50: number;
  p99: number;
  max: number;
  /** Requests sent after the acknowledgement that were still answered 200. */
  servedAfterAck: number;
}

export interface BenchRun {
  date: string;
  machine: { cpus: number; model: string; node: string; redis: string; pinned: boolean; loadAvg: number[] };
  /** driver: the throughput rounds' load generator (absent in runs before it was chosen: autocannon). */
  options: { rounds: number; seconds: number; connections: number; countRequests: number; driver?: 'wrk' | 'autocannon' };
  stacks: StackResult[];
  memory?: MemoryFigures;
  storm?: StormFigures;
  propagation?: PropagationFigures;
  /** `--against`: each build now beside itself at REV, both loaded at once (sideBySide). */
  sideBySide?: SideBySideFigures[];
  failures: string[];
}

/**
 * One stack now and at an earlier build, loaded at the same time on the same CPU: both
 * share every moment of the machine's drift, so their CPU per request compares closer
 * than windows taken one after the other.
 */
export interface SideBySideFigures {
  /** The stack id now (its earlier build is `<id>@<rev>`). */
  id: string;
  rev: string;
  /** Per round: CPU µs per request of each, and requests served by each. */
  rounds: { now: number; old: number; nowRequests: number; oldRequests: number }[];
  /** Median over rounds of now ÷ old, CPU per request. */
  cpuRatio: number;
}
