/**
 * README.md and docs/: every relative link points at a file that exists and, with an #anchor, at a heading of it;
 * long documents open with a table of contents. No services needed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, anchors, fromFile, markdownFiles, proseLines, read } from './markdown.js';

/** A document longer than this opens with a list of links to its own sections. */
const TOC_FROM_LINES = 150;

describe('README.md and docs/', () => {
  const files = markdownFiles();

  it('link to files and headings that exist', () => {
    const problems: string[] = [];
    for (const file of files) {
      for (const { line, text } of proseLines(read(file))) {
        for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
          const target = m[1]!;
          if (/^[a-z]+:/.test(target)) continue; // http:, https:, mailto:
          const [path, anchor] = target.split('#') as [string, string | undefined];
          const to = path === '' ? file : fromFile(file, path);
          if (!existsSync(join(ROOT, to))) {
            problems.push(`${file}:${line}: ${target} — no file ${to}`);
            continue;
          }
          if (anchor !== undefined && to.endsWith('.md') && !anchors(read(to)).has(anchor))
            problems.push(`${file}:${line}: ${target} — ${to} has no heading #${anchor}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('open with a table of contents when they are long', () => {
    const without = files.filter((file) => {
      const text = read(file);
      if (text.split('\n').length <= TOC_FROM_LINES || file === 'README.md') return false;
      const own = anchors(text);
      const head = text.split(/\n## /)[0]!; // before the first section
      const links = [...head.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
      return links.length < 3 || !links.every((a) => own.has(a));
    });
    expect(without, 'long documents without a table of contents before their first section').toEqual([]);
  });

  it('keep the README to about a screen', () => {
    expect(read('README.md').split('\n').length).toBeLessThanOrEqual(200);
  });
});
