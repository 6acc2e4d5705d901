/**
 * The throughput part: every stack warmed up, then measured in alternating rounds, in
 * serpentine order (A B C, C B A, A B C …) so that drift on a shared machine hits every
 * stack alike and no stack always runs next to the baseline; ratios are paired per
 * round (see StackResult); then one MONITOR window per stack to count its Redis commands.
 */
import type { Redis } from 'ioredis';
import type { BenchChild } from './child.js';
import { load } from './load.js';
import { busyShare, readCpuTimes } from './cpustat.js';
import { countCommands } from './monitor.js';
import { redisClientAddresses } from './sockets.js';
import type { BenchOptions } from './options.js';
import type { RoundFigures, SideBySideFigures, StackResult } from './results.js';
import type { Stack } from './stacks.js';
import { median } from './stats.js';

export interface Running {
  stack: Stack;
  child: BenchChild;
  cookie: string;
}

async function redisCpuMicros(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const get = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (get('used_cpu_user') + get('used_cpu_sys')) * 1e6;
}

export async function measureThroughput(
  running: Running[],
  redis: Redis,
  redisUrl: string,
  redisPort: number,
  o: BenchOptions,
  log: (s: string) => void,
): Promise<StackResult[]> {
  const url = (r: Running) => `${r.child.url}/api/me`;
  for (const r of running) {
    const w = await load({ url: url(r), cookie: r.cookie, connections: o.connections, seconds: o.warmup, driver: o.driver });
    if (w.failures) throw new Error(`${r.stack.id}: ${w.failures} failed requests while warming up: ${JSON.stringify(w.statusCodes)}`);
  }

  const results = new Map<string, StackResult>();
  for (const r of running) {
    results.set(r.stack.id, {
      id: r.stack.id,
      label: r.stack.label,
      rounds: [],
      rps: 0,
      ratioToKoa: Number.NaN,
      p50: 0,
      p99: 0,
      appCpuMicrosPerReq: 0,
      redisCpuMicrosPerReq: 0,
      failures: 0,
      statusCodes: {},
    });
  }
  for (let round = 1; round <= o.rounds; round++) {
    for (const r of round % 2 === 1 ? running : [...running].reverse()) {
      const res = results.get(r.stack.id)!;
      const before = await r.child.stats();
      const cpu0 = before.cpuMicros;
      const rcpu0 = await redisCpuMicros(redis);
      const cores0 = readCpuTimes();
      const l = await load({ url: url(r), cookie: r.cookie, connections: o.connections, seconds: o.seconds, driver: o.driver });
      const cores = busyShare(cores0, readCpuTimes());
      const after = await r.child.stats();
      const cpu1 = after.cpuMicros;
      const rcpu1 = await redisCpuMicros(redis);
      const fig: RoundFigures = {
        rps: l.rps,
        p50: l.p50,
        p99: l.p99,
        appCpuMicrosPerReq: (cpu1 - cpu0) / l.requests,
        appSystemMicrosPerReq: (after.systemMicros - before.systemMicros) / l.requests,
        redisCpuMicrosPerReq: (rcpu1 - rcpu0) / l.requests,
        cores,
      };
      res.rounds.push(fig);
      res.failures += l.failures;
      for (const [k, v] of Object.entries(l.statusCodes)) res.statusCodes[k] = (res.statusCodes[k] ?? 0) + v;
      log(`round ${round} ${r.stack.id.padEnd(16)} ${Math.round(l.rps)} req/s p99 ${l.p99} ms, ${Math.round(fig.appCpuMicrosPerReq)} µs CPU/req (kernel ${Math.round(fig.appSystemMicrosPerReq ?? 0)}); busy ${Object.entries(cores).map(([c, v]) => `${c} ${v}%`).join(', ')}${l.failures ? `, ${l.failures} FAILED` : ''}`);
    }
  }
  for (const res of results.values()) {
    const m = (k: Exclude<keyof RoundFigures, 'cores'>) => median(res.rounds.map((f) => f[k] ?? Number.NaN) as number[]);
    res.rps = m('rps');
    res.p50 = m('p50');
    res.p99 = m('p99');
    res.appCpuMicrosPerReq = m('appCpuMicrosPerReq');
    res.appSystemMicrosPerReq = m('appSystemMicrosPerReq');
    res.redisCpuMicrosPerReq = m('redisCpuMicrosPerReq');
  }
  const paired = (a: StackResult, base: StackResult | undefined, k: 'rps' | 'appCpuMicrosPerReq') =>
    base ? median(a.rounds.map((f, i) => f[k] / (base.rounds[i]?.[k] ?? Number.NaN))) : undefined;
  const koa = results.get('koa');
  const probe = results.get('probe');
  for (const res of results.values()) {
    res.ratioToKoa = paired(res, koa, 'rps') ?? Number.NaN;
    res.cpuRatioToKoa = paired(res, koa, 'appCpuMicrosPerReq');
    res.ratioToProbe = paired(res, probe, 'rps');
    res.ratioToKoaHeaders = paired(res, results.get('koa-headers'), 'rps');
    res.ratioToProbeProduct = paired(res, results.get('probe-product'), 'rps');
  }

  for (const r of running) {
    const res = results.get(r.stack.id)!;
    const counter = await countCommands(redisUrl, () => redisClientAddresses(r.child.pid, redisPort));
    const l = await load({ url: url(r), cookie: r.cookie, connections: 10, amount: o.countRequests });
    const c = await counter.stop();
    res.failures += l.failures;
    res.tripsPerReq = c.commands / l.requests;
    res.writesPerReq = c.writes / l.requests;
    res.commands = c.byName;
    log(`count ${r.stack.id.padEnd(16)} ${res.tripsPerReq.toFixed(3)} trips/req, ${res.writesPerReq.toFixed(3)} writes/req ${JSON.stringify(c.byName)}`);
  }
  return [...results.values()];
}

