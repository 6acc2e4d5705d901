/**
 * Renders a run: a console table, bench-results/latest.{md,json}, and the generated
 * results block of docs/performance.md, between `<!-- bench:start -->` and
 * `<!-- bench:end -->` (the README only links there, so a run never rewrites it).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import Table from 'cli-table3';
import type { BenchRun, StackResult } from './results.js';
import { round } from './stats.js';

const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

const num = (x: number | undefined, digits = 0): string =>
  x === undefined || Number.isNaN(x) ? '–' : round(x, digits).toLocaleString('en-US');
const gib = (b: number) => `${round(b / 2 ** 30, 1).toLocaleString('en-US')} GiB`;

const HEAD = ['stack', 'req/s', '× bare Koa', 'p50 ms', 'p99 ms', 'Redis trips / req', 'writes / req', 'app CPU µs / req', 'of which kernel', 'Redis CPU µs / req'];

const row = (s: StackResult): string[] => [
  s.label,
  num(s.rps),
  num(s.ratioToKoa, 2),
  num(s.p50, 1),
  num(s.p99, 1),
  num(s.tripsPerReq, 3),
  num(s.writesPerReq, 3),
  num(s.appCpuMicrosPerReq),
  num(s.appSystemMicrosPerReq),
  num(s.redisCpuMicrosPerReq),
];

export function consoleTable(run: BenchRun): string {
  const t = new Table({ head: HEAD, style: { head: [], border: [] } });
  for (const s of run.stacks) t.push(row(s));
  return t.toString();
}

const driverText = (o: BenchRun['options']): string =>
  o.driver === 'wrk'
    ? `wrk -t1 -c ${o.connections} (a C load generator with a Lua status counter, far lighter on CPU 0 than autocannon; the MONITOR and login-storm windows still use autocannon for their fixed request count and rate)`
    : `autocannon -c ${o.connections}`;

export function markdown(run: BenchRun): string {
  const m = run.machine;
  const o = run.options;
  const out: string[] = [];
  out.push(
    `Measured ${run.date} on ${m.cpus} × ${m.model} (nproc ${m.cpus}), Node ${m.node}, redis-server ${m.redis}` +
      (m.pinned ? '; each app pinned to CPU 1, load generator and Redis on CPU 0' : '; no CPU pinning') +
      `. ${o.rounds} alternating round(s) × ${o.seconds} s per stack (serpentine order), ${driverText(o)} on GET /api/me` +
      ` with a live rolling session; medians over the rounds, and every ratio is paired: a stack's figure over` +
      ` bare Koa's (or the probe's) in the same round, then the median over rounds, because this shared machine` +
      ` drifts (the same stack measured anywhere from 40 to 80 µs per request minutes apart). Redis trips and writes per request come from` +
      ` MONITOR in a separate window of ${o.countRequests} requests (top-level commands; a script's inner` +
      ` commands make it a write, not extra trips). App CPU is the child's user + kernel time; the kernel part` +
      ` is mostly loopback TCP (sending a response wakes the load generator on the other CPU), which a real` +
      ` network would not charge the same way. Load average when the run started: ${m.loadAvg.join(' / ')}` +
      ` (1 / 5 / 15 min)${(m.loadAvg[0] ?? 0) > 0.75 * m.cpus ? ': other jobs shared the machine, so throughput is noisy and app CPU per request is the steadier figure' : ''}.`,
    '',
    `| ${HEAD.join(' | ')} |`,
    `|${HEAD.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...run.stacks.map((s) => `| ${row(s).join(' | ')} |`),
    '',
    'Commands per stack in the counting window: ' +
      run.stacks
        .filter((s) => s.commands && Object.keys(s.commands).length > 0)
        .map((s) => `${s.id}: ${Object.entries(s.commands!).map(([k, v]) => `${k} ×${v}`).join(', ')}`)
        .join('; ') +
      '.',
  );
  out.push('', ...targets(run));
  const before = againstLines(run);
  if (before.length) out.push('', ...before);
  if (run.memory) {
    out.push('', '**Redis memory per session** (`MEMORY USAGE` of every key of one session, its index entry included):', '');
    out.push('| stack | bytes / session | keys |', '|---|---:|---|');
    for (const [id, v] of Object.entries(run.memory.perSession)) {
      out.push(`| ${id} | ${num(v.bytes)} | ${v.keys.join(', ')}${v.note ? ` (${v.note})` : ''} |`);
    }
    const u = run.memory.usedMemoryPerSession;
    if (u) {
      out.push(
        '',
        `\`used_memory\` growth over ${num(u.sessions)} sessions (includes the key dictionary and expiry entries ` +
          `that MEMORY USAGE leaves out): ${num(u.standalone)} B / session standalone, ${num(u.cluster)} B / session ` +
          `on a cluster-enabled node (slot bookkeeping per key).`,
      );
    }
    if (run.memory.projection?.length) {
      out.push('', '| sessions | Redis Cluster memory (masters, before replicas) | per master |', '|---:|---:|---:|');
      for (const p of run.memory.projection) {
        out.push(`| ${num(p.sessions)} | ${gib(p.bytes)} | ${gib(p.perMasterBytes)} on each of ${p.masters} masters |`);
      }
    }
  }
  if (run.storm) {
    const s = run.storm;
    out.push(
      '',
      `**Login storm**: hashing pool capacity ≈ ${num(s.poolCapacityPerSec)} logins/s (measured); ` +
        `${num(s.offeredPerSec)} logins/s offered (4×) for the storm window — ${num(s.logins.ok)} succeeded, ` +
        `${num(s.logins.throttled)} got 429 (queue full), ${num(s.logins.other)} other. ` +
        'Meanwhile GET /api/me at a fixed rate:',
      '',
      '| phase | /api/me req/s | p50 ms | p99 ms | event-loop delay p99 ms |',
      '|---|---:|---:|---:|---:|',
      `| no logins | ${num(s.baseline.rps)} | ${num(s.baseline.p50, 1)} | ${num(s.baseline.p99, 1)} | ${num(s.baseline.eldP99, 1)} |`,
      `| login storm | ${num(s.storm.rps)} | ${num(s.storm.p50, 1)} | ${num(s.storm.p99, 1)} | ${num(s.storm.eldP99, 1)} (max ${num(s.storm.eldMax, 1)}) |`,
    );
  }
  if (run.propagation) {
    const p = run.propagation;
    out.push(
      '',
      `**Cache revocation propagation** (SESSION_CACHE=on): a session warm in the cache is revoked through another ` +
        `connection (as the CLI or another node does) while a client keeps requesting it; from the revocation's ` +
        `acknowledgement to the first refused response, over ${p.samples} samples: p50 ${num(p.p50, 2)} ms, ` +
        `p99 ${num(p.p99, 2)} ms, max ${num(p.max, 2)} ms (one HTTP round trip included). Requests sent after the ` +
        `acknowledgement and still served from the cache: ${p.servedAfterAck}.`,
    );
  }
  if (run.failures.length) out.push('', `**Failures:** ${run.failures.join('; ')}`);
  return out.join('\n');
}

/** Issue 7's targets against this run (benchmark figures, not test assertions). */
function targets(run: BenchRun): string[] {
  const by = (id: string) => run.stacks.find((s) => s.id === id);
  const koa = by('koa');
  const off = by('sliding');
  const on = by('sliding-cache');
  const probe = by('probe');
  const peers = run.stacks.filter((s) => ['koa-session', 'express-session', 'fastify-session'].includes(s.id));
  const rows: [string, string, boolean | undefined][] = [];
  const yes = (b: boolean | undefined) => (b === undefined ? '–' : b ? 'met' : 'not met');
  if (off && koa) {
    rows.push(['cache off: ≥ 0.85× bare Koa throughput', `${num(off.ratioToKoa, 2)}×`, off.ratioToKoa >= 0.85]);
    const toProbe = off.ratioToProbe ?? (probe ? off.rps / probe.rps : undefined);
    if (probe && toProbe !== undefined) rows.push(['cache off: within 10 % of the limit probe', `${num(toProbe, 2)}× the probe`, toProbe >= 0.9]);
    if (peers.length) {
      const best = peers.reduce((a, b) => (a.rps > b.rps ? a : b));
      rows.push(['cache off: ahead of every peer (throughput)', `${num(off.rps)} vs best peer ${num(best.rps)} (${best.id})`, off.rps > best.rps]);
      const leanest = peers.reduce((a, b) => (a.appCpuMicrosPerReq < b.appCpuMicrosPerReq ? a : b));
      rows.push(['cache off: less app CPU per request than every peer', `${num(off.appCpuMicrosPerReq)} µs vs ${num(leanest.appCpuMicrosPerReq)} µs (${leanest.id})`, off.appCpuMicrosPerReq < leanest.appCpuMicrosPerReq]);
    }
    if (off.tripsPerReq !== undefined) rows.push(['cache off: exactly one Redis round trip per request', num(off.tripsPerReq, 3), Math.abs(off.tripsPerReq - 1) < 0.005]);
    const cpu = off.cpuRatioToKoa ?? off.appCpuMicrosPerReq / koa.appCpuMicrosPerReq;
    rows.push(['cache off: app CPU ≤ 1.3× bare Koa', `${num(cpu, 2)}×`, cpu <= 1.3]);
    if (off.writesPerReq !== undefined) rows.push(['write throttle: ≤ 0.02 writing commands per request', num(off.writesPerReq, 3), off.writesPerReq <= 0.02]);
  }
  const headers = by('koa-headers');
  if (headers && koa) {
    rows.push(['(context) bare Koa + the security headers every response here carries', `${num(headers.ratioToKoa, 2)}× bare Koa`, undefined]);
    if (off?.ratioToKoaHeaders !== undefined) rows.push(['(context) cache off against bare Koa + the same headers', `${num(off.ratioToKoaHeaders, 2)}×`, undefined]);
    if (on?.ratioToKoaHeaders !== undefined) rows.push(['(context) cache on against bare Koa + the same headers', `${num(on.ratioToKoaHeaders, 2)}×`, undefined]);
  }
  if (on && koa) {
    rows.push(['cache on: ≥ 0.95× bare Koa throughput', `${num(on.ratioToKoa, 2)}×`, on.ratioToKoa >= 0.95]);
    if (on.tripsPerReq !== undefined) rows.push(['cache on: ≤ 0.02 Redis round trips per request', num(on.tripsPerReq, 3), on.tripsPerReq <= 0.02]);
  }
  if (run.propagation) {
    rows.push(['cache on: revocation refused on the next request after the invalidation', `${run.propagation.servedAfterAck} served after the ack; p99 ${num(run.propagation.p99, 2)} ms`, run.propagation.servedAfterAck === 0]);
  }
  const mem = run.memory?.perSession.sliding;
  if (mem) rows.push(['memory: ≤ 350 B per session with its index entry (MEMORY USAGE)', `${num(mem.bytes)} B`, mem.bytes <= 350]);
  if (run.storm) {
    rows.push(['login storm: authenticated p99 < 50 ms', `${num(run.storm.storm.p99, 1)} ms`, run.storm.storm.p99 < 50]);
    rows.push(['login storm: event-loop delay p99 < 20 ms', `${num(run.storm.storm.eldP99, 1)} ms`, run.storm.storm.eldP99 < 20]);
  }
  // Issue 13 (the one hot path): against the baselines that do the same protocol work.
  const probeProduct = by('probe-product');
  if (on?.ratioToKoaHeaders !== undefined) {
    rows.push(['cache on: ≥ 0.95× bare Koa sending the same security headers (throughput, paired)', `${num(on.ratioToKoaHeaders, 2)}×`, on.ratioToKoaHeaders >= 0.95]);
  }
  if (off?.ratioToProbeProduct !== undefined && probeProduct) {
    rows.push([
      'cache off: ≥ 0.9× the one-EVALSHA probe with the same headers and Redis client (throughput, paired)',
      `${num(off.ratioToProbeProduct, 2)}×`,
      off.ratioToProbeProduct >= 0.9,
    ]);
  }
  for (const f of run.sideBySide ?? []) {
    rows.push([`${f.id === 'sliding' ? 'cache off' : 'cache on'}: CPU per request ≤ 1.0× the build at ${f.rev} (side by side)`, `${num(f.cpuRatio, 3)}×`, f.cpuRatio <= 1]);
  }
  return [
    '**Targets of issues 7 and 13 in this run**:',
    '',
    '| target | this run | |',
    '|---|---|---|',
    ...rows.map(([t, v, ok]) => `| ${t} | ${v} | ${yes(ok)} |`),
  ];
}

