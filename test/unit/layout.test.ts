/**
 * A layout that shows the architecture: every file of src/ sits in a folder named for its
 * layer or concern, except the entry points and the kernel every folder shares, and no
 * two folders import each other in a loop (a loop means a responsibility in the wrong
 * room).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const ROOT_FILES = [
  // entry points
  'index.ts', 'internals.ts', 'library.ts', 'app.ts', 'main.ts', 'bin.ts',
  // the kernel
  'config.ts', 'errors.ts', 'clock.ts', 'log.ts', 'iso-time.ts',
];

const walk = (d: string): string[] =>
  readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]));
const sources = walk(SRC).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
const folderOf = (file: string): string | undefined => {
  const parts = relative(SRC, file).split('/');
  return parts.length > 1 ? parts[0] : undefined;
};

test('the root of src/ holds only the entry points and the shared kernel', (t) => {
  const root = sources.filter((f) => folderOf(f) === undefined).map((f) => relative(SRC, f)).sort();
  t.deepEqual(root, [...ROOT_FILES].sort());
});

test('no import loop between the folders of src/', (t) => {
  const edges = new Map<string, Set<string>>();
  for (const file of sources) {
    const from = folderOf(file);
    if (!from) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const to = folderOf(normalize(join(dirname(file), m[1]!)));
      if (to && to !== from) edges.set(from, (edges.get(from) ?? new Set()).add(to));
    }
  }
  const loops: string[] = [];
  const visit = (node: string, path: string[]) => {
    for (const next of edges.get(node) ?? []) {
      if (path.includes(next)) loops.push([...path.slice(path.indexOf(next)), next].join(' → '));
      else visit(next, [...path, next]);
    }
  };
  for (const node of edges.keys()) visit(node, [node]);
  t.deepEqual([...new Set(loops)], []);
});
