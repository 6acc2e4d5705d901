/**
 * Summarizes a `node --cpu-prof` profile: self time by function and by package, so a
 * hot-path review can see where an authenticated request spends its CPU.
 *   npx tsx scripts/bench/profile-summary.ts bench-results/profiles/CPU.*.cpuprofile [top]
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: profile-summary.ts <file.cpuprofile> [top]\n');
  process.exit(2);
}
const top = Number(topArg ?? 40);
// Piped into head: stop quietly when the reader goes away.
process.stdout.on('error', () => process.exit(0));
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
p.samples.forEach((id, i) => {
  self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);

const where = (url: string): string => {
  if (!url) return '(native)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.startsWith('node:')) return 'node core';
  const src = /\/work\/main\/(.*)$/.exec(url);
  return src ? src[1]! : url;
};
const fn = new Map<string, number>();
const pkg = new Map<string, number>();
for (const [id, us] of self) {
  const n = byId.get(id)!;
  const f = `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  fn.set(f, (fn.get(f) ?? 0) + us);
  const k = where(n.callFrame.url).split('/').slice(0, 2).join('/');
  pkg.set(k, (pkg.get(k) ?? 0) + us);
}
const show = (title: string, m: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}\n`);
  }
};
// Inclusive time: each sample counts once for every distinct function on its stack.
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (n: Node) => `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
const incl = new Map<string, number>();
let busy = 0;
for (const [id, us] of self) {
  const leaf = byId.get(id)!;
  if (leaf.callFrame.functionName === '(idle)') continue;
  busy += us;
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur)!);
    if (!seen.has(l)) {
      seen.add(l);
      incl.set(l, (incl.get(l) ?? 0) + us);
    }
  }
}
process.stdout.write(`total sampled: ${(total / 1000).toFixed(0)} ms, busy ${(busy / 1000).toFixed(0)} ms\n`);
process.stdout.write('\ninclusive time (% of busy)\n');
for (const [k, us] of [...incl].sort((a, b) => b[1] - a[1]).filter(([k]) => !k.includes('(native)') && !k.includes('(root)')).slice(0, top)) {
  process.stdout.write(`${((100 * us) / busy).toFixed(1).padStart(5)}%  ${k}\n`);
}
show('self time by package / source', pkg);
show('self time by function', fn);
