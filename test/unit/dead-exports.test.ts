/**
 * No dead code behind an export: every value a module of src/ exports is used by
 * another file (src, tests, scripts, examples), or is part of the package's surface
 * (src/index.ts, src/internals.ts re-export it). A value used only in its own file is
 * not exported; one used nowhere is deleted. Types are exempt: an exported type names
 * what a public signature takes.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const walk = (d: string): string[] =>
  readdirSync(d).flatMap((f) => {
    const p = join(d, f);
    if (statSync(p).isDirectory()) return walk(p);
    return p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });

test('every exported value of src/ is used outside its own file or re-exported by the package entries', (t) => {
  const src = walk(join(ROOT, 'src'));
  const files = [...src, ...['test', 'scripts', 'examples'].flatMap((d) => walk(join(ROOT, d)))];
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true, baseUrl: ROOT,
    paths: { 'sliding-sessions': ['./src/index.ts'], 'sliding-sessions/internals': ['./src/internals.ts'] },
  });
  const checker = program.getTypeChecker();
  const resolved = (s: ts.Symbol): ts.Symbol => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  // Every symbol some file refers to, by the file it is referred from.
  const usedFrom = new Map<ts.Symbol, Set<string>>();
  for (const sf of program.getSourceFiles()) {
    if (sf.isDeclarationFile || sf.fileName.includes('node_modules')) continue;
    const visit = (n: ts.Node): void => {
      if (ts.isIdentifier(n)) {
        const s = checker.getSymbolAtLocation(n);
        if (s) {
          const target = resolved(s);
          const from = usedFrom.get(target) ?? new Set<string>();
          from.add(resolve(sf.fileName));
          usedFrom.set(target, from);
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  const entries = new Set(['index.ts', 'internals.ts'].map((f) => resolve(ROOT, 'src', f)));
  const dead: string[] = [];
  for (const file of src.map((f) => resolve(f))) {
    if (entries.has(file)) continue;
    const sf = program.getSourceFile(file);
    const mod = sf && checker.getSymbolAtLocation(sf);
    if (!mod) continue;
    for (const ex of checker.getExportsOfModule(mod)) {
      const target = resolved(ex);
      if (!(target.flags & ts.SymbolFlags.Value) || target.flags & ts.SymbolFlags.Type & ~ts.SymbolFlags.Class) continue;
      const from = [...(usedFrom.get(target) ?? [])].filter((f) => f !== file);
      if (from.length === 0) dead.push(`${file.slice(ROOT.length)}: ${ex.name}`);
    }
  }
  t.deepEqual(dead, []);
});
