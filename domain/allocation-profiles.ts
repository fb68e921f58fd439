/**
 * AL-4 profile fractions: the sector publishes, per calendar year, one fraction per quarter-hour per
 * profile category (E1A, E1B, …), each category summing to 1 over the year. This module reads such a
 * file (CSV, as exported from the published workbook) and generates a stand-in set for development and
 * tests with the same layout. Pure: the caller reads the file and stores the result.
 *
 * Accepted layout: a header row, then one row per quarter-hour of the year in time order (Amsterdam
 * time; the autumn's repeated hour appears twice, the spring's missing hour not at all). Separator `;`
 * or `,` (taken from the header); values may use a decimal comma when the separator is `;`; quotes
 * around fields are ignored. Columns named like a time (Datum, Van, Tot, from, to, …) are skipped; every
 * other column is a profile category. Rows are matched to quarter-hours by position, so local-time
 * labels on the DST days cannot be misread.
 */
import { DateTime } from 'luxon';
import { AMSTERDAM, FRACTION_DECIMALS, FRACTION_SCALE, QUARTER_HOUR_MS } from './allocation.js';

export const TIME_COLUMNS = [
  'datum',
  'date',
  'van',
  'tot',
  'from',
  'to',
  'tijd',
  'time',
  'start',
  'end',
  'datum van',
  'datum tot',
  'datum-tijd',
  'datetime',
];

/** How far a category's yearly sum may be from 1 (the published fractions are rounded). */
export const SUM_TOLERANCE = 1e-6;

export interface ProfileSet {
  year: number;
  categories: string[];
  /** Per day (YYYY-MM-DD, in order), per category: the day's fractions, scaled by FRACTION_SCALE. */
  days: Array<{ day: string; fractions: Map<string, bigint[]> }>;
}

export class ProfileFileError extends Error {
  constructor(
    readonly code:
      | 'profile_file_malformed'
      | 'profile_rows_mismatch'
      | 'profile_value_invalid'
      | 'profile_sum_invalid'
      | 'profile_year_invalid',
    message: string,
    readonly line?: number,
  ) {
    super(message);
    this.name = 'ProfileFileError';
  }
}

/** The quarter-hours of a year, grouped per Amsterdam day. */
export function yearDays(year: number): Array<{ day: string; start: number; quarterHours: number }> {
  const out: Array<{ day: string; start: number; quarterHours: number }> = [];
  let d = DateTime.fromObject({ year, month: 1, day: 1 }, { zone: AMSTERDAM });
  while (d.year === year) {
    const next = d.plus({ days: 1 });
    out.push({
      day: d.toISODate()!,
      start: d.toMillis(),
      quarterHours: (next.toMillis() - d.toMillis()) / QUARTER_HOUR_MS,
    });
    d = next;
  }
  return out;
}

/** An exact decimal ("0,0000312", "3.12e-5" is refused) as an integer of 1e-15, rounded half up. */
export function parseFraction(raw: string, decimalComma: boolean): bigint | null {
  const s = (decimalComma ? raw.replace(',', '.') : raw).trim();
  const m = /^(\d+)(?:\.(\d*))?$/.exec(s);
  if (!m) return null;
  const digits = (m[2] ?? '').padEnd(FRACTION_DECIMALS + 1, '0');
  let v = BigInt(m[1]!) * FRACTION_SCALE + BigInt(digits.slice(0, FRACTION_DECIMALS));
  if (Number(digits[FRACTION_DECIMALS]) >= 5) v += 1n;
  return v;
}

const unquote = (s: string) =>
  s
    .trim()
    .replace(/^"(.*)"$/, '$1')
    .trim();

