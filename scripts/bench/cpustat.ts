/** Per-CPU busy share between two readings of /proc/stat (Linux): where a bottleneck is. */
import { readFileSync } from 'node:fs';

export type CpuTimes = Map<string, { busy: number; total: number }>;

export function readCpuTimes(): CpuTimes {
  const out: CpuTimes = new Map();
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^(cpu\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    out.set(m[1]!, { busy: total - idle, total });
  }
  return out;
}

/** `cpu0 93%, cpu1 55%` between two readings. */
export function busyShare(a: CpuTimes, b: CpuTimes): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [cpu, end] of b) {
    const start = a.get(cpu);
    if (!start || end.total === start.total) continue;
    out[cpu] = Math.round((100 * (end.busy - start.busy)) / (end.total - start.total));
  }
  return out;
}