export function writeResults(run: BenchRun, dir: URL): void {
  writeFileSync(new URL('latest.json', dir), `${JSON.stringify(run, null, 2)}\n`);
  writeFileSync(new URL('latest.md', dir), `# Benchmark results\n\n${markdown(run)}\n`);
}

/**
 * Replaces the generated block of the performance page (docs/performance.md), adding a
 * "Results" section when the markers are missing and creating the page when it is.
 */
export function updateResultsDoc(run: BenchRun, doc: URL): void {
  const text = existsSync(doc) ? readFileSync(doc, 'utf8') : '# Performance\n';
  const block = `${START}\n${markdown(run)}\n${END}`;
  const i = text.indexOf(START);
  const j = text.indexOf(END);
  const next =
    i >= 0 && j > i
      ? text.slice(0, i) + block + text.slice(j + END.length)
      : `${text.trimEnd()}\n\n## Results\n\n${block}\n`;
  writeFileSync(doc, next);
}

/** `--against REV`: this server now against itself at REV, paired per round. */
function againstLines(run: BenchRun): string[] {
  const lines: string[] = [];
  for (const old of run.stacks.filter((s) => s.id.includes('@'))) {
    const now = run.stacks.find((s) => s.id === old.id.slice(0, old.id.indexOf('@')));
    if (!now) continue;
    const pair = (k: 'rps' | 'appCpuMicrosPerReq') =>
      [...now.rounds.keys()].map((i) => now.rounds[i]![k] / (old.rounds[i]?.[k] ?? Number.NaN)).sort((a, b) => a - b);
    const mid = (xs: number[]) => xs[Math.floor(xs.length / 2)] ?? Number.NaN;
    lines.push(
      `- ${now.label}: ${num(now.appCpuMicrosPerReq)} µs per request now, ${num(old.appCpuMicrosPerReq)} µs at ` +
        `${old.id.slice(old.id.indexOf('@') + 1)}; paired over ${now.rounds.length} rounds: CPU per request ` +
        `${num(mid(pair('appCpuMicrosPerReq')), 2)}×, throughput ${num(mid(pair('rps')), 2)}×.`,
    );
  }
  for (const f of run.sideBySide ?? []) {
    const label = run.stacks.find((s) => s.id === f.id)?.label ?? f.id;
    const ratios = f.rounds.map((r) => r.now / r.old).sort((a, b) => a - b);
    lines.push(
      `- ${label}, side by side (both builds loaded at once on the same CPU, ${f.rounds.length} rounds): CPU per request ` +
        `${num(f.cpuRatio, 3)}× the build at ${f.rev} (rounds from ${num(ratios[0] ?? Number.NaN, 3)}× to ${num(ratios.at(-1) ?? Number.NaN, 3)}×).`,
    );
  }
  return lines.length ? ['**Against an earlier build, in the same run** (`--against`):', '', ...lines] : [];
}