export function parseProfileFile(year: number, text: string): ProfileSet {
  if (!Number.isInteger(year) || year < 2000 || year > 2100)
    throw new ProfileFileError('profile_year_invalid', `year ${year} is not between 2000 and 2100`);
  // Blank lines are skipped; errors name the line of the file (1-based), not of the rows kept.
  const lines: Array<{ text: string; at: number }> = [];
  text.split(/\r?\n/).forEach((l, i) => {
    if (l.trim() !== '') lines.push({ text: l, at: i + 1 });
  });
  const header = lines[0];
  if (!header) throw new ProfileFileError('profile_file_malformed', 'the file is empty');
  const sep = header.text.includes(';') ? ';' : ',';
  const names = header.text
    .replace(/^\uFEFF/, '')
    .split(sep)
    .map(unquote);
  const categoryColumns = names
    .map((n, i) => ({ n, i }))
    .filter(({ n }) => n !== '' && !TIME_COLUMNS.includes(n.toLowerCase()));
  if (categoryColumns.length === 0)
    throw new ProfileFileError('profile_file_malformed', 'the header names no profile category', header.at);
  const bad = categoryColumns.find(({ n }) => !/^[A-Za-z0-9_-]{1,20}$/.test(n));
  if (bad) throw new ProfileFileError('profile_file_malformed', `"${bad.n}" is not a profile category name`, header.at);
  const days = yearDays(year);
  const expected = days.reduce((s, d) => s + d.quarterHours, 0);
  const rows = lines.length - 1;
  if (rows !== expected) {
    // Too many rows: named is the first past the year's last quarter-hour; too few: the last there is.
    const at = rows > expected ? lines[expected + 1]!.at : lines[rows]!.at;
    const where = rows > expected ? `line ${at} is past its last quarter-hour` : `it ends at line ${at}`;
    throw new ProfileFileError(
      'profile_rows_mismatch',
      `${year} has ${expected} quarter-hours; the file has ${rows} rows (${where})`,
      at,
    );
  }
  const decimalComma = sep === ';';
  const sums = new Map<string, bigint>(categoryColumns.map(({ n }) => [n, 0n]));
  const out: ProfileSet = { year, categories: categoryColumns.map(({ n }) => n), days: [] };
  let row = 1;
  for (const d of days) {
    const fractions = new Map<string, bigint[]>(categoryColumns.map(({ n }) => [n, []]));
    for (let q = 0; q < d.quarterHours; q++) {
      const { text: rowText, at } = lines[row]!;
      const cells = rowText.split(sep);
      row += 1;
      for (const { n, i } of categoryColumns) {
        const raw = cells[i] === undefined ? '' : unquote(cells[i]);
        const v = parseFraction(raw, decimalComma);
        if (v === null)
          throw new ProfileFileError(
            'profile_value_invalid',
            `line ${at}, ${n}: "${raw}" is not a non-negative decimal`,
            at,
          );
        fractions.get(n)!.push(v);
        sums.set(n, sums.get(n)! + v);
      }
    }
    out.days.push({ day: d.day, fractions });
  }
  for (const [n, sum] of sums) {
    const asNumber = Number(sum) / Number(FRACTION_SCALE);
    if (Math.abs(asNumber - 1) > SUM_TOLERANCE)
      throw new ProfileFileError(
        'profile_sum_invalid',
        `category ${n} sums to ${asNumber}, not 1 (tolerance ${SUM_TOLERANCE})`,
      );
  }
  return out;
}

// ---- the generated development set ---------------------------------------------------------------

/**
 * Categories of the generated set: shapes modelled on the published profiles, not copies of them.
 * E1A/E1B/E1C: small connections (households: morning and evening peaks, more in winter; E1B shifts
 * load to the night tariff, E1C flatter); E2A/E2B: small businesses (weekday office hours; E2B longer
 * evenings and some weekend); PV: solar feed-in (daylight bell, high in summer).
 */
export const GENERATED_CATEGORIES = ['E1A', 'E1B', 'E1C', 'E2A', 'E2B', 'PV'] as const;

/** What a profile shape depends on: day of the year, weekend, local time of day. */
interface Moment {
  doy: number;
  weekend: boolean;
  /** Local hours since midnight at the middle of the quarter-hour. */
  h: number;
}

