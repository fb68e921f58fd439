/**
 * Quarter-hour register readings (AL-1) and their validation (AL-2), per row through the API. Both
 * registers: offtake (`registerWh`) and feed-in (`feedInRegisterWh`, optional per row).
 *
 * Import reports rejects per row: valid rows are stored, invalid rows are listed with a stable code and
 * stored nowhere (and recorded, so the allocation run can say a fallback was due to invalid readings). A
 * reading can only be judged against its neighbours, so rows are checked in time order against the stored
 * readings and the rows accepted before them. Problems with the batch as a whole (unknown connection,
 * opted-out connection, malformed body) reject the whole batch and write nothing. The bulk path for a
 * day's file of all connections is services/allocation/import.ts.
 */
import { eq } from 'drizzle-orm';
import { DateTime } from 'luxon';
import type { DbOrTx } from '../client.js';
import { connections, meterReadingRejects, readingImports, type DataKind } from '../schema/index.js';
import { invalidState, notFound } from '../../lib/errors.js';
import {
  amsterdamDayOf,
  judgeRegisterStep,
  nextDay,
  previousDay,
  QUARTER_HOUR_MS,
  READING_REJECT_CODES,
  type ReadingRejectCode,
  type RegisterPoint,
} from '../../domain/allocation.js';
import { recordAudit } from './audit.js';
import { auditActor, type Actor } from './actor.js';
import { expandDays, loadDays, nearestDay, writeRegisters, type RegisterReading } from './reading-days.js';
import { pointInPeriod, quarterHourPeriod } from '../../domain/gate.js';

export { READING_REJECT_CODES, maxVolumeWh, type ReadingRejectCode } from '../../domain/allocation.js';

