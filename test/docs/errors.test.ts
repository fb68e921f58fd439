/**
 * docs/errors.md against the code: every error code the code can produce (test/docs/error-codes.ts reads the
 * TypeScript sources with the compiler's type checker) is listed with the statuses it is answered with, and every
 * listed code is produced somewhere. The codes inside successful answers are held to their lists in the code.
 * No services needed: it reads files (building the program takes a while on a busy machine).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { READING_REJECT_CODES } from '../../domain/allocation.js';
import { REGISTER_REASONS } from '../../domain/gate.js';
import { BULK_REJECT_CODES } from '../../services/allocation/import.js';
import { FORWARDERS, scanErrorCodes, type ErrorCodeScan } from './error-codes.js';
import { ROOT, cells, codeSpans, proseLines, read, section } from './markdown.js';

const INSIDE_ANSWERS = '## Codes inside answers (not errors)';

interface Listed {
  code: string;
  statuses: string[];
  line: number;
}

/** The rows of every `| code | status | meaning |` table before the section of codes inside answers. */
function listedCodes(): Listed[] {
  const out: Listed[] = [];
  let inTable = false;
  for (const { line, text } of proseLines(read('docs/errors.md'))) {
    if (text === INSIDE_ANSWERS) break;
    const c = cells(text);
    if (!c) {
      inTable = false;
      continue;
    }
    if (c[0] === 'code' && c[1] === 'status') {
      inTable = true;
      continue;
    }
    if (!inTable || /^-+$/.test(c[0]!)) continue;
    const code = /^`([a-z0-9_]+)`$/.exec(c[0]!)?.[1];
    if (!code) throw new Error(`docs/errors.md:${line}: the first cell is no \`code\`: ${c[0]}`);
    out.push({ code, statuses: (c[1] ?? '').split(/[\s,]+/).filter(Boolean), line });
  }
  return out;
}

let scan: ErrorCodeScan;

beforeAll(() => {
  scan = scanErrorCodes(ROOT);
}, 600_000);

describe('docs/errors.md against the code', () => {
  const listed = listedCodes();
  const byCode = new Map(listed.map((l) => [l.code, l]));
  const where = (code: string) =>
    scan.sites
      .filter((s) => s.code === code)
      .slice(0, 4)
      .map((s) => `${s.file}:${s.line}`)
      .join(', ');

  it('lists each code once, with a status', () => {
    expect(listed.length).toBeGreaterThan(100);
    const codes = listed.map((l) => l.code);
    expect(
      codes.filter((c, i) => codes.indexOf(c) !== i),
      'codes listed twice',
    ).toEqual([]);
    const bad = listed.filter((l) => l.statuses.length === 0 || !l.statuses.every((s) => /^(\d{3}|[45]xx)$/.test(s)));
    expect(
      bad.map((l) => `docs/errors.md:${l.line} ${l.code}: "${l.statuses.join(', ')}" is no list of HTTP statuses`),
    ).toEqual([]);
  });

  it('lists every code the code can produce, with the statuses it answers it with', () => {
    const problems: string[] = [];
    for (const code of new Set(scan.sites.map((s) => s.code))) {
      const l = byCode.get(code);
      if (!l) {
        problems.push(`error code "${code}" is produced at ${where(code)} but not listed in docs/errors.md`);
        continue;
      }
      for (const s of scan.sites.filter((x) => x.code === code))
        for (const status of s.statuses)
          if (!l.statuses.includes(String(status)))
            problems.push(
              `"${code}" is answered with ${status} at ${s.file}:${s.line} (${s.via}) but docs/errors.md:${l.line} gives ${l.statuses.join(', ')}`,
            );
    }
    expect([...new Set(problems)]).toEqual([]);
  });

  it('lists no code that nothing produces', () => {
    const produced = new Set(scan.sites.map((s) => s.code));
    expect(
      listed
        .filter((l) => !produced.has(l.code))
        .map((l) => `docs/errors.md:${l.line} lists "${l.code}" but no code produces it`),
    ).toEqual([]);
  });

  it('can tell the code of every site that answers one (or knows where it forwards it from)', () => {
    const known = (u: { file: string; text: string }) => FORWARDERS.some((f) => f.file === u.file && f.text === u.text);
    expect(
      scan.unresolved
        .filter((u) => !known(u))
        .map(
          (u) =>
            `${u.file}:${u.line}: cannot tell which error code \`${u.text}\` (${u.via}) is — give it a literal type` +
            ' (a union of the codes), or, when it only passes on a code produced elsewhere, add it to FORWARDERS in' +
            ' test/docs/error-codes.ts with the reason',
        ),
    ).toEqual([]);
    expect(
      FORWARDERS.filter((f) => !scan.unresolved.some((u) => u.file === f.file && u.text === f.text)).map(
        (f) => `FORWARDERS entry ${f.file} \`${f.text}\` matches no site any more: remove it`,
      ),
    ).toEqual([]);
  });

  it('lists the codes inside answers as the code defines them', () => {
    const paragraphs = section(read('docs/errors.md'), INSIDE_ANSWERS).split(/\n\s*\n/);
    const spans = (label: string) => {
      const p = paragraphs.find((x) => x.startsWith(`**${label}**`));
      if (!p) throw new Error(`docs/errors.md: no paragraph "**${label}**" under ${INSIDE_ANSWERS}`);
      return codeSpans(p)
        .filter((s) => /^[a-z][a-z0-9_]*$/.test(s))
        .sort();
    };
    expect(spans('P4 gate reason codes')).toEqual(Object.keys(REGISTER_REASONS).sort());
    expect(spans('Rejected readings rows')).toEqual([...READING_REJECT_CODES].sort());
    expect(spans("Rejected lines of the day's readings file")).toEqual([...BULK_REJECT_CODES].sort());
  });
});
