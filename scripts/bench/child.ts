/**
 * One stack under test = one child process (its own event loop and CPU account),
 * optionally pinned to a CPU so that the load generator and Redis do not share its core.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildStats, HookRequest } from './child-hook.js';

export interface ChildOptions {
  name: string;
  /** TypeScript entry; its tsc output in dist/ runs (buildForBench first). */
  entry: string;
  port: number;
  env: Record<string, string>;
  /** CPU list for taskset, e.g. '1'; undefined = not pinned. */
  cpus?: string | undefined;
  /** Extra node flags, e.g. ['--cpu-prof']. */
  nodeFlags?: string[];
  /** Path answering 2xx once the app is ready. */
  readyPath?: string;
}

export interface BenchChild {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  stats(): Promise<ChildStats>;
  eldStart(): Promise<ChildStats>;
  eldStop(): Promise<ChildStats>;
  stop(): Promise<void>;
}

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Compiles what the children run (the product, the peer apps, the hook) with tsc into
 * dist/, as `npm start` runs the product: plain node, no tsx loader. Under tsx every
 * named closure is wrapped in esbuild's `__name()` at each creation, a per-request
 * cost the deployed server does not pay (it showed in the product's profiles).
 */
export function buildForBench(): void {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.bench.json')], { stdio: 'inherit' });
  execFileSync('bash', [join(root, 'scripts/copy-assets.sh')], { stdio: 'inherit' });
  const apps = join(root, 'scripts/bench/apps');
  for (const f of readdirSync(apps).filter((n) => !n.endsWith('.ts'))) copyFileSync(join(apps, f), join(root, 'dist/scripts/bench/apps', f));
}

/**
 * This server as built from git revision `rev` (`--against`): the revision's files from
 * `git archive` in .tmp/, compiled with its own tsconfig.build.json; returns its entry.
 */
export function buildRevision(rev: string): string {
  const sha = execFileSync('git', ['-C', root, 'rev-parse', '--short', rev], { encoding: 'utf8' }).trim();
  const dir = join(root, '.tmp', `bench-${sha}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('bash', ['-c', 'git -C "$1" archive --format=tar "$2" | tar -x -C "$3"', 'archive', root, sha, dir]);
  // Its own production dependencies (they differ between revisions), compiled by this
  // repository's TypeScript without type checking (its dev dependencies are not installed).
  execFileSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir, stdio: 'inherit' });
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.build.json'), '--noCheck'], { stdio: 'inherit' });
  execFileSync('bash', [join(dir, 'scripts/copy-assets.sh')], { stdio: 'inherit' });
  return join(dir, 'dist/src/main.js');
}

/** The compiled counterpart in dist/ of a TypeScript file of this repository (JavaScript runs as is). */
const compiled = (ts: string): string => (ts.endsWith('.js') ? ts : join(root, 'dist', relative(root, ts)).replace(/\.ts$/, '.js'));

const hook = fileURLToPath(new URL('./child-hook.ts', import.meta.url));

export async function startChild(o: ChildOptions): Promise<BenchChild> {
  const nodeArgs = ['--import', compiled(hook), ...(o.nodeFlags ?? []), compiled(o.entry)];
  const [cmd, args] = o.cpus
    ? ['taskset', ['-c', o.cpus, process.execPath, ...nodeArgs]]
    : [process.execPath, nodeArgs];
  const proc: ChildProcess = spawn(cmd, args, {
    env: { ...process.env, ...o.env, BENCH_PORT: String(o.port), PORT: String(o.port) },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);

  let seq = 0;
  const waiting = new Map<number, (s: ChildStats) => void>();
  proc.on('message', (m: { id: number; stats: ChildStats }) => {
    waiting.get(m.id)?.(m.stats);
    waiting.delete(m.id);
  });
  const ask = (type: HookRequest['type']) =>
    new Promise<ChildStats>((resolve, reject) => {
      const id = ++seq;
      waiting.set(id, resolve);
      proc.send({ id, type } satisfies HookRequest, (err) => err && reject(err));
    });

  const url = `http://127.0.0.1:${o.port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${o.name} exited with ${proc.exitCode}:\n${output}`);
    try {
      const res = await fetch(url + (o.readyPath ?? '/healthz'));
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`${o.name} did not become ready:\n${output}`);
    }
    await sleep(100);
  }

  return {
    name: o.name,
    url,
    pid: proc.pid ?? 0,
    stats: () => ask('stats'),
    eldStart: () => ask('eld-start'),
    eldStop: () => ask('eld-stop'),
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
