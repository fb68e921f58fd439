/**
 * docs/rules.md, the project's rule catalogue, against the code: every rule id (GT-n, DC-n, AL-n, sub-ids such as
 * GT-8b) used in code or tests has a section; every section's rule is used in the code (or is marked "not
 * implemented" and is not); every file it names exists and every name it gives is declared in that file.
 * No services needed: it reads files.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, codeSpans, proseLines, read } from './markdown.js';

/** Where rule ids are used: the production code and the tests (DESIGN.md's folders, the two processes). */
const CODE_ROOTS = [
  'domain',
  'services',
  'workflows',
  'activities',
  'api',
  'db',
  'notifications',
  'lib',
  'worker.ts',
  'server.ts',
];
const TEST_ROOTS = ['test'];

/**
 * A rule id: GT-8, or a sub-id such as GT-8b. Not a case reference (GT-2026-000042: a number, a hyphen and more digits) —
 * the lookahead refuses an id followed by "-<digit>" or more digits.
 */
const RULE_ID = /\b(?:GT|DC|AL)-\d+[a-z]?\b(?!-\d)/g;

function files(roots: string[]): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = join(ROOT, rel);
    if (!existsSync(abs)) return;
    if (statSync(abs).isDirectory()) {
      for (const name of readdirSync(abs)) if (name !== 'node_modules') walk(join(rel, name));
    } else if (/\.(ts|sql)$/.test(rel)) out.push(rel.split(sep).join('/'));
  };
  for (const r of roots) walk(r);
  return out;
}

/** rule id → where it is used (file:line), over the given roots. */
function ruleUses(roots: string[]): Map<string, string[]> {
  const uses = new Map<string, string[]>();
  for (const f of files(roots)) {
    read(f)
      .split('\n')
      .forEach((line, i) => {
        for (const m of line.matchAll(RULE_ID)) {
          const list = uses.get(m[0]) ?? [];
          list.push(`${f}:${i + 1}`);
          uses.set(m[0], list);
        }
      });
  }
  return uses;
}

interface RuleSection {
  id: string;
  line: number;
  notImplemented: boolean;
  implemented?: { line: number; text: string };
  tested?: { line: number; text: string };
}

/** The `### <id> <title>` sections of docs/rules.md with their Implemented and Tested bullets (wrapped lines joined). */
function ruleSections(): RuleSection[] {
  const lines = proseLines(read('docs/rules.md'));
  const out: RuleSection[] = [];
  let current: RuleSection | undefined;
  for (let i = 0; i < lines.length; i++) {
    const { line, text } = lines[i]!;
    const h = /^###\s+((?:GT|DC|AL)-\d+[a-z]?)\s+(.*)$/.exec(text);
    if (h) {
      current = { id: h[1]!, line, notImplemented: /\(not implemented\)/i.test(h[2]!) };
      out.push(current);
      continue;
    }
    if (/^#{1,3}\s/.test(text)) current = undefined;
    const b = /^- \*\*(Implemented|Tested):\*\*(.*)$/.exec(text);
    if (b && current) {
      let body = b[2]!;
      while (i + 1 < lines.length && /^\s+\S/.test(lines[i + 1]!.text)) body += ' ' + lines[++i]!.text.trim();
      current[b[1] === 'Implemented' ? 'implemented' : 'tested'] = { line, text: body };
    }
  }
  return out;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const PATH = /^[\w.-]+(?:\/[\w.-]+)*\.(?:ts|sql|md|json)$/;

/** Whether `name` is declared in the file: a function, class, const, type, … or a method (an activity, a handler). */
function declares(source: string, name: string): boolean {
  const n = name.replace(/\$/g, '\\$');
  return (
    new RegExp(`\\b(?:function\\*?|const|let|var|class|interface|type|enum)\\s+${n}\\b`).test(source) ||
    new RegExp(`^\\s*(?:async\\s+)?${n}\\s*(?:<[^>]*>)?\\(`, 'm').test(source)
  );
}

describe('docs/rules.md against the code', () => {
  const sections = ruleSections();
  const listed = new Map(sections.map((s) => [s.id, s]));

  it('has one section per rule id', () => {
    expect(sections.length).toBeGreaterThan(20);
    const ids = sections.map((s) => s.id);
    const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
    expect(twice, 'rule ids with more than one section in docs/rules.md').toEqual([]);
  });

  it('lists every rule id used in code or tests', () => {
    const missing = [...ruleUses([...CODE_ROOTS, ...TEST_ROOTS])]
      .filter(([id]) => !listed.has(id))
      .map(
        ([id, where]) =>
          `${id} is used in ${where.slice(0, 5).join(', ')}${where.length > 5 ? ` and ${where.length - 5} more` : ''}` +
          ` but docs/rules.md has no "### ${id} …" section`,
      );
    expect(missing).toEqual([]);
  });

  it('lists only rules the code uses, and marks the ones it does not implement', () => {
    const used = ruleUses(CODE_ROOTS);
    const problems: string[] = [];
    for (const s of sections) {
      const where = used.get(s.id);
      if (s.notImplemented && where)
        problems.push(
          `${s.id} is marked "not implemented" (docs/rules.md:${s.line}) but is used in ${where.slice(0, 5).join(', ')}:` +
            ' say where it is implemented and tested, and drop the mark',
        );
      if (!s.notImplemented && !where)
        problems.push(
          `${s.id} (docs/rules.md:${s.line}) is used nowhere in ${CODE_ROOTS.join(', ')}: cite it where it is implemented, or mark it "(not implemented)"`,
        );
      if (!s.notImplemented && (!s.implemented || !s.tested))
        problems.push(`${s.id} (docs/rules.md:${s.line}) needs an "- **Implemented:**" and a "- **Tested:**" line`);
    }
    expect(problems).toEqual([]);
  });

  it('names files that exist and names declared in them', () => {
    const problems: string[] = [];
    for (const s of sections) {
      for (const [kind, bullet] of [
        ['Implemented', s.implemented],
        ['Tested', s.tested],
      ] as const) {
        if (!bullet) continue;
        let file: string | undefined;
        for (const span of codeSpans(bullet.text)) {
          if (PATH.test(span)) {
            file = span;
            if (!existsSync(join(ROOT, span)))
              problems.push(`${s.id}: ${span} (docs/rules.md:${bullet.line}) does not exist`);
            else if (kind === 'Tested' && !span.startsWith('test/'))
              problems.push(`${s.id}: ${span} under Tested (docs/rules.md:${bullet.line}) is no test file`);
          } else if (kind === 'Implemented' && IDENTIFIER.test(span) && file) {
            if (existsSync(join(ROOT, file)) && !declares(read(file), span))
              problems.push(`${s.id}: ${file} declares no ${span} (docs/rules.md:${bullet.line})`);
          } else {
            problems.push(
              `${s.id}: \`${span}\` (docs/rules.md:${bullet.line}) is neither a file path nor a name after one`,
            );
          }
        }
        if (!file) problems.push(`${s.id}: the ${kind} line (docs/rules.md:${bullet.line}) names no file`);
      }
    }
    // Paths named anywhere else in the file (readings, differences) exist too.
    for (const { line, text } of proseLines(read('docs/rules.md')))
      for (const span of codeSpans(text))
        if (PATH.test(span) && span.includes('/') && !span.startsWith('/') && !existsSync(join(ROOT, span)))
          problems.push(`${span} (docs/rules.md:${line}) does not exist`);
    expect([...new Set(problems)]).toEqual([]);
  });
});
