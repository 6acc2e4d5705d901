/**
 * The previous release, built from git, for the rolling-upgrade test: during a deploy
 * nodes of that release and of this checkout share one Redis. Which release is
 * "previous" is read from CHANGELOG.md (its newest `## x.y.z — commit <sha>` heading),
 * so cutting a release moves the test along with no code change.
 *
 * The build is cached per commit under node_modules/.cache (wiped by `npm ci`, so it
 * never outlives the dependencies it was linked against) and reused across runs. A
 * mkdir lock keeps two ava workers from building at once, and the build goes to a temp
 * directory renamed into place, so a directory that exists is a complete build.
 */
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** A lock older than this is taken to belong to a worker that died mid-build. */
const STALE_LOCK_MS = 5 * 60_000;

export interface Release {
  version: string;
  /** As written in CHANGELOG.md (may be abbreviated). */
  commit: string;
}

export interface BuiltRelease extends Release {
  /** The full commit hash. */
  sha: string;
  /** The extracted, built tree. */
  dir: string;
  /** Its compiled server entry point (dist/src/main.js). */
  main: string;
  /** false: found in the cache. */
  built: boolean;
  /** How its production dependencies were provided (when built now). */
  deps?: 'linked' | 'installed';
  /** Wall time of this call. */
  ms: number;
}

const HEADING = /^## +(\d+\.\d+\.\d+\S*) +[—–-] +commit +([0-9a-f]{7,40})\s*$/m;

/** The newest release CHANGELOG.md names, with the commit it was cut from. */
export function previousRelease(changelog = readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8')): Release {
  const m = HEADING.exec(changelog);
  if (!m) throw new Error('CHANGELOG.md names no release: expected a heading like "## 0.1.0 — commit a14e0a7"');
  return { version: m[1]!, commit: m[2]! };
}

async function git(...args: string[]): Promise<string> {
  const { stdout } = await run('git', args, { cwd: ROOT, maxBuffer: 1 << 20 });
  return stdout.trim();
}

async function resolveCommit(r: Release): Promise<string> {
  try {
    await git('cat-file', '-e', `${r.commit}^{commit}`);
    return await git('rev-parse', `${r.commit}^{commit}`);
  } catch {
    throw new Error(
      `Release ${r.version} (commit ${r.commit}, from CHANGELOG.md) is not in this clone. ` +
        'The rolling-upgrade test needs the full history: git fetch --unshallow (or clone without --depth).',
    );
  }
}

type Lock = { packages?: Record<string, { version?: string; resolved?: string; integrity?: string; dev?: boolean; devOptional?: boolean }> };

/** path in node_modules → what is installed there, for the packages a production install gets. */
function productionPackages(lock: Lock): Map<string, string> {
  const out = new Map<string, string>();
  for (const [path, p] of Object.entries(lock.packages ?? {})) {
    if (path === '' || p.dev || p.devOptional) continue;
    out.set(path, `${p.version ?? ''} ${p.integrity ?? p.resolved ?? ''}`);
  }
  return out;
}

/**
 * true when every production package of the release's lockfile is installed here at
 * the same path and version: its node_modules can then be ours, with nothing to fetch.
 */
function sameProductionDeps(releaseDir: string): boolean {
  try {
    const theirs = productionPackages(JSON.parse(readFileSync(join(releaseDir, 'package-lock.json'), 'utf8')) as Lock);
    const ours = productionPackages(JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as Lock);
    if (theirs.size === 0) return false;
    for (const [path, v] of theirs) if (ours.get(path) !== v) return false;
    return true;
  } catch {
    return false;
  }
}

async function build(sha: string, tmp: string): Promise<'linked' | 'installed'> {
  mkdirSync(tmp, { recursive: true });
  const tar = `${tmp}.tar`;
  try {
    await git('archive', '--format=tar', '-o', tar, sha);
    await run('tar', ['-xf', tar, '-C', tmp]);
  } finally {
    rmSync(tar, { force: true });
  }
  let deps: 'linked' | 'installed';
  if (sameProductionDeps(tmp)) {
    symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(tmp, 'node_modules'), 'dir');
    deps = 'linked';
  } else {
    // From npm's cache when it has them (a CI runner that just ran npm ci does).
    await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: tmp, maxBuffer: 8 << 20 });
    deps = 'installed';
  }
  // This checkout's compiler, JavaScript only: the release was type-checked when it was
  // made, its own dev dependencies are not installed, and nothing reads its .d.ts.
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await run(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--noCheck', '--declaration', 'false'], {
    cwd: tmp,
    maxBuffer: 8 << 20,
  });
  await run('bash', ['scripts/copy-assets.sh'], { cwd: tmp });
  if (!existsSync(join(tmp, 'dist', 'src', 'main.js'))) throw new Error(`the build of ${sha} has no dist/src/main.js`);
  return deps;
}

/** The lock of a worker that died mid-build (ava timeout, Ctrl-C) must not stall the next run. */
function lockIsStale(lock: string): boolean {
  try {
    const pid = Number(readFileSync(join(lock, 'pid'), 'utf8'));
    if (pid > 0 && !alive(pid)) return true;
  } catch {
    // no pid yet: the holder has just taken the lock
  }
  try {
    return Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS;
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A cached build whose node_modules is a link to ours stays usable only while our
 * production packages still match its lockfile (a local `npm install` may change them).
 */
function usable(dir: string): boolean {
  try {
    return !lstatSync(join(dir, 'node_modules')).isSymbolicLink() || sameProductionDeps(dir);
  } catch {
    return false;
  }
}

/**
 * Builds the previous release once (cached per commit) and says where its server is.
 * PREVIOUS_RELEASE_CACHE moves the cache (e.g. out of a node_modules shared by several
 * worktrees).
 */
export async function buildPreviousRelease(
  cacheRoot = process.env.PREVIOUS_RELEASE_CACHE || join(ROOT, 'node_modules', '.cache', 'sliding-sessions-previous'),
): Promise<BuiltRelease> {
  const started = Date.now();
  const release = previousRelease();
  const sha = await resolveCommit(release);
  const dir = join(cacheRoot, sha);
  const lock = `${dir}.lock`;
  const result = (built: boolean, deps?: 'linked' | 'installed'): BuiltRelease => ({
    ...release,
    sha,
    dir,
    main: join(dir, 'dist', 'src', 'main.js'),
    built,
    ...(deps ? { deps } : {}),
    ms: Date.now() - started,
  });
  mkdirSync(cacheRoot, { recursive: true });
  for (;;) {
    if (existsSync(dir) && usable(dir)) return result(false);
    try {
      mkdirSync(lock);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (lockIsStale(lock)) rmSync(lock, { recursive: true, force: true });
      else await sleep(200);
      continue;
    }
    writeFileSync(join(lock, 'pid'), String(process.pid));
    const tmp = `${dir}.tmp-${process.pid}`;
    try {
      if (existsSync(dir)) {
        if (usable(dir)) return result(false);
        rmSync(dir, { recursive: true, force: true });
      }
      rmSync(tmp, { recursive: true, force: true });
      const deps = await build(sha, tmp);
      try {
        renameSync(tmp, dir);
      } catch (err) {
        // Two workers both took a lock they each judged stale: the first rename wins.
        const code = (err as NodeJS.ErrnoException).code;
        if ((code === 'ENOTEMPTY' || code === 'EEXIST') && usable(dir)) return result(false);
        throw err;
      }
      return result(true, deps);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
      rmSync(lock, { recursive: true, force: true });
    }
  }
}