function weight(category: string, { doy, weekend, h }: Moment): number {
  // Season: coldest around 15 January, warmest mid-July.
  const winter = 1 + 0.35 * Math.cos(((doy - 15) / 365) * 2 * Math.PI);
  const bump = (centre: number, width: number) => Math.exp(-((h - centre) ** 2) / (2 * width * width));
  switch (category) {
    case 'E1A':
      return (
        winter *
        (0.35 + 0.55 * bump(7.75, 1.1) + 1.0 * bump(19, 2.2) + (weekend ? 0.35 * bump(12.5, 2.5) : 0.1 * bump(12.5, 2)))
      );
    case 'E1B':
      return winter * (0.5 + (h < 7 || h >= 23 ? 0.45 : 0) + 0.45 * bump(7.5, 1) + 0.8 * bump(19.5, 2));
    case 'E1C':
      return winter * (0.6 + 0.3 * bump(8, 1.5) + 0.6 * bump(19, 2.5));
    case 'E2A':
      return (0.85 + 0.3 * (winter - 1)) * (0.25 + (weekend ? 0.05 : 1.0) * bump(12.5, 3.2));
    case 'E2B':
      return (0.85 + 0.3 * (winter - 1)) * (0.3 + (weekend ? 0.35 : 1.0) * bump(14, 4.2));
    case 'PV': {
      const season = Math.cos(((doy + 10) / 365) * 2 * Math.PI); // 1 at midwinter, -1 at midsummer
      const summer = 1 - 0.7 * season;
      const daylight = 4 + 2.4 * (1 - season); // half the length of the day in hours: 4 in December, 8.8 in June
      const x = (h - 13.5) / daylight;
      return summer * (Math.abs(x) < 1 ? Math.cos((x * Math.PI) / 2) ** 2 : 0);
    }
    default:
      throw new RangeError(`unknown generated category ${category}`);
  }
}

/**
 * The generated set for a year, as a file in the accepted layout (so loading it exercises the same
 * parser as the sector's file). Fractions are apportioned by largest remainder, so every category sums
 * to exactly 1 over the year.
 */
export function generateProfileFile(year: number): string {
  const days = yearDays(year);
  // Local labels and shape inputs per quarter-hour (Luxon once per day; the offset covers DST days).
  const moments: Moment[] = [];
  const labels: string[] = [];
  const pad = (n: number) => String(n).padStart(2, '0');
  for (const d of days) {
    const day = DateTime.fromMillis(d.start, { zone: AMSTERDAM });
    for (let q = 0; q <= d.quarterHours; q++) {
      const t = d.start + q * QUARTER_HOUR_MS;
      const offset = d.quarterHours === 96 ? day.offset : day.zone.offset(t);
      const minutes = Math.round((t - d.start) / 60_000 + offset - day.offset);
      const label = `${d.day}T${pad(Math.floor(minutes / 60) % 24)}:${pad(minutes % 60)}:00${offset >= 0 ? '+' : '-'}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
      if (q < d.quarterHours) {
        moments.push({ doy: day.ordinal, weekend: day.weekday >= 6, h: minutes / 60 + 0.125 });
        labels.push(label);
      }
    }
  }
  const columns = GENERATED_CATEGORIES.map((c) => {
    const w = moments.map((m) => weight(c, m));
    const total = w.reduce((s, x) => s + x, 0);
    const scale = Number(FRACTION_SCALE);
    const exact = w.map((x) => (x / total) * scale);
    const floor = exact.map(Math.floor);
    let rest = scale - floor.reduce((s, x) => s + x, 0);
    const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
    for (let k = 0; rest > 0; k = (k + 1) % order.length, rest--) floor[order[k]!.i]! += 1;
    return floor.map((v) => String(v).padStart(FRACTION_DECIMALS + 1, '0'));
  });
  const fmt = (s: string) => `${s.slice(0, -FRACTION_DECIMALS)}.${s.slice(-FRACTION_DECIMALS)}`;
  const rows = [`from;${GENERATED_CATEGORIES.join(';')}`];
  labels.forEach((from, i) => rows.push(`${from};${columns.map((c) => fmt(c[i]!)).join(';')}`));
  return rows.join('\n') + '\n';
}
