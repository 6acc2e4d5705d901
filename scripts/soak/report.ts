/**
 * Memory verdicts and the printed report of a soak run.
 */
import type { MemorySample } from './actors.js';
import type { KeyAudit } from './key-audit.js';
import type { SoakModel } from './model.js';

const median = (xs: number[]): number => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : Number.NaN;
};
const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;

export interface MemoryVerdict {
  perServer: Array<{ first: number; last: number; growth: number }>;
  flat: boolean;
}

/**
 * "Flat": after a warm-up (the first tenth), the median RSS of the last quarter is at
 * most 25% (and at least 24 MiB, for JIT and heap sizing noise) above the first
 * quarter's. A leak proportional to traffic grows steadily and fails this.
 */
export function memoryVerdict(samples: MemorySample[], servers: number): MemoryVerdict {
  const steady = samples.slice(Math.ceil(samples.length / 10));
  const q = Math.max(1, Math.floor(steady.length / 4));
  const perServer = Array.from({ length: servers }, (_, i) => {
    const first = median(steady.slice(0, q).map((s) => s.rss[i]!));
    const last = median(steady.slice(-q).map((s) => s.rss[i]!));
    return { first, last, growth: last - first };
  });
  const flat = perServer.every((p) => Number.isFinite(p.growth) && p.growth <= Math.max(24 * 1048576, 0.25 * p.first));
  return { perServer, flat };
}

export function printReport(o: {
  seconds: number;
  model: SoakModel;
  cli: { runs: number; kills: number; killUsers: number; failures: string[] };
  memory: MemoryVerdict;
  samples: MemorySample[];
  keys: KeyAudit;
  transportErrors: number;
  serverExits: string[];
}): void {
  const c = o.model.counts;
  const redisUsed = o.samples.map((s) => s.redisUsed).filter(Number.isFinite);
  const redisKeys = o.samples.map((s) => s.redisKeys).filter(Number.isFinite);
  const lines = [
    `soak: ${o.seconds} s, ${c.requests} requests (${Math.round(c.requests / o.seconds)}/s)`,
    `  logins ${c.logins}, refreshes ${c.refreshes}, revocations ${c.revocations} (${Object.entries(o.model.revocationsByKind).map(([k, n]) => `${k} ${n}`).join(', ')})`,
    `  families revoked ${c.revokedFamilies}; requests judged after an acknowledged revocation ${c.judgedAfterRevocation} (probes ${c.probesOfRevoked})`,
    `  replays injected ${c.replaysInjected}, detected ${c.replaysDetected}`,
    `  admin CLI runs ${o.cli.runs}: kill ${o.cli.kills}, kill --user ${o.cli.killUsers}, failures ${o.cli.failures.length}`,
    `  503 store_unavailable ${c.unavailable}, transport errors ${o.transportErrors}`,
    `  server RSS (median first → last quarter): ${o.memory.perServer.map((p) => `${mib(p.first)} → ${mib(p.last)}`).join('; ')} — ${o.memory.flat ? 'flat' : 'GROWING'}`,
    `  redis used_memory ${mib(Math.min(...redisUsed))}–${mib(Math.max(...redisUsed))}, keys ${Math.min(...redisKeys)}–${Math.max(...redisKeys)}`,
    `  keys at the end: ${Object.entries(o.keys.byKind).map(([k, n]) => `${k} ${n}`).join(', ')}; orphaned or past-deadline ${o.keys.problems.length}`,
    `  violations ${o.model.violations.length}`,
  ];
  console.log(lines.join('\n'));
  for (const v of o.model.violations.slice(0, 20)) console.log(`  ✗ [${v.rule}] ${v.detail}`);
  for (const f of o.cli.failures.slice(0, 5)) console.log(`  ! CLI ${f}`);
  for (const e of o.serverExits) console.log(`  ✗ ${e}`);
}
