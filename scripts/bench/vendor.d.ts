// Minimal typings for the untyped benchmark peers and the load generator.

declare module 'koa-redis' {
  interface KoaRedisStore {
    get(key: string, maxAge: number | 'session' | undefined, data: { rolling: boolean }): Promise<unknown>;
    set(key: string, sess: unknown, maxAge: number | 'session' | undefined, data: { changed: boolean; rolling: boolean }): Promise<unknown>;
    destroy(key: string): Promise<unknown>;
  }
  function redisStore(opts: { url?: string; keyPrefix?: string; client?: unknown }): KoaRedisStore;
  export default redisStore;
}

declare module 'autocannon' {
  interface Histogram {
    average: number;
    mean: number;
    stddev: number;
    min: number;
    max: number;
    total: number;
    p50: number;
    p90: number;
    p99: number;
    p999?: number;
    [k: string]: number | undefined;
  }
  interface Result {
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    resets: number;
    mismatches: number;
    '2xx': number;
    statusCodeStats: Record<string, { count: number }>;
    latency: Histogram;
    requests: Histogram & { sent: number };
  }
  interface Options {
    url: string;
    connections?: number;
    duration?: number;
    amount?: number;
    overallRate?: number;
    method?: string;
    headers?: Record<string, string>;
    timeout?: number;
    pipelining?: number;
  }
  function autocannon(opts: Options): Promise<Result> & { stop(): void };
  export default autocannon;
  export type { Options, Result };
}