export interface ReadingInput {
  readAt: Date;
  /** Offtake register (Wh). */
  registerWh: number;
  /** Feed-in register (Wh); absent: not read in this batch. */
  feedInRegisterWh?: number | null;
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

/** One register's stored timeline with the rows accepted so far, in time order, for judging rows. */
class Timeline {
  private readonly points: RegisterPoint[];
  private readonly at = new Map<number, number>();
  constructor(points: RegisterPoint[]) {
    this.points = points.slice().sort((a, b) => a.t - b.t);
    for (const p of points) this.at.set(p.t, p.wh);
  }
  stored(t: number): number | undefined {
    return this.at.get(t);
  }
  /** Index of the first point at or after t. */
  private search(t: number): number {
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.points[mid]!.t < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  /** The nearest reading before t and the nearest after t (stored or accepted). */
  neighbours(t: number): { prev?: RegisterPoint; next?: RegisterPoint } {
    const i = this.search(t);
    const next = this.points[i]?.t === t ? this.points[i + 1] : this.points[i];
    return { prev: this.points[i - 1], next };
  }
  accept(p: RegisterPoint): void {
    this.points.splice(this.search(p.t), 0, p);
    this.at.set(p.t, p.wh);
  }
}

type Verdict = { code: ReadingRejectCode; message: string } | 'unchanged' | 'new';

function judge(line: Timeline, p: RegisterPoint, capacityKw: number, label: string): Verdict {
  const existing = line.stored(p.t);
  if (existing !== undefined) {
    return existing === p.wh
      ? 'unchanged'
      : {
          code: 'conflicts_with_stored',
          message: `A different ${label} value (${existing} Wh) is stored for this quarter-hour`,
        };
  }
  const { prev, next } = line.neighbours(p.t);
  const before = prev ? judgeRegisterStep(prev, p, capacityKw) : null;
  const after = next ? judgeRegisterStep(p, next, capacityKw) : null;
  // A decrease is the plainer fault: report it before a capacity excess.
  if (before === 'register_decreased')
    return { code: before, message: `${label} ${p.wh} Wh is below the preceding reading ${prev!.wh} Wh` };
  if (after === 'register_decreased')
    return { code: after, message: `${label} ${p.wh} Wh is above the following stored reading ${next!.wh} Wh` };
  if (before)
    return {
      code: before,
      message: `Volume ${p.wh - prev!.wh} Wh of the ${label} since the preceding reading exceeds the capacity of ${capacityKw} kW`,
    };
  if (after)
    return {
      code: after,
      message: `Volume ${next!.wh - p.wh} Wh of the ${label} up to the following stored reading exceeds the capacity of ${capacityKw} kW`,
    };
  return 'new';
}

function timelines(stored: RegisterReading[]): { offtake: Timeline; feedIn: Timeline } {
  return {
    offtake: new Timeline(
      stored.filter((r) => r.registerWh !== null).map((r) => ({ t: r.readAt.getTime(), wh: r.registerWh! })),
    ),
    feedIn: new Timeline(
      stored
        .filter((r) => r.feedInRegisterWh !== null)
        .map((r) => ({ t: r.readAt.getTime(), wh: r.feedInRegisterWh! })),
    ),
  };
}

/** Stored readings of the days the batch touches, plus the nearest stored day on either side. */
async function storedAround(db: DbOrTx, ean: string, first: Date, last: Date): Promise<RegisterReading[]> {
  const fromDay = previousDay(amsterdamDayOf(first));
  const toDay = nextDay(amsterdamDayOf(last));
  const rows = await loadDays(db, ean, fromDay, toDay);
  const before = await nearestDay(db, ean, fromDay, 'before');
  const after = await nearestDay(db, ean, toDay, 'after');
  return expandDays([...(before ? [before] : []), ...rows, ...(after ? [after] : [])]);
}

// long: one transaction per batch: the AL-2 judgement and the insert see the same rows
export async function importReadings(
  db: DbOrTx,
  actor: Actor,
  ean: string,
  rows: ReadingInput[],
  now = new Date(),
): Promise<ImportResult> {
  return db.transaction(
    // long: one transaction per batch: the AL-2 judgement and the insert see the same rows
    async (tx) => {
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
      const candidates: Array<{ index: number; t: number; row: ReadingInput }> = [];
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
        candidates.push({ index, t, row: r });
      });
      candidates.sort((a, b) => a.t - b.t);

      let accepted = 0;
      let unchanged = 0;
      const toWrite: RegisterReading[] = [];
      if (candidates.length > 0) {
        const line = timelines(
          await storedAround(tx, ean, candidates[0]!.row.readAt, candidates[candidates.length - 1]!.row.readAt),
        );
        for (const c of candidates) {
          const feedIn = c.row.feedInRegisterWh ?? null;
          const off = judge(line.offtake, { t: c.t, wh: c.row.registerWh }, conn.capacityKw, 'Register');
          const fin =
            feedIn === null
              ? 'unchanged'
              : judge(line.feedIn, { t: c.t, wh: feedIn }, conn.capacityKw, 'Feed-in register');
          const fault = typeof off === 'object' ? off : typeof fin === 'object' ? fin : null;
          if (fault) {
            reject(
              c.index,
              c.row.readAt,
              fault.code,
              fault.code === 'conflicts_with_stored' ? 'AL-1' : 'AL-2',
              fault.message,
            );
            continue;
          }
          if (off === 'unchanged' && fin === 'unchanged') {
            unchanged += 1;
            continue;
          }
          if (off === 'new') line.offtake.accept({ t: c.t, wh: c.row.registerWh });
          if (fin === 'new') line.feedIn.accept({ t: c.t, wh: feedIn! });
          toWrite.push({
            readAt: c.row.readAt,
            registerWh: off === 'new' ? c.row.registerWh : null,
            feedInRegisterWh: fin === 'new' ? feedIn : null,
          });
          accepted += 1;
        }
        await writeRegisters(tx, ean, toWrite);
      }
      rejected.sort((a, b) => a.index - b.index);
      const summary = {
        received: rows.length,
        accepted,
        unchanged,
        rejected: rejected.length,
        rejectCodes: [...new Set(rejected.map((r) => r.code))],
        rule: 'AL-2',
      };
      const [imp] = await tx
        .insert(readingImports)
        .values({
          source: 'api',
          actor: actor.actor,
          startedAt: now,
          finishedAt: now,
          summary: { ...summary, connectionEan: ean },
        })
        .returning({ id: readingImports.id });
      if (rejected.length > 0) {
        await tx.insert(meterReadingRejects).values(
          rejected.map((r) => ({
            importId: imp!.id,
            day: amsterdamDayOf(new Date(new Date(r.readAt).getTime() - 1)),
            connectionEan: ean,
            register: null,
            code: r.code,
            message: r.message,
          })),
        );
      }
      await recordAudit(tx, {
        ...auditActor(actor),
        action: 'readings.imported',
        entityType: 'connection',
        entityId: ean,
        data: { ...summary, importId: imp!.id },
      });
      return { received: rows.length, accepted, unchanged, rejected };
    },
  );
}

