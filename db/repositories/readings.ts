/**
 * Quarter-hour register readings (AL-1) and their validation (AL-2).
 *
 * Bulk import reports rejects per row: valid rows are stored, invalid rows are listed with a stable
 * code and stored nowhere. A reading can only be judged against its neighbours, so rows are checked in
 * time order against the stored readings and the rows accepted before them. Problems with the batch as
 * a whole (unknown connection, opted-out connection, malformed body) reject the whole batch and write
 * nothing.
 */
import { and, asc, desc, eq, gt, gte, lt, lte } from 'drizzle-orm';
import { DateTime } from 'luxon';
import type { DbOrTx } from '../client.js';
import { connections, meterReadings, type DataKind, type MeterReading } from '../schema/index.js';
import { invalidState, notFound } from '../../lib/errors.js';
import { recordAudit } from './audit.js';
import { auditActor, type Actor } from './actor.js';

const QUARTER_HOUR_MS = 15 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

export const READING_REJECT_CODES = [
  'not_quarter_hour',
  'read_in_future',
  'duplicate_in_batch',
  'conflicts_with_stored',
  'register_decreased',
  'volume_exceeds_capacity',
] as const;
export type ReadingRejectCode = (typeof READING_REJECT_CODES)[number];

export interface ReadingInput {
  readAt: Date;
  registerWh: number;
}

export interface ReadingReject {
  index: number;
  readAt: string;
  code: ReadingRejectCode;
  rule: 'AL-1' | 'AL-2';
  message: string;
}

export interface ImportResult {
  received: number;
  accepted: number;
  /** Re-sent readings identical to stored ones (an import can be repeated safely). */
  unchanged: number;
  rejected: ReadingReject[];
}

/** AL-2: the most energy the connection can carry between two readings, in Wh. */
export function maxVolumeWh(capacityKw: number, fromMs: number, toMs: number): number {
  return (capacityKw * 1000 * (toMs - fromMs)) / HOUR_MS;
}

export async function importReadings(
  db: DbOrTx,
  actor: Actor,
  ean: string,
  rows: ReadingInput[],
  now = new Date(),
): Promise<ImportResult> {
  return db.transaction(async (tx) => {
    // Lock the connection: imports for one connection are serialised, so neighbours stay valid.
    const [conn] = await tx.select().from(connections).where(eq(connections.ean, ean)).for('update');
    if (!conn) throw notFound('connection_not_found', `No connection ${ean}`, 'ean');
    if (conn.remoteReadingOptOut) {
      throw invalidState(
        'remote_reading_opted_out',
        'The grid user opted out of remote reading: no quarter-hour data exists for this connection (AL-5)',
      );
    }
    const rejected: ReadingReject[] = [];
    const reject = (index: number, readAt: Date, code: ReadingRejectCode, rule: 'AL-1' | 'AL-2', message: string) =>
      rejected.push({ index, readAt: readAt.toISOString(), code, rule, message });

    // Per-row checks that need no neighbours.
    const seen = new Set<number>();
    const candidates: Array<{ index: number; t: number; readAt: Date; registerWh: number }> = [];
    rows.forEach((r, index) => {
      const t = r.readAt.getTime();
      if (t % QUARTER_HOUR_MS !== 0)
        return reject(
          index,
          r.readAt,
          'not_quarter_hour',
          'AL-1',
          'readAt must be the end of a quarter-hour (hh:00, :15, :30, :45, whole seconds)',
        );
      if (t > now.getTime())
        return reject(
          index,
          r.readAt,
          'read_in_future',
          'AL-1',
          'Readings are taken afterwards: readAt lies in the future',
        );
      if (seen.has(t))
        return reject(index, r.readAt, 'duplicate_in_batch', 'AL-1', 'Another row of this batch has the same readAt');
      seen.add(t);
      candidates.push({ index, t, readAt: r.readAt, registerWh: r.registerWh });
    });
    candidates.sort((a, b) => a.t - b.t);

    let accepted = 0;
    let unchanged = 0;
    if (candidates.length > 0) {
      const first = candidates[0]!.readAt;
      const last = candidates[candidates.length - 1]!.readAt;
      const [before] = await tx
        .select()
        .from(meterReadings)
        .where(and(eq(meterReadings.connectionEan, ean), lt(meterReadings.readAt, first)))
        .orderBy(desc(meterReadings.readAt))
        .limit(1);
      const [after] = await tx
        .select()
        .from(meterReadings)
        .where(and(eq(meterReadings.connectionEan, ean), gt(meterReadings.readAt, last)))
        .orderBy(asc(meterReadings.readAt))
        .limit(1);
      const within = await tx
        .select()
        .from(meterReadings)
        .where(
          and(eq(meterReadings.connectionEan, ean), gte(meterReadings.readAt, first), lte(meterReadings.readAt, last)),
        )
        .orderBy(asc(meterReadings.readAt));
      // The timeline the new rows are judged against: stored readings, plus accepted rows as they come.
      const stored = [...(before ? [before] : []), ...within, ...(after ? [after] : [])].map((s) => ({
        t: s.readAt.getTime(),
        registerWh: s.registerWh,
      }));
      const storedAt = new Map(stored.map((s) => [s.t, s.registerWh]));
      let prev: { t: number; registerWh: number } | undefined; // last stored-or-accepted reading before the current row
      let si = 0; // next stored reading not yet passed
      const toInsert: Array<{ connectionEan: string; readAt: Date; registerWh: number }> = [];
      for (const c of candidates) {
        while (si < stored.length && stored[si]!.t < c.t) {
          const s = stored[si]!;
          if (!prev || s.t > prev.t) prev = s;
          si += 1;
        }
        const existing = storedAt.get(c.t);
        if (existing !== undefined) {
          if (existing === c.registerWh) unchanged += 1;
          else
            reject(
              c.index,
              c.readAt,
              'conflicts_with_stored',
              'AL-1',
              `A different register value (${existing} Wh) is stored for this quarter-hour`,
            );
          continue;
        }
        const next = stored[si]; // first stored reading after c (stored[si].t > c.t here, or none)
        const cap = conn.capacityKw;
        if (prev && c.registerWh < prev.registerWh) {
          reject(
            c.index,
            c.readAt,
            'register_decreased',
            'AL-2',
            `Register ${c.registerWh} Wh is below the preceding reading ${prev.registerWh} Wh`,
          );
          continue;
        }
        if (next && next.registerWh < c.registerWh) {
          reject(
            c.index,
            c.readAt,
            'register_decreased',
            'AL-2',
            `Register ${c.registerWh} Wh is above the following stored reading ${next.registerWh} Wh`,
          );
          continue;
        }
        if (prev && c.registerWh - prev.registerWh > maxVolumeWh(cap, prev.t, c.t)) {
          reject(
            c.index,
            c.readAt,
            'volume_exceeds_capacity',
            'AL-2',
            `Volume ${c.registerWh - prev.registerWh} Wh since the preceding reading exceeds the capacity of ${cap} kW`,
          );
          continue;
        }
        if (next && next.registerWh - c.registerWh > maxVolumeWh(cap, c.t, next.t)) {
          reject(
            c.index,
            c.readAt,
            'volume_exceeds_capacity',
            'AL-2',
            `Volume ${next.registerWh - c.registerWh} Wh up to the following stored reading exceeds the capacity of ${cap} kW`,
          );
          continue;
        }
        toInsert.push({ connectionEan: ean, readAt: c.readAt, registerWh: c.registerWh });
        prev = { t: c.t, registerWh: c.registerWh };
      }
      for (let i = 0; i < toInsert.length; i += 5000) {
        await tx.insert(meterReadings).values(toInsert.slice(i, i + 5000));
      }
      accepted = toInsert.length;
    }
    rejected.sort((a, b) => a.index - b.index);
    await recordAudit(tx, {
      ...auditActor(actor),
      action: 'readings.imported',
      entityType: 'connection',
      entityId: ean,
      data: {
        received: rows.length,
        accepted,
        unchanged,
        rejected: rejected.length,
        rejectCodes: [...new Set(rejected.map((r) => r.code))],
        rule: 'AL-2',
      },
    });
    return { received: rows.length, accepted, unchanged, rejected };
  });
}

