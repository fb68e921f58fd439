/**
 * Dutch working days and deadline arithmetic (DOMAIN.md, "Working days").
 *
 * Pure and deterministic: no I/O, no clock, no randomness, no dependence on the host time zone or on
 * luxon's global Settings (every DateTime is created with an explicit zone). That makes the module safe
 * inside Temporal workflow code, where deadlines for GT-1, GT-8, GT-9 and DC-6 are computed.
 *
 * Rules implemented:
 * - A working day is Monday–Friday in Europe/Amsterdam, except the generally recognised holidays of the
 *   Algemene termijnenwet: New Year's Day, Easter Monday, King's Day (27 April; 26 April when the 27th is a
 *   Sunday), 5 May (every year, as DOMAIN.md says), Ascension Day, Whit Monday, Christmas Day, Boxing Day.
 *   Good Friday is NOT one of them, so it is a working day. Easter Sunday and Whit Sunday are Sundays anyway.
 * - "Within 1 working day" of a moment (GT-1 contact, GT-8 unblock, GT-9 supplier report) = before the end
 *   (24:00 Amsterdam time) of the first working day after the calendar day of that moment. The deadline is an
 *   instant (a UTC Date) computed on the Amsterdam wall clock, so it is right across DST switches.
 * - "Within n working days" (DC-6: 5 and 15) generalises that to the n-th working day after the moment's day.
 * - "72 hours" (GT-3, GT-4) is 72 clock hours: plain epoch arithmetic, see addClockHours.
 *
 * Historical note: King's Day replaced Queen's Day (30 April) from 2014; this module applies the current
 * rule to every year, which is what a case system needs (it never computes deadlines before 2014).
 */
import { DateTime } from 'luxon';

/** The only zone deadlines are computed in. */
export const AMSTERDAM_ZONE = 'Europe/Amsterdam';

export interface DutchHoliday {
  /** Calendar date, 'YYYY-MM-DD'. */
  date: string;
  /** English name (use in code and English emails). */
  name: string;
  /** Dutch name (use in Dutch emails). */
  nameNl: string;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const MS_PER_HOUR = 3_600_000;

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function isoDate(year: number, month: number, day: number): string {
  return `${year}-${pad2(month)}-${pad2(day)}`;
}

function assertYear(year: number): void {
  // 1583: first full Gregorian year (the Easter algorithm is Gregorian); 9999 keeps 'YYYY' four digits.
  if (!Number.isInteger(year) || year < 1583 || year > 9999) {
    throw new RangeError(`year must be an integer in 1583..9999, got ${String(year)}`);
  }
}

/**
 * Easter Sunday by the anonymous Gregorian algorithm (Meeus/Jones/Butcher). Pure integer arithmetic,
 * no date library involved. Exported for tests and for anyone who needs the movable feasts.
 */
export function easterSunday(year: number): { month: number; day: number } {
  assertYear(year);
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return { month, day };
}

/**
 * The Algemene termijnenwet holidays of `year` that DOMAIN.md counts as non-working days, sorted by date.
 * Ascension Day can fall on 5 May (e.g. 2016); both entries are then listed with the same date.
 * King's Day moves to 26 April only when 27 April is a Sunday, so the substitute is always a Saturday.
 */
export function dutchHolidays(year: number): DutchHoliday[] {
  assertYear(year);
  const e = easterSunday(year);
  // Date-only arithmetic in UTC: no DST, no host zone; only the calendar date is used.
  const easter = DateTime.fromObject({ year, month: e.month, day: e.day }, { zone: 'UTC' });
  const fromEaster = (days: number): string => easter.plus({ days }).toISODate() as string;
  const april27 = DateTime.fromObject({ year, month: 4, day: 27 }, { zone: 'UTC' });
  const kingsDay = april27.weekday === 7 ? isoDate(year, 4, 26) : isoDate(year, 4, 27);

  const list: DutchHoliday[] = [
    { date: isoDate(year, 1, 1), name: "New Year's Day", nameNl: 'Nieuwjaarsdag' },
    { date: fromEaster(1), name: 'Easter Monday', nameNl: 'Tweede Paasdag' },
    { date: kingsDay, name: "King's Day", nameNl: 'Koningsdag' },
    { date: isoDate(year, 5, 5), name: 'Liberation Day', nameNl: 'Bevrijdingsdag' },
    { date: fromEaster(39), name: 'Ascension Day', nameNl: 'Hemelvaartsdag' },
    { date: fromEaster(50), name: 'Whit Monday', nameNl: 'Tweede Pinksterdag' },
    { date: isoDate(year, 12, 25), name: 'Christmas Day', nameNl: 'Eerste Kerstdag' },
    { date: isoDate(year, 12, 26), name: 'Boxing Day', nameNl: 'Tweede Kerstdag' },
  ];
  // Array.prototype.sort is stable, so same-date entries keep the order above.
  return list.sort((x, y) => (x.date < y.date ? -1 : x.date > y.date ? 1 : 0));
}

// Memo of holiday dates per year. Deterministic (a pure function's results), so harmless in a workflow
// sandbox that reuses the module between workflow runs.
const holidayCache = new Map<number, ReadonlySet<string>>();

function holidayDates(year: number): ReadonlySet<string> {
  let set = holidayCache.get(year);
  if (set === undefined) {
    set = new Set(dutchHolidays(year).map((h) => h.date));
    holidayCache.set(year, set);
  }
  return set;
}

/** The Amsterdam calendar day (at 00:00 Amsterdam) of an instant. */
function amsterdamDayOf(moment: Date): DateTime {
  if (!(moment instanceof Date) || Number.isNaN(moment.getTime())) {
    throw new RangeError('expected a valid Date');
  }
  return DateTime.fromJSDate(moment, { zone: AMSTERDAM_ZONE }).startOf('day');
}

function parseIsoDate(dateIso: string): DateTime {
  const m = ISO_DATE.exec(dateIso);
  const dt = m
    ? DateTime.fromObject({ year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) }, { zone: AMSTERDAM_ZONE })
    : undefined;
  if (dt === undefined || !dt.isValid) {
    throw new RangeError(`expected a calendar date 'YYYY-MM-DD', got ${JSON.stringify(dateIso)}`);
  }
  return dt;
}