export interface MeterReading {
  connectionEan: string;
  readAt: Date;
  registerWh: number;
  feedInRegisterWh: number | null;
}

/**
 * Stored readings labelled in [from, to), in time order (positions where the offtake register was read): a raw
 * listing of stored values by label, not a period of quarter-hours. What leaves the system goes through
 * readingsForKind (DC-7's convention).
 */
export async function listReadings(
  db: DbOrTx,
  ean: string,
  from: Date,
  to: Date,
  limit = 100_000,
): Promise<MeterReading[]> {
  const rows = await loadDays(db, ean, amsterdamDayOf(from), amsterdamDayOf(to));
  return expandDays(rows)
    .filter((r) => r.registerWh !== null && r.readAt >= from && r.readAt < to)
    .slice(0, limit)
    .map((r) => ({
      connectionEan: ean,
      readAt: r.readAt,
      registerWh: r.registerWh!,
      feedInRegisterWh: r.feedInRegisterWh,
    }));
}

export interface DataPoint {
  /** End of the quarter-hour the register value closes (AL-1): the reading's own label. */
  at: Date;
  registerWh: number;
  /** interval_data: offtake in the quarter-hour that ends at `at` (register difference, AL-1), when both readings exist. */
  volumeWh?: number;
  feedInRegisterWh?: number;
  /** interval_data: feed-in in the quarter-hour that ends at `at`. */
  feedInVolumeWh?: number;
}

/**
 * The data of one kind over the period [from, to), under DC-7's convention (domain/gate.ts): the period is
 * taken on quarter-hour boundaries, rounded inward (the caller has normally done so already: the gate
 * registers the period it decided), and holds the points labelled in (from, to] — one per quarter-hour that
 * starts at or after `from` and ends at or before `to`. The value at `from` closes the quarter-hour before the
 * period and is never delivered; it is read only to measure the first quarter-hour's volume. Interval data is
 * every such point with its volumes; daily registers are those at midnight, monthly registers those at midnight
 * on the first of the month (Europe/Amsterdam, where the market's days and months begin): each register is
 * delivered with the period it closes. Both registers, offtake and feed-in (AL-1), whenever read.
 */
export async function readingsForKind(
  db: DbOrTx,
  ean: string,
  kind: DataKind,
  fromAsked: Date,
  toAsked: Date,
): Promise<DataPoint[]> {
  const { from, to } = quarterHourPeriod(fromAsked.getTime(), toAsked.getTime());
  if (to <= from) return [];
  const rows = expandDays(await loadDays(db, ean, amsterdamDayOf(new Date(from)), amsterdamDayOf(new Date(to)))).filter(
    (r) => r.registerWh !== null && r.readAt.getTime() >= from && r.readAt.getTime() <= to,
  );
  const inPeriod = (r: RegisterReading) => pointInPeriod(r.readAt.getTime(), from, to);
  const withFeedIn = (r: RegisterReading): Pick<DataPoint, 'feedInRegisterWh'> =>
    r.feedInRegisterWh !== null ? { feedInRegisterWh: r.feedInRegisterWh } : {};
  if (kind === 'interval_data') {
    const out: DataPoint[] = [];
    let prev: RegisterReading | undefined;
    for (const r of rows) {
      if (inPeriod(r)) {
        const contiguous = prev && r.readAt.getTime() - prev.readAt.getTime() === QUARTER_HOUR_MS;
        out.push({
          at: r.readAt,
          registerWh: r.registerWh!,
          ...(contiguous ? { volumeWh: r.registerWh! - prev!.registerWh! } : {}),
          ...withFeedIn(r),
          ...(contiguous && r.feedInRegisterWh !== null && prev!.feedInRegisterWh !== null
            ? { feedInVolumeWh: r.feedInRegisterWh - prev!.feedInRegisterWh }
            : {}),
        });
      }
      prev = r;
    }
    return out;
  }
  return rows
    .filter(inPeriod)
    .filter((r) => {
      const local = DateTime.fromJSDate(r.readAt, { zone: 'Europe/Amsterdam' });
      return local.hour === 0 && local.minute === 0 && (kind === 'daily_registers' || local.day === 1);
    })
    .map((r) => ({ at: r.readAt, registerWh: r.registerWh!, ...withFeedIn(r) }));
}