/**
 * `--against REV`, side by side: each build of this server now and at REV answer their
 * own load generator at the same time, both on the CPU the apps are pinned to. Whatever
 * the shared machine does (clock, steal, a neighbour) in a window, it does to both; the
 * kernel splits the CPU between them, and CPU per request is each one's own time over
 * its own requests. Rounds alternate which load starts first.
 */
export async function measureSideBySide(
  running: Running[],
  o: BenchOptions,
  log: (s: string) => void,
): Promise<SideBySideFigures[]> {
  const out: SideBySideFigures[] = [];
  for (const old of running.filter((r) => r.stack.id.includes('@'))) {
    const at = old.stack.id.indexOf('@');
    const now = running.find((r) => r.stack.id === old.stack.id.slice(0, at));
    if (!now) continue;
    const fig: SideBySideFigures = { id: now.stack.id, rev: old.stack.id.slice(at + 1), rounds: [], cpuRatio: Number.NaN };
    for (let round = 1; round <= o.rounds; round++) {
      const pair = round % 2 === 1 ? [now, old] : [old, now];
      const before = await Promise.all(pair.map((r) => r.child.stats()));
      const loads = await Promise.all(
        pair.map((r) => load({ url: `${r.child.url}/api/me`, cookie: r.cookie, connections: o.connections, seconds: o.seconds, driver: o.driver })),
      );
      const after = await Promise.all(pair.map((r) => r.child.stats()));
      const perReq = pair.map((_, i) => (after[i]!.cpuMicros - before[i]!.cpuMicros) / loads[i]!.requests);
      const failed = loads.reduce((n, l) => n + l.failures, 0);
      if (failed) throw new Error(`${now.stack.id} side by side: ${failed} failed requests`);
      const [n, p] = pair[0] === now ? [0, 1] : [1, 0];
      fig.rounds.push({ now: perReq[n]!, old: perReq[p]!, nowRequests: loads[n]!.requests, oldRequests: loads[p]!.requests });
      log(`side by side ${round} ${now.stack.id}: ${perReq[n]!.toFixed(1)} µs/req now, ${perReq[p]!.toFixed(1)} µs/req at ${fig.rev} (${(perReq[n]! / perReq[p]!).toFixed(3)}×)`);
    }
    fig.cpuRatio = median(fig.rounds.map((r) => r.now / r.old));
    out.push(fig);
  }
  return out;
}
