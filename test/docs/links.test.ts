import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// The README is the front door and docs/ the reference behind it: every relative link in them
// must reach a file of the repository, and every #anchor a heading of that file.

const ROOT = resolve(new URL('../../', import.meta.url).pathname);
const DOCS = ['README.md', 'DEVELOPERS.md', 'infra/README.md', ...readdirSync(join(ROOT, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
  f.endsWith('.md'),
);

/** The text of a Markdown file without its fenced code blocks (a `#` there is no heading). */
function prose(text: string): string {
  return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, '');
}

/** The anchors GitHub gives a file's headings: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2... */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of prose(markdown).matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const base = (m[1] as string)
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** The relative link targets of a Markdown file: inline `[text](target)` and `[label]: target` definitions. */
function relativeLinks(markdown: string): string[] {
  const text = prose(markdown).replace(/`[^`\n]*`/g, '');
  const targets = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g), ...text.matchAll(/^\s*\[[^\]]+\]:\s+(\S+)/gm)].map(
    (m) => m[1] as string,
  );
  return targets.filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t));
}

describe('links of the README and docs/', () => {
  it('finds the documents to check', () => {
    expect(DOCS).toContain('README.md');
    expect(DOCS).toContain('docs/contract.md');
    expect(DOCS).toContain('docs/architecture.md');
  });

  for (const doc of DOCS) {
    it(`${doc}: every relative link reaches a file of the repository and an existing heading`, () => {
      const broken: string[] = [];
      const text = readFileSync(join(ROOT, doc), 'utf8');
      for (const link of relativeLinks(text)) {
        const [path = '', anchor] = link.split('#');
        const target = path === '' ? join(ROOT, doc) : resolve(ROOT, dirname(doc), decodeURIComponent(path));
        if (relative(ROOT, target).startsWith('..')) broken.push(`${link}: outside the repository`);
        else if (!existsSync(target)) broken.push(`${link}: no such file`);
        else if (anchor !== undefined && !(statSync(target).isFile() && anchors(readFileSync(target, 'utf8')).has(anchor)))
          broken.push(`${link}: no heading with that anchor`);
      }
      expect(broken).toEqual([]);
    });
  }

  it('points at the contract in the repository, never at files beside it', () => {
    const outside = DOCS.filter((doc) => /\.\.\/shared\/|shared\/specs/.test(readFileSync(join(ROOT, doc), 'utf8')));
    expect(outside).toEqual([]);
  });

  it('computes anchors and links as GitHub does', () => {
    const md = '# Title\n## `npm start`\n## Lockout: what counts, and how many\n```sh\n# not a heading\n```\n## Title\n';
    expect([...anchors(md)]).toEqual(['title', 'npm-start', 'lockout-what-counts-and-how-many', 'title-1']);
    expect(relativeLinks('[a](docs/x.md#y) [b](https://e.org) `[c](z.md)` [d](#t)\n[e]: ../f.md\n')).toEqual([
      'docs/x.md#y',
      '#t',
      '../f.md',
    ]);
  });
});
