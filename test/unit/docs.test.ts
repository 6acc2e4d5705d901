/**
 * The README and docs/ are what users read outside this repository: they stay short
 * enough to read (README ≤ 15 KB), point only at files that exist here, and never at
 * files users do not have.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const read = (page: string) => readFileSync(join(root, page), 'utf8');

test('the README stays under 15 KB', (t) => {
  t.true(Buffer.byteLength(read('README.md')) <= 15 * 1024);
});

test('the README links to every page of docs/', (t) => {
  const readme = read('README.md');
  for (const page of pages.filter((p) => p !== 'README.md')) t.true(readme.includes(`](${page})`), page);
});

test('no page points outside the repository or at numbered sections of an outside file', (t) => {
  for (const page of pages) {
    const text = read(page);
    t.false(text.includes('../shared'), page);
    t.false(/DESIGN(\.md)? ?§/.test(text), page);
    t.false(/checklist [A-Z]{1,2}-\d/.test(text), page);
  }
});

test('every relative link resolves to a file, and every anchor to a heading', (t) => {
  // GitHub's anchors: lower case, punctuation dropped, spaces → '-'.
  const slug = (h: string) => h.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
  const anchors = (page: string) => new Set([...read(page).matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));
  for (const page of pages) {
    for (const [, target] of read(page).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      const [file, anchor] = target!.split('#') as [string, string | undefined];
      const path = file ? resolve(dirname(join(root, page)), file) : join(root, page);
      t.true(existsSync(path), `${page} → ${target}`);
      if (anchor && path.endsWith('.md')) t.true(anchors(path.slice(root.length)).has(anchor), `${page} → ${target}`);
    }
  }
});
