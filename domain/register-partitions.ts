/**
 * The access register's months (DC-1, DC-9): the register is partitioned by month of decided_at, in UTC
 * (db/migrations/0010_register_partitions.sql names and bounds its partitions the same way). Which months must
 * exist ahead of the clock, and which months retention may drop whole: a month goes once every row it can hold
 * is past the register's period, i.e. once the month's end is at or before the cutoff (retentionCutoff).
 *
 * No DEFAULT partition. A default partition would catch a decision for a month nobody created, but (a) every
 * later month created beside it scans it and locks it exclusively, (b) PostgreSQL refuses DETACH … CONCURRENTLY
 * on a table with a default partition, so each retention drop would lock the hot path, and (c) rows caught
 * there block creating their month until someone moves them. Instead months are created ahead
 * (REGISTER_MONTHS_AHEAD beyond the current one) by a daily Schedule and at every start of the API and the
 * worker, so the current month is never missing at midnight unless both stopped for two months; were it
 * missing, the gate answers 503 rather than answer a request it cannot register (DC-1).
 *
 * Pure: no I/O, no clock (callers pass `asOf`).
 */
import { retentionCutoff } from './retention.js';

/** Months created beyond the current one: two, so a missed Schedule run or two changes nothing. */
export const REGISTER_MONTHS_AHEAD = 2;

/** One month of the register: partition name and half-open UTC bounds [from, to). */
export interface RegisterMonth {
  name: string;
  from: Date;
  to: Date;
}

const NAME = /^access_register_p(\d{4})(\d{2})$/;

/** The month (partition) holding decisions taken at `at`. */
export function registerMonth(at: Date): RegisterMonth {
  return monthFrom(at.getUTCFullYear(), at.getUTCMonth());
}

function monthFrom(year: number, month: number): RegisterMonth {
  const from = new Date(Date.UTC(year, month, 1));
  const to = new Date(Date.UTC(year, month + 1, 1));
  const name = `access_register_p${from.getUTCFullYear()}${String(from.getUTCMonth() + 1).padStart(2, '0')}`;
  return { name, from, to };
}

/** The month a partition name stands for, or null for a name that is no register month. */
export function parseRegisterMonth(name: string): RegisterMonth | null {
  const m = NAME.exec(name);
  if (!m) return null;
  const month = Number(m[2]);
  if (month < 1 || month > 12) return null;
  return monthFrom(Number(m[1]), month - 1);
}

/** The months from `from`'s through `through`'s, in order (both included). */
export function registerMonthsBetween(from: Date, through: Date): RegisterMonth[] {
  const out: RegisterMonth[] = [];
  for (let m = registerMonth(from); m.from.getTime() <= through.getTime();) {
    out.push(m);
    m = monthFrom(m.to.getUTCFullYear(), m.to.getUTCMonth());
  }
  return out;
}

/** The months that must exist at `asOf`: the current one and REGISTER_MONTHS_AHEAD after it. */
export function registerMonthsAhead(asOf: Date, ahead = REGISTER_MONTHS_AHEAD): RegisterMonth[] {
  const last = new Date(Date.UTC(asOf.getUTCFullYear(), asOf.getUTCMonth() + ahead, 1));
  return registerMonthsBetween(asOf, last);
}

/** DC-9: a month may be dropped whole once its end is at or before the cutoff: every row it holds is past the period. */
export const registerMonthExpired = (month: RegisterMonth, asOf: Date, registerDays: number): boolean =>
  month.to.getTime() <= retentionCutoff(asOf, registerDays).getTime();

/**
 * Issue 21 (decisions/0019): a closed month is rewritten in connection order (services/register/partitions.ts
 * compactClosedRegisterMonths) once no writer can still put a row in it. Every writer registers at decided_at = the
 * instant it decides, read from its own clock (the gate's batch, deliveries, DC-8 internal reads: DC-1), so after
 * the month's end only a decision already under way at midnight, or a clock running behind, could: a day of margin
 * covers both many times over. A write that came anyway fails (the month is frozen during the compaction), it is
 * never lost.
 */
export const REGISTER_COMPACT_AFTER_MS = 86_400_000;

/** The month's end is at least REGISTER_COMPACT_AFTER_MS before asOf. */
export const registerMonthCompactable = (month: RegisterMonth, asOf: Date): boolean =>
  month.to.getTime() + REGISTER_COMPACT_AFTER_MS <= asOf.getTime();

/**
 * Issue 21 (decisions/0019): whether a compacted month keeps its own covering party-day index (a party's decisions of
 * one day as an index-only scan). It costs about the month's heap again on disk; case handlers page through recent
 * months, so only the `keepMonths` most recent UTC months (asOf's own counted as the first) have it; older ones drop
 * it and their party-day pages read a heap page a row (REGISTER_PARTY_DAY_INDEX_MONTHS, lib/config.ts, default 13:
 * the DC-5 window; 0: none).
 */
export const registerPartyDayIndexKept = (month: RegisterMonth, asOf: Date, keepMonths: number): boolean =>
  keepMonths > 0 && month.from.getTime() >= Date.UTC(asOf.getUTCFullYear(), asOf.getUTCMonth() - (keepMonths - 1), 1);

/**
 * How far back the register reaches at `asOf` (DC-5): the oldest month still held, or, when none is, the cutoff.
 * A month is dropped only when all of it is past the period, so the register holds every decision from the start
 * of its oldest month: between `registerDays` and `registerDays` + one month back.
 */
export function registerReach(heldMonths: readonly RegisterMonth[], asOf: Date, registerDays: number): Date {
  const cutoff = retentionCutoff(asOf, registerDays);
  const kept = heldMonths.filter((m) => !registerMonthExpired(m, asOf, registerDays));
  if (kept.length === 0) return cutoff;
  return new Date(Math.min(...kept.map((m) => m.from.getTime())));
}

/** A span of decided_at, [from, to); `to` null: no upper bound (the register's newest rows, the current month's). */
export interface RegisterSpan {
  from: Date;
  to: Date | null;
}

/**
 * DC-5 at volume (decisions/0020): which months of a grid user's window [since, now) the per-party statistics may take
 * from the month counts (access_register_month_counts) instead of the register, and what is left to read from the
 * register. A month may come from the counts when it is counted (its marker), still attached (not being dropped:
 * DC-9) and wholly inside [since, now): a month holding `since` counts rows before it, of the previous occupant, so
 * it is read from the register with `decided_at >= since`. Everything else from `since` on (that partial month,
 * uncounted months, the current month and anything after it) is `rest`: the register's spans between the counted
 * months, adjacent ones merged, the last one open-ended like the raw statement (`decided_at >= since`), so the two
 * parts together cover exactly what the raw GROUP BY covers, each row once.
 *
 * `countedMonths`: the months that have counts and are attached (any order; duplicates ignored).
 */
export function registerCountsSplit(
  countedMonths: readonly RegisterMonth[],
  since: Date,
  now: Date,
): { counted: RegisterMonth[]; rest: RegisterSpan[] } {
  const seen = new Set<number>();
  const counted = countedMonths
    .filter((m) => m.from.getTime() >= since.getTime() && m.to.getTime() <= now.getTime())
    .filter((m) => !seen.has(m.from.getTime()) && seen.add(m.from.getTime()))
    .sort((a, b) => a.from.getTime() - b.from.getTime());
  const rest: RegisterSpan[] = [];
  let from = since;
  for (const m of counted) {
    if (m.from.getTime() > from.getTime()) rest.push({ from, to: m.from });
    from = m.to;
  }
  rest.push({ from, to: null });
  return { counted, rest };
}
