/**
 * Small readers of the project's markdown (README.md, docs/): headings and their GitHub anchors, sections, table
 * rows, code spans. Only what test/docs needs; no markdown library.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

/** Repository-relative paths of README.md and every markdown file under docs/. */
export function markdownFiles(): string[] {
  const out = ['README.md'];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(ROOT, rel))) {
      const r = join(rel, name);
      if (statSync(join(ROOT, r)).isDirectory()) walk(r);
      else if (name.endsWith('.md')) out.push(r.split(sep).join('/'));
    }
  };
  walk('docs');
  return out;
}

/** Lines outside fenced code blocks, with their 1-based numbers. */
export function proseLines(text: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  let fenced = false;
  text.split('\n').forEach((l, i) => {
    if (/^\s*```/.test(l)) fenced = !fenced;
    else if (!fenced) out.push({ line: i + 1, text: l });
  });
  return out;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
export const slug = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

/** The anchors of a markdown text's headings (a repeated heading gets -1, -2, … as on GitHub). */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const { text: l } of proseLines(text)) {
    const m = /^#{1,6}\s+(.*)$/.exec(l);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** The text under a heading (exact heading line), up to the next heading of the same or a higher level. */
export function section(text: string, heading: string): string {
  const lines = text.split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`no heading "${heading}"`);
  const level = /^#+/.exec(heading)![0].length;
  let end = start + 1;
  while (end < lines.length && !new RegExp(`^#{1,${level}}\\s`).test(lines[end]!)) end++;
  return lines.slice(start + 1, end).join('\n');
}

/** The cells of a markdown table row, trimmed; undefined when the line is no table row. */
export function cells(line: string): string[] | undefined {
  const t = line.trim();
  if (!t.startsWith('|') || !t.endsWith('|')) return undefined;
  return t
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

/** The contents of the code spans (`…`) in a text. */
export const codeSpans = (text: string): string[] => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

/** A path relative to the repository root, from one relative to a markdown file. */
export const fromFile = (mdFile: string, target: string): string =>
  relative(ROOT, join(ROOT, dirname(mdFile), target))
    .split(sep)
    .join('/');
