/**
 * The load generator. Timed closed-loop windows (warm-up, the measured rounds) use the
 * chosen driver: wrk (a child process, cheap on CPU 0) or autocannon (programmatic, in
 * the harness process). Windows of a fixed request count (MONITOR counting) or a fixed
 * rate (login storm) always use autocannon: wrk can do neither, and those windows
 * measure counts and latency under light load, not throughput. Every non-2xx, error or
 * timeout is counted; the harness fails the run on any.
 */
import autocannon, { type Result } from 'autocannon';
import { wrkLoad } from './wrk.js';

export type LoadDriver = 'wrk' | 'autocannon';

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  /** non-2xx + errors + timeouts + resets. */
  failures: number;
  statusCodes: Record<string, number>;
}

export interface LoadOptions {
  url: string;
  cookie: string;
  connections: number;
  /** Run for this long… */
  seconds?: number;
  /** …or until this many requests completed. */
  amount?: number;
  /** Open-loop rate limit (req/s over all connections). */
  rate?: number;
  /** Default autocannon; wrk only for timed windows without a rate. */
  driver?: LoadDriver;
}

export async function load(o: LoadOptions): Promise<LoadResult> {
  if (o.driver === 'wrk' && !o.amount && !o.rate) {
    return wrkLoad({ url: o.url, cookie: o.cookie, connections: o.connections, seconds: o.seconds ?? 5 });
  }
  const r: Result = await autocannon({
    url: o.url,
    connections: o.connections,
    ...(o.amount ? { amount: o.amount } : { duration: o.seconds ?? 5 }),
    ...(o.rate ? { overallRate: o.rate } : {}),
    headers: { cookie: o.cookie, accept: 'application/json' },
    timeout: 10,
  });
  const statusCodes: Record<string, number> = {};
  for (const [code, s] of Object.entries(r.statusCodeStats)) statusCodes[code] = s.count;
  const requests = r.requests.total;
  return {
    requests,
    seconds: r.duration,
    rps: requests / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    failures: r.non2xx + r.errors + r.timeouts + r.resets,
    statusCodes,
  };
}
