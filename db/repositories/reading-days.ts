/**
 * The day rows of quarter-hour registers (AL-1): one row per connection and Amsterdam day, n+1 values per
 * register. Stored values are final: writes only fill positions that are still empty (a different value
 * for a stored position is refused before it gets here: conflicts_with_stored).
 */
import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import {
  allocationDay,
  amsterdamDayOf,
  previousDay,
  QUARTER_HOUR_MS,
  type DayRegisters,
} from '../../domain/allocation.js';

export interface DayRow {
  day: string;
  offtake: DayRegisters;
  feedIn: DayRegisters;
}

export interface RegisterReading {
  readAt: Date;
  /** Offtake register (Wh). */
  registerWh: number | null;
  /** Feed-in register (Wh). */
  feedInRegisterWh: number | null;
}

/**
 * Merge of a stored array and new values, position by position; the stored value wins (it is final).
 * `t` is the stored row, `excluded` the new one (INSERT … ON CONFLICT DO UPDATE).
 */
const merged = (column: 'offtake_wh' | 'feed_in_wh') =>
  `array(select coalesce(o, x) from unnest(t.${column}, excluded.${column}) with ordinality u(o, x, i) order by i)`;

export const MERGE_DAY_ROW = `
  offtake_wh = ${merged('offtake_wh')},
  feed_in_wh = ${merged('feed_in_wh')},
  missing = (select count(*) filter (where o is null) from unnest(${merged('offtake_wh')}) o)
          + (select count(*) filter (where f is null) from unnest(${merged('feed_in_wh')}) f),
  updated_at = now()`;

/**
 * A bigint[] in PostgreSQL's text form ({1,2,NULL}). Arrays are read as text: the driver's bigint parser
 * (db/client.ts) cannot take NULL elements, and parsing the text ourselves is faster anyway.
 */
export function parseRegisterArray(text: string | null): DayRegisters | null {
  if (text === null) return null;
  const inner = text.slice(1, -1);
  return inner === '' ? [] : inner.split(',').map((v) => (v === 'NULL' ? null : Number(v)));
}

const toArray = (v: unknown): DayRegisters => parseRegisterArray(v as string) ?? [];

/** Day rows of a connection over [fromDay, toDay]. */
export async function loadDays(db: DbOrTx, ean: string, fromDay: string, toDay: string): Promise<DayRow[]> {
  const rows = (await db.execute(sql`
    select day::text as day, offtake_wh::text as offtake_wh, feed_in_wh::text as feed_in_wh from meter_reading_days
     where connection_ean = ${ean} and day between ${fromDay}::date and ${toDay}::date order by day`)) as unknown as Array<{
    day: string;
    offtake_wh: unknown;
    feed_in_wh: unknown;
  }>;
  return rows.map((r) => ({ day: r.day, offtake: toArray(r.offtake_wh), feedIn: toArray(r.feed_in_wh) }));
}

/** The nearest day row before `day` / after `day` (for judging readings against their neighbours). */
export async function nearestDay(
  db: DbOrTx,
  ean: string,
  day: string,
  direction: 'before' | 'after',
): Promise<DayRow | null> {
  const rows = (await db.execute(
    direction === 'before'
      ? sql`select day::text as day, offtake_wh::text as offtake_wh, feed_in_wh::text as feed_in_wh from meter_reading_days where connection_ean = ${ean} and day < ${day}::date order by day desc limit 1`
      : sql`select day::text as day, offtake_wh::text as offtake_wh, feed_in_wh::text as feed_in_wh from meter_reading_days where connection_ean = ${ean} and day > ${day}::date order by day asc limit 1`,
  )) as unknown as Array<{ day: string; offtake_wh: unknown; feed_in_wh: unknown }>;
  const r = rows[0];
  return r ? { day: r.day, offtake: toArray(r.offtake_wh), feedIn: toArray(r.feed_in_wh) } : null;
}

/** Day rows as readings in time order; a midnight value held by two rows appears once. */
export function expandDays(rows: readonly DayRow[]): RegisterReading[] {
  const byTime = new Map<number, RegisterReading>();
  for (const r of rows) {
    const d = allocationDay(r.day);
    for (let i = 0; i <= d.quarterHours; i++) {
      const off = r.offtake[i] ?? null;
      const fin = r.feedIn[i] ?? null;
      if (off === null && fin === null) continue;
      const t = d.start.getTime() + i * QUARTER_HOUR_MS;
      const seen = byTime.get(t);
      if (seen) {
        seen.registerWh ??= off;
        seen.feedInRegisterWh ??= fin;
      } else byTime.set(t, { readAt: new Date(t), registerWh: off, feedInRegisterWh: fin });
    }
  }
  return [...byTime.values()].sort((a, b) => a.readAt.getTime() - b.readAt.getTime());
}

/**
 * Write register values (already judged) into their day rows, filling empty positions only. A reading at
 * midnight goes into both rows that hold it.
 */
export async function writeRegisters(db: DbOrTx, ean: string, readings: readonly RegisterReading[]): Promise<void> {
  const days = new Map<string, DayRow>();
  const put = (day: string, index: number, r: RegisterReading) => {
    let row = days.get(day);
    if (!row) {
      const n = allocationDay(day).quarterHours;
      row = {
        day,
        offtake: new Array<number | null>(n + 1).fill(null),
        feedIn: new Array<number | null>(n + 1).fill(null),
      };
      days.set(day, row);
    }
    if (r.registerWh !== null) row.offtake[index] = r.registerWh;
    if (r.feedInRegisterWh !== null) row.feedIn[index] = r.feedInRegisterWh;
  };
  for (const r of readings) {
    const d = allocationDay(amsterdamDayOf(r.readAt));
    const index = (r.readAt.getTime() - d.start.getTime()) / QUARTER_HOUR_MS;
    put(d.day, index, r);
    if (index === 0) {
      const prev = allocationDay(previousDay(d.day));
      put(prev.day, prev.quarterHours, r);
    }
  }
  for (const row of days.values()) {
    const missing = row.offtake.filter((v) => v === null).length + row.feedIn.filter((v) => v === null).length;
    await db.execute(sql`
      insert into meter_reading_days as t (day, connection_ean, offtake_wh, feed_in_wh, missing)
      values (${row.day}::date, ${ean}, ${pgArray(row.offtake)}::bigint[], ${pgArray(row.feedIn)}::bigint[], ${missing})
      on conflict (day, connection_ean) do update set ${sql.raw(MERGE_DAY_ROW)}`);
  }
}

/** A PostgreSQL array literal of integers and nulls. */
export const pgArray = (values: readonly (number | null)[]): string =>
  `{${values.map((v) => (v === null ? 'NULL' : String(v))).join(',')}}`;