export async function listReadings(
  db: DbOrTx,
  ean: string,
  from: Date,
  to: Date,
  limit = 100_000,
): Promise<MeterReading[]> {
  return db
    .select()
    .from(meterReadings)
    .where(and(eq(meterReadings.connectionEan, ean), gte(meterReadings.readAt, from), lt(meterReadings.readAt, to)))
    .orderBy(asc(meterReadings.readAt))
    .limit(limit);
}

export interface DataPoint {
  at: Date;
  registerWh: number;
  /** interval_data: energy since the preceding quarter-hour reading (AL-1), when that reading exists. */
  volumeWh?: number;
}

/**
 * The data of one kind over [from, to): interval data is every quarter-hour register reading with its
 * volume; daily registers are the readings at midnight, monthly registers those at midnight on the
 * first of the month (Europe/Amsterdam, where the market's days and months begin).
 */
export async function readingsForKind(
  db: DbOrTx,
  ean: string,
  kind: DataKind,
  from: Date,
  to: Date,
): Promise<DataPoint[]> {
  const rows = await listReadings(db, ean, new Date(from.getTime() - QUARTER_HOUR_MS), to);
  if (kind === 'interval_data') {
    const out: DataPoint[] = [];
    let prev: MeterReading | undefined;
    for (const r of rows) {
      if (r.readAt >= from) {
        const contiguous = prev && r.readAt.getTime() - prev.readAt.getTime() === QUARTER_HOUR_MS;
        out.push({
          at: r.readAt,
          registerWh: r.registerWh,
          ...(contiguous ? { volumeWh: r.registerWh - prev!.registerWh } : {}),
        });
      }
      prev = r;
    }
    return out;
  }
  return rows
    .filter((r) => r.readAt >= from)
    .filter((r) => {
      const local = DateTime.fromJSDate(r.readAt, { zone: 'Europe/Amsterdam' });
      return local.hour === 0 && local.minute === 0 && (kind === 'daily_registers' || local.day === 1);
    })
    .map((r) => ({ at: r.readAt, registerWh: r.registerWh }));
}