function isWorkingDayDt(day: DateTime): boolean {
  if (day.weekday > 5) return false; // luxon: 1 = Monday … 7 = Sunday
  return !holidayDates(day.year).has(day.toISODate() as string);
}

/**
 * Whether a calendar day is a Dutch working day. A string is a calendar date 'YYYY-MM-DD'; a Date is an
 * instant and is judged by its calendar day in Amsterdam (2026-06-01T22:30Z is Tuesday 2 June there).
 * Throws RangeError on a malformed/impossible date string or an invalid Date.
 */
export function isWorkingDay(date: string | Date): boolean {
  return isWorkingDayDt(typeof date === 'string' ? parseIsoDate(date) : amsterdamDayOf(date));
}

/**
 * End (24:00 Amsterdam, i.e. 00:00 Amsterdam of the following calendar day) of the n-th working day after
 * the Amsterdam calendar day of `moment`, as a UTC instant. n = 1 is "within 1 working day" (GT-1, GT-8,
 * GT-9); DC-6 uses n = 5 (data delivery) and n = 15 (yearly free history request).
 *
 * The moment's own day never counts, even if it is a working day and the moment is early in the morning:
 * the rule says "the first working day after the day of that moment". Something is on time when it happens
 * strictly before the returned instant.
 *
 * DST-safe: days are stepped on the Amsterdam calendar and midnight always exists in Amsterdam (the
 * switches happen at 02:00/03:00), so the result is +02:00 or +01:00 as that date requires.
 */
export function addWorkingDaysDeadline(moment: Date, n: number): Date {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`n must be a positive integer number of working days, got ${String(n)}`);
  }
  let day = amsterdamDayOf(moment);
  let counted = 0;
  while (counted < n) {
    day = day.plus({ days: 1 });
    if (isWorkingDayDt(day)) counted += 1;
  }
  return day.plus({ days: 1 }).startOf('day').toJSDate();
}

