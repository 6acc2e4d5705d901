/**
 * Every package an installation of sliding-sessions pulls in at run time must carry a
 * licence an MIT server can ship without conditions on its users. Refused: GPL, AGPL and
 * LGPL (copyleft: the image redistributes these packages, and LGPL's relinking and notice
 * duties still need a lawyer's look that an MIT package should not hand its adopters),
 * SSPL, BUSL and Commons Clause (not open source for a network service), and no licence
 * at all (cannot be checked). An SPDX "A OR B" passes when one side passes.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REFUSED = /\b(?:A?GPL|LGPL|SSPL|BUSL|Business Source|Commons Clause)\b|GNU (?:Affero |Lesser )?General Public/i;

interface Manifest {
  name?: string;
  version?: string;
  license?: string | { type?: string };
  licenses?: Array<{ type?: string } | string>;
  dependencies?: Record<string, string>;
}

const manifest = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));

function licenceOf(m: Manifest): string {
  const one = (l: unknown) => (typeof l === 'string' ? l : ((l as { type?: string } | undefined)?.type ?? ''));
  if (m.license) return one(m.license);
  return (m.licenses ?? []).map(one).filter(Boolean).join(' OR ');
}

function refused(licence: string): boolean {
  if (!licence.trim() || /^(UNLICENSED|SEE LICEN[CS]E IN)/i.test(licence.trim())) return true;
  // "(MIT OR GPL-3.0)": the user may take MIT. "MIT AND GPL-3.0": both apply.
  return licence
    .replace(/[()]/g, ' ')
    .split(/\s+OR\s+/i)
    .every((choice) => REFUSED.test(choice));
}

/** Directories of the installed production tree (transitive, without devDependencies). */
function productionPackages(root: string): string[] {
  let out: string;
  try {
    out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, encoding: 'utf8' });
  } catch (err) {
    // npm ls exits 1 on an extraneous or invalid package but still prints the tree.
    out = String((err as { stdout?: string }).stdout ?? '');
  }
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && l !== root.replace(/\/$/, ''));
}

test('no production dependency, direct or transitive, is copyleft or source-available', (t) => {
  const direct = Object.keys(manifest(ROOT).dependencies ?? {});
  const dirs = productionPackages(ROOT);
  const names = new Set(dirs.map((d) => manifest(d).name));
  // The walk must have seen the installed tree, or it proves nothing.
  for (const name of direct) t.true(names.has(name), `${name} is installed and walked`);
  const offenders = dirs
    .map((d) => manifest(d))
    .filter((m) => refused(licenceOf(m)))
    .map((m) => `${m.name}@${m.version}: ${licenceOf(m) || '(no licence)'}`);
  t.log(`${dirs.length} production packages checked`);
  t.deepEqual(offenders, [], `refused licences:\n${offenders.join('\n')}`);
});

test('the licence rule refuses copyleft and source-available licences and accepts permissive ones', (t) => {
  for (const l of ['AGPL-3.0-or-later', 'GPL-2.0', 'LGPL-3.0-only', 'SSPL-1.0', 'BUSL-1.1', 'MIT AND GPL-3.0', '', 'UNLICENSED']) {
    t.true(refused(l), l);
  }
  for (const l of ['MIT', 'ISC', 'Apache-2.0', 'BSD-3-Clause', '(MIT OR GPL-3.0)', 'BlueOak-1.0.0', '0BSD']) t.false(refused(l), l);
});
