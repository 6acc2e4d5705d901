/**
 * The main entry is the package's semver contract: these names and no others. Growing it
 * is a decision (change this list in the same commit, and say why in CHANGELOG.md);
 * everything else lives in `sliding-sessions/internals`, documented as unstable.
 */
import { fileURLToPath } from 'node:url';
import test from 'ava';
import ts from 'typescript';

const entry = (file: string) => fileURLToPath(new URL(`../../src/${file}`, import.meta.url));

function exportsOf(file: string): string[] {
  const program = ts.createProgram([file], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, noEmit: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file)!;
  return checker.getExportsOfModule(checker.getSymbolAtLocation(source)!).map((s) => s.name).sort();
}

test('the main entry exports exactly the documented surface, at most 25 names', (t) => {
  const names = exportsOf(entry('index.ts'));
  t.deepEqual(names, [
    'AppError', 'AuditEvent', 'AuditLog', 'AuthenticateOptions', 'Authenticated', 'Config', 'Env', 'ErrorCode', 'Logger',
    'SessionInfo', 'SlidingSessions', 'SlidingSessionsOptions', 'StoreFullError', 'StoreUnavailableError', 'createApp',
    'createLogger', 'loadConfig', 'slidingSessions',
  ]);
  t.true(names.length <= 25);
});

test('internals re-export the main entry, so no app has to import a name from both', (t) => {
  const internals = new Set(exportsOf(entry('internals.ts')));
  for (const name of exportsOf(entry('index.ts'))) t.true(internals.has(name), name);
});