/**
 * "Within 1 working day" of `moment` (GT-1 contact, GT-8 unblock, GT-9 supplier-side report): the end
 * (24:00 Amsterdam) of the first working day after the moment's Amsterdam calendar day, as a UTC instant.
 * Example: a report on Friday → end of Monday (or later if Monday is a holiday).
 */
export function withinOneWorkingDayDeadline(moment: Date): Date {
  return addWorkingDaysDeadline(moment, 1);
}

/**
 * `hours` clock hours after `moment` (GT-3/GT-4 "72 hours", GDPR art. 33 "72 hours"). Deliberately plain
 * epoch arithmetic: across a DST switch the Amsterdam wall clock shows 71 or 73 hours later, which is
 * correct for clock hours. Not working hours.
 */
export function addClockHours(moment: Date, hours: number): Date {
  if (!(moment instanceof Date) || Number.isNaN(moment.getTime())) {
    throw new RangeError('expected a valid Date');
  }
  if (!Number.isFinite(hours)) {
    throw new RangeError(`hours must be finite, got ${String(hours)}`);
  }
  return new Date(moment.getTime() + hours * MS_PER_HOUR);
}

/**
 * Number of working days in (day of `start`, day of `end`] on the Amsterdam calendar; 0 when `end` is on or
 * before `start`'s day. For deadline reporting (DC-6, GT-1): something done at `end` met an n-working-day
 * deadline from `start` exactly when workingDaysBetween(start, end) <= n, which agrees with
 * `end < addWorkingDaysDeadline(start, n)`.
 */
export function workingDaysBetween(start: Date, end: Date): number {
  const from = amsterdamDayOf(start);
  const to = amsterdamDayOf(end);
  let count = 0;
  for (let day = from.plus({ days: 1 }); day <= to; day = day.plus({ days: 1 })) {
    if (isWorkingDayDt(day)) count += 1;
  }
  return count;
}

// Names are spelled out here rather than taken from Intl/ICU, so emails do not change with the ICU data of
// whatever runtime renders them. Index 0 = Monday (luxon weekday 1).
const WEEKDAYS = {
  nl: ['maandag', 'dinsdag', 'woensdag', 'donderdag', 'vrijdag', 'zaterdag', 'zondag'],
  en: ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'],
} as const;
const MONTHS = {
  nl: [
    'januari',
    'februari',
    'maart',
    'april',
    'mei',
    'juni',
    'juli',
    'augustus',
    'september',
    'oktober',
    'november',
    'december',
  ],
  en: [
    'January',
    'February',
    'March',
    'April',
    'May',
    'June',
    'July',
    'August',
    'September',
    'October',
    'November',
    'December',
  ],
} as const;

export interface FormatAmsterdamOptions {
  /**
   * Render an instant that is exactly 00:00 Amsterdam as 24:00 of the previous day — the way deadlines are
   * phrased ("uiterlijk maandag 30 maart 2026 om 24:00"). Other instants are unaffected.
   */
  endOfDay?: boolean;
}

/**
 * Human-readable Amsterdam wall-clock time for emails, e.g.
 * nl: "dinsdag 24 november 2026 om 14:05 (Amsterdamse tijd)"
 * en: "Tuesday 24 November 2026 at 14:05 (Amsterdam time)"
 */
export function formatAmsterdam(d: Date, locale: 'nl' | 'en', options: FormatAmsterdamOptions = {}): string {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) {
    throw new RangeError('expected a valid Date');
  }
  let dt = DateTime.fromJSDate(d, { zone: AMSTERDAM_ZONE });
  let time = `${pad2(dt.hour)}:${pad2(dt.minute)}`;
  if (options.endOfDay === true && dt.hour === 0 && dt.minute === 0 && dt.second === 0 && dt.millisecond === 0) {
    dt = dt.minus({ days: 1 });
    time = '24:00';
  }
  const weekday = WEEKDAYS[locale][dt.weekday - 1];
  const month = MONTHS[locale][dt.month - 1];
  return locale === 'nl'
    ? `${weekday} ${dt.day} ${month} ${dt.year} om ${time} (Amsterdamse tijd)`
    : `${weekday} ${dt.day} ${month} ${dt.year} at ${time} (Amsterdam time)`;
}
