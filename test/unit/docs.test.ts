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

test("design.md's record table lists exactly the fields of the record codec (src/store/record.ts)", async (t) => {
  const { F } = await import('../../src/store/record.js');
  const design = read('docs/design.md');
  const at = design.indexOf('**The record**');
  t.true(at >= 0, 'design.md has "**The record**"');
  const rows = design.slice(at).split('\n\n')[1]!.split('\n');
  t.regex(rows[0]!, /^\| field \| meaning \|$/);
  const documented = rows.slice(2).map((row) => /^\| `(\w+)` \|/.exec(row)?.[1] ?? `unreadable row: ${row}`);
  t.deepEqual([...documented].sort(), Object.values(F).sort());
  t.is(new Set(documented).size, documented.length, 'each field once');
});

/**
 * Source comments send readers to a section by its heading, `(docs/design.md, "The
 * model")`, or to a numbered invariant; a renamed or removed heading leaves them
 * pointing nowhere. A heading matches whatever its markup (`code`, links), and so does an
 * explicit `<a id>` anchor.
 */
test('every docs section and invariant a source comment cites exists in that page', (t) => {
  const plain = (s: string) => s.replace(/[`*_]/g, '').replace(/\s+/g, ' ').trim().toLowerCase();
  const sections = (page: string) => {
    const text = read(page);
    return new Set([
      ...[...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => plain(m[1]!)),
      ...[...text.matchAll(/<a id="([^"]+)"><\/a>/g)].map((m) => plain(m[1]!.replace(/-/g, ' '))),
    ]);
  };
  const design = read('docs/design.md');
  const invariants = design.slice(design.indexOf('\n## Invariants'), design.indexOf('\n## ', design.indexOf('\n## Invariants') + 1));
  const invariant = (n: string) => new RegExp(`^${n}\\. \\*\\*`, 'm').test(invariants);
  const sources = (dir: string): string[] =>
    readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? sources(`${dir}/${e.name}`) : /\.(ts|lua)$/.test(e.name) ? [`${dir}/${e.name}`] : [],
    );
  const files = ['src', 'scripts', 'test', 'examples'].filter((d) => existsSync(join(root, d))).flatMap(sources);
  let sectionsCited = 0;
  let invariantsCited = 0;
  for (const file of files) {
    // A citation may wrap onto the next comment line.
    const text = read(file).replace(/\n\s*(?:\*|\/\/|--)\s?/g, ' ');
    // The first quoted name is the section; a second one names another section of the page.
    for (const [, page, first, second] of text.matchAll(/(README\.md|docs\/[\w-]+\.md), "([^"]+)"(?: and "([^"]+)")?/g)) {
      t.true(existsSync(join(root, page!)), `${file}: ${page}`);
      if (!existsSync(join(root, page!))) continue;
      for (const section of [first, second].filter((s) => s !== undefined)) {
        sectionsCited++;
        t.true(sections(page!).has(plain(section!)), `${file}: ${page}, "${section}"`);
      }
    }
    for (const [, numbers] of text.matchAll(/docs\/design\.md, invariants? (\d+(?:(?:, | and )\d+)*)/g)) {
      for (const n of numbers!.split(/, | and /)) {
        invariantsCited++;
        t.true(invariant(n), `${file}: docs/design.md, invariant ${n}`);
      }
    }
  }
  t.true(sectionsCited > 10 && invariantsCited > 10, `the patterns still find the citations (${sectionsCited}, ${invariantsCited})`);
});
