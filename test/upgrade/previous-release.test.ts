/**
 * The helper that builds the previous release for the rolling-upgrade test: which
 * release CHANGELOG.md names, and a cache that two ava workers can fill at once (or
 * after one died holding the lock) without a torn or doubled build.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { buildPreviousRelease, previousRelease } from '../helpers/previous-release.js';

test('the newest release heading names the previous release, below Unreleased', (t) => {
  const changelog = [
    '# Changelog',
    '',
    '## Unreleased',
    '- something new',
    '',
    '## 0.2.0 — commit 0123abcd',
    '- later',
    '',
    '## 0.1.0 — commit a14e0a7',
    '- first',
  ].join('\n');
  t.deepEqual(previousRelease(changelog), { version: '0.2.0', commit: '0123abcd' });
  t.deepEqual(previousRelease('## 1.0.0-rc.1 - commit a14e0a7fb3f7a5081fdf0a372610eaaa80055612\n'), {
    version: '1.0.0-rc.1',
    commit: 'a14e0a7fb3f7a5081fdf0a372610eaaa80055612',
  });
});

test('a changelog without a release heading is an error that shows the expected form', (t) => {
  const err = t.throws(() => previousRelease('# Changelog\n\n## Unreleased\n- x\n\n## 0.1.0\n'));
  t.regex(err.message, /## 0\.1\.0 — commit a14e0a7/);
});

test('two builds at once, after a worker died holding the lock, make one complete build that later calls reuse', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ss-previous-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const sha = execFileSync('git', ['rev-parse', `${previousRelease().commit}^{commit}`], { encoding: 'utf8' }).trim();
  const dead = spawnSync('true').pid;
  mkdirSync(join(root, `${sha}.lock`));
  writeFileSync(join(root, `${sha}.lock`, 'pid'), String(dead));

  const [a, b] = await Promise.all([buildPreviousRelease(root), buildPreviousRelease(root)]);
  t.is(a.dir, b.dir);
  t.is([a.built, b.built].filter(Boolean).length, 1, 'built once');
  t.true(existsSync(a.main));
  t.true(existsSync(join(a.dir, 'dist', 'src', 'store', 'lua')), 'the Lua scripts were copied beside the code');
  t.deepEqual(readdirSync(root), [sha], 'no lock or temp directory left behind');
  t.log(`cold build: ${Math.max(a.ms, b.ms)} ms, dependencies ${a.deps ?? b.deps}`);

  const again = await buildPreviousRelease(root);
  t.false(again.built);
  t.is(again.main, a.main);
});
