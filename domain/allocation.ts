/**
 * Allocation rules (AL-1 … AL-6, GT-4) as pure functions: the quarter-hours of a market day, register
 * validation, the method in force per connection and quarter-hour, and the sums per quarter-hour ×
 * balance responsible party × supplier × grid area. No I/O: the run (services/allocation/runs.ts) feeds it
 * facts read from the database, and the SQL fast path of db/repositories/allocation-runs.ts mirrors
 * `allocateQuarterHours` for connection-days whose facts do not change during the day.
 */
import { DateTime } from 'luxon';

export const AMSTERDAM = 'Europe/Amsterdam';
export const QUARTER_HOUR_MS = 15 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

export const DIRECTIONS = ['offtake', 'feed_in'] as const;
/** AL-1: energy taken from the grid (offtake) and fed into it (feed-in), allocated apart (AL-3). */
export type Direction = (typeof DIRECTIONS)[number];

export const QUARTER_HOUR_METHODS = ['measured', 'profile', 'zero', 'unallocated'] as const;
export type QuarterHourMethod = (typeof QUARTER_HOUR_METHODS)[number];

export const ALLOCATION_REASONS = [
  /** The connection's allocation method is profile (also after GT-4 "mandate not demonstrated"). */
  'profile_method',
  /** AL-4: no allocation basis in force (none recorded, or the supplier whose iSMA request it was no longer supplies). */
  'no_allocation_basis',
  /** AL-5: no quarter-hour data exists. Estimated. */
  'opted_out',
  /** No valid register at one end of the quarter-hour. Estimated. */
  'readings_missing',
  /** As readings_missing, and a reading of that connection-day was rejected (AL-2). Estimated. */
  'readings_invalid',
  /** AL-6 / GT-4: an iSMA doubt case is open: '0' values. */
  'doubt_case_open',
  /** No supplier: nothing is delivered under a BRP; the volume is not allocated. */
  'no_supplier',
  /** A supplied connection must have a BRP; without one the volume cannot be allocated. */
  'no_balance_responsible_party',
] as const;
export type AllocationReason = (typeof ALLOCATION_REASONS)[number];

/** Profile volumes that stand in for missing quarter-hour data are flagged as estimated. */
export const ESTIMATED_REASONS: readonly AllocationReason[] = ['opted_out', 'readings_missing', 'readings_invalid'];
export const isEstimated = (reason: AllocationReason | null): boolean =>
  reason !== null && ESTIMATED_REASONS.includes(reason);

/**
 * AL-3: an aggregate cell made of fewer connections than this is flagged in exports. Ten, as the grid
 * operators' open data on consumption aggregates at least ten connections per line.
 */
export const DEFAULT_MIN_CONNECTIONS_PER_CELL = 10;

// ---- the market day ----------------------------------------------------------------------------

/** One Amsterdam calendar day: 96 quarter-hours, 92 on the spring DST switch, 100 on the autumn one. */
export interface AllocationDay {
  /** YYYY-MM-DD */
  day: string;
  start: Date;
  end: Date;
  quarterHours: number;
}

/**
 * YYYY-MM-DD in the years the API takes (api/schemas/common.ts CalendarDay, DATE_TIME_YEARS: 1900-2999): PostgreSQL
 * has no year 0, and a readings file's day goes into its date columns (issue 18). test/api/input-edge.test.ts holds
 * the schema and isDay to the same answers.
 */
const DAY_RE = /^(?:19|2\d)\d{2}-\d{2}-\d{2}$/;

/** Days seen recently (an import or a run asks for the same few days a million times; Luxon's zone maths is slow). */
const days = new Map<string, AllocationDay | null>();

function computeDay(day: string): AllocationDay | null {
  if (!DAY_RE.test(day)) return null;
  const start = DateTime.fromISO(day, { zone: AMSTERDAM }).startOf('day');
  if (!start.isValid) return null;
  const end = start.plus({ days: 1 });
  return {
    day,
    start: start.toJSDate(),
    end: end.toJSDate(),
    quarterHours: (end.toMillis() - start.toMillis()) / QUARTER_HOUR_MS,
  };
}

function cachedDay(day: string): AllocationDay | null {
  let d = days.get(day);
  if (d === undefined) {
    d = computeDay(day);
    if (days.size > 1000) days.clear();
    days.set(day, d);
  }
  return d;
}

export function isDay(day: string): boolean {
  return cachedDay(day) !== null;
}

export function allocationDay(day: string): AllocationDay {
  const d = cachedDay(day);
  if (!d) throw new RangeError(`not a calendar day (YYYY-MM-DD): ${day}`);
  return { ...d, start: new Date(d.start), end: new Date(d.end) };
}

/**
 * AL-1: the grid operator reads the meters afterwards, so a day can be allocated once it has ended in Amsterdam
 * (its last register, at 24:00, exists only then): `now` at or after the day's end. Requests and the Schedule
 * alike (db/repositories/allocation-runs.ts requestRun), and a run before it is computed.
 */
export function dayHasEnded(day: string, now: Date): boolean {
  return now.getTime() >= allocationDay(day).end.getTime();
}

/** Start of quarter-hour `qh` (1-based) of the day. */
export const quarterHourStart = (d: AllocationDay, qh: number): Date =>
  new Date(d.start.getTime() + (qh - 1) * QUARTER_HOUR_MS);

/** The Amsterdam day an instant falls in. */
export const amsterdamDayOf = (at: Date): string => DateTime.fromJSDate(at, { zone: AMSTERDAM }).toISODate()!;

export const nextDay = (day: string): string =>
  DateTime.fromISO(day, { zone: AMSTERDAM }).plus({ days: 1 }).toISODate()!;
export const previousDay = (day: string): string =>
  DateTime.fromISO(day, { zone: AMSTERDAM }).minus({ days: 1 }).toISODate()!;

/**
 * AL-1: a day row holds n+1 register values: index 0 at the day's start, index k at the end of
 * quarter-hour k. A reading at midnight is both the closing value of one day and the opening of the next.
 */
export function registerPositions(readAt: Date): Array<{ day: string; index: number }> {
  const day = amsterdamDayOf(readAt);
  const d = allocationDay(day);
  const index = (readAt.getTime() - d.start.getTime()) / QUARTER_HOUR_MS;
  if (index !== 0) return [{ day, index }];
  const prev = allocationDay(previousDay(day));
  return [
    { day: prev.day, index: prev.quarterHours },
    { day, index: 0 },
  ];
}

// ---- AL-2 validation ---------------------------------------------------------------------------

export const READING_REJECT_CODES = [
  'not_quarter_hour',
  'read_in_future',
  'duplicate_in_batch',
  'conflicts_with_stored',
  'register_decreased',
  'volume_exceeds_capacity',
] as const;
export type ReadingRejectCode = (typeof READING_REJECT_CODES)[number];

/** AL-2: the most energy the connection can carry between two readings, in Wh. */
export function maxVolumeWh(capacityKw: number, fromMs: number, toMs: number): number {
  return (capacityKw * 1000 * (toMs - fromMs)) / HOUR_MS;
}

export interface RegisterPoint {
  /** Epoch milliseconds of the reading. */
  t: number;
  wh: number;
}

/**
 * AL-2 for one step between two readings of one register: it never decreases, and the volume between
 * them stays within the connection's capacity. Every import (per row, bulk) judges readings with this.
 */
export function judgeRegisterStep(
  from: RegisterPoint,
  to: RegisterPoint,
  capacityKw: number,
): 'register_decreased' | 'volume_exceeds_capacity' | null {
  if (to.wh < from.wh) return 'register_decreased';
  if (to.wh - from.wh > maxVolumeWh(capacityKw, from.t, to.t)) return 'volume_exceeds_capacity';
  return null;
}

export type DayRegisters = Array<number | null>;

export interface DayRegistersVerdict {
  ok: boolean;
  /** The stored values merged with the new ones (stored values never change: AL-1 readings are final). */
  merged: DayRegisters;
  code?: ReadingRejectCode;
  /** Register index (0 = the day's start) at fault. */
  index?: number;
  message?: string;
}

/**
 * AL-1/AL-2 for a day of one register from a bulk file: n+1 values (null = not read), judged against
 * what is stored for the day and the neighbouring days' edge values. One fault rejects the line.
 */
export function judgeDayRegisters(
  d: AllocationDay,
  values: DayRegisters,
  capacityKw: number,
  stored: { sameDay?: DayRegisters | null; previousClose?: number | null; nextOpen?: number | null } = {},
): DayRegistersVerdict {
  const n = d.quarterHours;
  const merged: DayRegisters = values.slice();
  const reject = (code: ReadingRejectCode, index: number, message: string): DayRegistersVerdict => ({
    ok: false,
    merged,
    code,
    index,
    message,
  });
  const fill = (index: number, value: number | null | undefined, what: string): DayRegistersVerdict | null => {
    if (value === null || value === undefined) return null;
    const mine = merged[index];
    if (mine !== null && mine !== undefined && mine !== value)
      return reject('conflicts_with_stored', index, `A different register value (${value} Wh) is stored ${what}`);
    merged[index] = value;
    return null;
  };
  const same = stored.sameDay;
  if (same) {
    for (let i = 0; i <= n; i++) {
      const r = fill(i, same[i], 'for this quarter-hour');
      if (r) return r;
    }
  }
  const edge =
    fill(0, stored.previousClose, 'as the previous day’s closing value') ??
    fill(n, stored.nextOpen, 'as the next day’s opening value');
  if (edge) return edge;
  let prev: RegisterPoint | null = null;
  const t0 = d.start.getTime();
  for (let i = 0; i <= n; i++) {
    const v = merged[i];
    if (v === null || v === undefined) continue;
    const point = { t: t0 + i * QUARTER_HOUR_MS, wh: v };
    if (prev) {
      const code = judgeRegisterStep(prev, point, capacityKw);
      if (code === 'register_decreased')
        return reject(code, i, `Register ${v} Wh is below the preceding reading ${prev.wh} Wh`);
      if (code)
        return reject(
          code,
          i,
          `Volume ${v - prev.wh} Wh since the preceding reading exceeds the capacity of ${capacityKw} kW`,
        );
    }
    prev = point;
  }
  return { ok: true, merged };
}

export const missingCount = (values: DayRegisters | null, n: number): number => {
  if (!values) return n + 1;
  let missing = 0;
  for (let i = 0; i <= n; i++) if (values[i] === null || values[i] === undefined) missing++;
  return missing;
};

// ---- the method in force per quarter-hour (AL-4, AL-5, AL-6, GT-4) --------------------------------

export const ALLOCATION_METHODS = ['isma', 'profile'] as const;
export type AllocationMethod = (typeof ALLOCATION_METHODS)[number];

/**
 * On what basis the grid operator reads a connection's smart meter for allocation (DOMAIN.md, "Which P4
 * requests need an additional mandate", allocation basis): the supplier's iSMA request under its mandate (seed
 * 000's iSMA), the customer's explicit consent (seed 004), or a legal provision once in force (the Energiewet).
 */
export const ALLOCATION_BASIS_KINDS = ['supplier_isma_request', 'customer_consent', 'legal_provision'] as const;
export type AllocationBasisKind = (typeof ALLOCATION_BASIS_KINDS)[number];

/** Effective-dated master data: the row with the latest `from` ≤ t applies at t (later rows win ties). */
export interface PartyPeriod {
  from: Date;
  supplierId: string | null;
  balanceResponsiblePartyId: string | null;
  gridArea: string;
}

/**
 * A period of the connection's allocation basis: from `from` until the next one (a new basis supersedes, the
 * history is kept). iSMA rests on `basis` (null: an iSMA period recorded before bases were, or none: profile);
 * profile needs none. `basisPartyId` is the supplier of a `supplier_isma_request`.
 */
export interface MethodPeriod {
  from: Date;
  method: AllocationMethod;
  basis: AllocationBasisKind | null;
  basisPartyId: string | null;
}

/**
 * AL-4 (allocation basis): how a connection is allocated under the basis period in force, given its supplier
 * then. iSMA only on a recorded basis; the supplier's iSMA request rests on its mandate as the connection's
 * supplier, so it holds only while that supplier supplies the connection. Anything else is profile: by the
 * recorded method ('profile_method'), or for want of a basis ('no_allocation_basis'). The SQL of
 * db/repositories/allocation-runs.ts `classifyAndStoreUniform` mirrors this.
 */
export function basisOutcome(
  p: Pick<MethodPeriod, 'method' | 'basis' | 'basisPartyId'> | null,
  supplierId: string | null,
): 'isma' | 'profile_method' | 'no_allocation_basis' {
  if (p?.method === 'profile') return 'profile_method';
  if (!p || p.basis === null) return 'no_allocation_basis';
  if (p.basis === 'supplier_isma_request' && p.basisPartyId !== supplierId) return 'no_allocation_basis';
  return 'isma';
}

export interface BasisRecordFacts {
  method: AllocationMethod;
  basis: AllocationBasisKind | null;
  /** The supplier named for a supplier_isma_request (null: not named, the supplier of record is meant). */
  supplierId: string | null;
  reference: string | null;
  /** The connection's supplier at the basis's effectiveFrom. */
  supplierOfRecordId: string | null;
}

export interface BasisRefusal {
  kind: 'validation' | 'state';
  code:
    | 'allocation_basis_required'
    | 'allocation_basis_not_applicable'
    | 'allocation_basis_reference_required'
    | 'allocation_basis_supplier_not_of_record';
  message: string;
  field: 'basis' | 'reference' | 'supplierGln';
}

/**
 * What a new basis period must say (AL-4, allocation basis): iSMA names its basis, profile none; a legal
 * provision names its reference; the supplier's iSMA request is that of the connection's supplier at the
 * period's start (whose mandate it rests on). Returns the basis party to record, or the refusal.
 */
export function checkAllocationBasis(f: BasisRecordFacts): { basisPartyId: string | null } | BasisRefusal {
  if (f.method === 'profile') {
    if (f.basis !== null || f.supplierId !== null || f.reference !== null)
      return {
        kind: 'validation',
        code: 'allocation_basis_not_applicable',
        message: 'Profile allocation needs no basis: send basis, supplierGln and reference for iSMA only (AL-4)',
        field: 'basis',
      };
    return { basisPartyId: null };
  }
  if (f.basis === null)
    return {
      kind: 'validation',
      code: 'allocation_basis_required',
      message:
        "iSMA needs a basis: the supplier's iSMA request, the customer's consent or a legal provision (DOMAIN.md, allocation basis)",
      field: 'basis',
    };
  if (f.basis === 'legal_provision' && f.reference === null)
    return {
      kind: 'validation',
      code: 'allocation_basis_reference_required',
      message: 'A legal provision is named by its reference',
      field: 'reference',
    };
  if (f.basis !== 'supplier_isma_request') {
    if (f.supplierId !== null)
      return {
        kind: 'validation',
        code: 'allocation_basis_not_applicable',
        message: `supplierGln belongs to a supplier_isma_request basis, not to ${f.basis}`,
        field: 'supplierGln',
      };
    return { basisPartyId: null };
  }
  const supplier = f.supplierId ?? f.supplierOfRecordId;
  if (supplier === null || supplier !== f.supplierOfRecordId)
    return {
      kind: 'state',
      code: 'allocation_basis_supplier_not_of_record',
      message:
        f.supplierOfRecordId === null
          ? 'The connection has no supplier at effectiveFrom: there is no supplier whose iSMA request it could be'
          : "A supplier's iSMA request rests on its mandate as the connection's supplier: the supplier named does not supply the connection at effectiveFrom",
      field: 'supplierGln',
    };
  return { basisPartyId: supplier };
}

/** AL-6: a '0'-values period of an open iSMA doubt case, [start, end). */
export interface ZeroPeriod {
  start: Date;
  end: Date | null;
}

export interface ProfileInputs {
  offtakeCategory: string;
  feedInCategory: string;
  /** AL-4 annual standard volumes (SJV, SJI). */
  annualOfftakeKwh: number;
  annualFeedInKwh: number;
}

export interface ConnectionDayFacts {
  connectionEan: string;
  /** Sorted by `from` (then recording order). Must cover the day; none in force → unallocated. */
  parties: PartyPeriod[];
  /** The allocation basis periods, sorted by `from`. None in force → profile (AL-4: no basis, basisOutcome). */
  methods: MethodPeriod[];
  zeroPeriods: ZeroPeriod[];
  remoteReadingOptOut: boolean;
  /** n+1 register values of the day, or null: no readings row. */
  offtake: DayRegisters | null;
  feedIn: DayRegisters | null;
  /** A reading of this connection-day was rejected on import (AL-2). */
  readingsRejected: boolean;
  profile: ProfileInputs;
}

export interface Cell {
  balanceResponsiblePartyId: string;
  supplierId: string;
  gridArea: string;
}

export interface DirectionAllocation {
  method: QuarterHourMethod;
  reason: AllocationReason | null;
}

export interface QuarterHourAllocation {
  cell: Cell | null;
  offtake: DirectionAllocation;
  feedIn: DirectionAllocation;
}

function inForce<T extends { from: Date }>(rows: readonly T[], at: number): T | null {
  let found: T | null = null;
  for (const r of rows) if (r.from.getTime() <= at) found = r;
  return found;
}

/**
 * The rule of the run, per quarter-hour and direction. Facts are read at the quarter-hour's start
 * (a supplier switch or method change at 10:00 applies from the quarter-hour 10:00–10:15); a '0'-values
 * period counts for every quarter-hour it overlaps, so no quarter-hour in which the mandate was in doubt
 * is allocated from readings (GT-4). In order:
 *  1. no supplier, or a supplier without BRP → not allocated;
 *  2. an open iSMA doubt case → '0' (AL-6, GT-4);
 *  3. method profile (also after "mandate not demonstrated", GT-4) → profile (AL-4);
 *  4. no allocation basis in force (basisOutcome) → profile (AL-4);
 *  5. opted out of remote reading (AL-5) → profile, estimated;
 *  6. both registers of the quarter-hour present → measured (iSMA, AL-1);
 *  7. otherwise → profile, estimated (readings missing, or rejected on import).
 */
/** The allocations a quarter-hour can get, shared (a run allocates tens of millions of quarter-hours). */
const A = {
  noSupplier: { method: 'unallocated', reason: 'no_supplier' },
  noBrp: { method: 'unallocated', reason: 'no_balance_responsible_party' },
  zero: { method: 'zero', reason: 'doubt_case_open' },
  profileMethod: { method: 'profile', reason: 'profile_method' },
  noBasis: { method: 'profile', reason: 'no_allocation_basis' },
  optedOut: { method: 'profile', reason: 'opted_out' },
  measured: { method: 'measured', reason: null },
  readingsMissing: { method: 'profile', reason: 'readings_missing' },
  readingsInvalid: { method: 'profile', reason: 'readings_invalid' },
} as const satisfies Record<string, DirectionAllocation>;

export function allocateQuarterHours(d: AllocationDay, f: ConnectionDayFacts): QuarterHourAllocation[] {
  const out: QuarterHourAllocation[] = [];
  const t0 = d.start.getTime();
  const cells = new Map<PartyPeriod, Cell>();
  const fallback = f.readingsRejected ? A.readingsInvalid : A.readingsMissing;
  for (let qh = 1; qh <= d.quarterHours; qh++) {
    const start = t0 + (qh - 1) * QUARTER_HOUR_MS;
    const end = start + QUARTER_HOUR_MS;
    const party = inForce(f.parties, start);
    if (!party || party.supplierId === null) {
      out.push({ cell: null, offtake: A.noSupplier, feedIn: A.noSupplier });
      continue;
    }
    if (party.balanceResponsiblePartyId === null) {
      out.push({ cell: null, offtake: A.noBrp, feedIn: A.noBrp });
      continue;
    }
    let cell = cells.get(party);
    if (!cell)
      cells.set(
        party,
        (cell = {
          balanceResponsiblePartyId: party.balanceResponsiblePartyId,
          supplierId: party.supplierId,
          gridArea: party.gridArea,
        }),
      );
    const zero = f.zeroPeriods.some((z) => z.start.getTime() < end && (z.end === null || z.end.getTime() > start));
    const basis = zero ? 'isma' : basisOutcome(inForce(f.methods, start), party.supplierId);
    const common = zero
      ? A.zero
      : basis === 'profile_method'
        ? A.profileMethod
        : basis === 'no_allocation_basis'
          ? A.noBasis
          : f.remoteReadingOptOut
            ? A.optedOut
            : null;
    out.push({
      cell,
      offtake: common ?? fromRegisters(f.offtake, qh, fallback),
      feedIn: common ?? fromRegisters(f.feedIn, qh, fallback),
    });
  }
  return out;
}

/** AL-1: measured when both registers of the quarter-hour were read; otherwise the profile fallback. */
function fromRegisters(registers: DayRegisters | null, qh: number, fallback: DirectionAllocation): DirectionAllocation {
  const a = registers?.[qh - 1];
  const b = registers?.[qh];
  return a !== null && a !== undefined && b !== null && b !== undefined ? A.measured : fallback;
}

/** Maximal runs of quarter-hours with the same cell and methods: how a connection's result is stored. */
export interface Segment extends QuarterHourAllocation {
  qhFrom: number;
  /** Inclusive. */
  qhTo: number;
}

export const cellKey = (c: Cell | null): string =>
  c ? `${c.balanceResponsiblePartyId}|${c.supplierId}|${c.gridArea}` : '';
const sameDirection = (a: DirectionAllocation, b: DirectionAllocation) =>
  a.method === b.method && a.reason === b.reason;

export function segmentsOf(qhs: readonly QuarterHourAllocation[]): Segment[] {
  const segments: Segment[] = [];
  qhs.forEach((q, i) => {
    const last = segments[segments.length - 1];
    const sameCell = last && (last.cell === q.cell || cellKey(last.cell) === cellKey(q.cell));
    if (last && sameCell && sameDirection(last.offtake, q.offtake) && sameDirection(last.feedIn, q.feedIn))
      last.qhTo = i + 1;
    else segments.push({ ...q, qhFrom: i + 1, qhTo: i + 1 });
  });
  return segments;
}

export const allocateConnectionDay = (d: AllocationDay, f: ConnectionDayFacts): Segment[] =>
  segmentsOf(allocateQuarterHours(d, f));

// ---- volumes (exact) ---------------------------------------------------------------------------

/**
 * Profile fractions are kept exactly, as integers of 1e-15 (FRACTION_SCALE); volumes as integers of
 * 1e-12 Wh (pWh), so fraction × annual kWh × 1000 is exact and sums of aggregates equal the sums of
 * their connections to the last digit (PostgreSQL `numeric` holds the same values).
 */
export const FRACTION_DECIMALS = 15;
export const FRACTION_SCALE = 10n ** BigInt(FRACTION_DECIMALS);
export const PWH_PER_WH = 10n ** 12n;

/** AL-4: profile fraction (scaled) × annual standard volume (kWh), in pWh. */
export const profileVolumePwh = (fractionScaled: bigint, annualKwh: number): bigint =>
  fractionScaled * BigInt(annualKwh);

/** Fractions of one day per category, index qh-1. */
export type DayFractions = ReadonlyMap<string, readonly bigint[]>;

export function fractionOf(fractions: DayFractions, category: string, qh: number): bigint {
  const f = fractions.get(category);
  if (!f) throw new RangeError(`no profile fractions for category ${category}`);
  const v = f[qh - 1];
  if (v === undefined) throw new RangeError(`no profile fraction for category ${category}, quarter-hour ${qh}`);
  return v;
}

/** The volume (pWh) of one quarter-hour and direction of a connection, given its allocation. */
export function quarterHourVolumePwh(
  a: DirectionAllocation,
  qh: number,
  direction: Direction,
  f: ConnectionDayFacts,
  fractions: DayFractions,
): bigint {
  switch (a.method) {
    case 'measured': {
      const r = direction === 'offtake' ? f.offtake : f.feedIn;
      return BigInt(r![qh]! - r![qh - 1]!) * PWH_PER_WH;
    }
    case 'profile': {
      const [category, annual] =
        direction === 'offtake'
          ? [f.profile.offtakeCategory, f.profile.annualOfftakeKwh]
          : [f.profile.feedInCategory, f.profile.annualFeedInKwh];
      // No annual volume, no profile volume (and no need for the category's fractions).
      return annual === 0 ? 0n : profileVolumePwh(fractionOf(fractions, category, qh), annual);
    }
    default:
      return 0n;
  }
}

/** pWh as a decimal string of Wh without trailing zeros ("12.5", "-3", "0"), like PostgreSQL trim_scale. */
export function pwhToWh(pwh: bigint): string {
  const neg = pwh < 0n;
  const abs = neg ? -pwh : pwh;
  const whole = abs / PWH_PER_WH;
  const frac = (abs % PWH_PER_WH).toString().padStart(12, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}

/** A decimal string (PostgreSQL numeric) in pWh; more than 12 decimals is a programming error. */
export function whToPwh(wh: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(wh.trim());
  if (!m) throw new RangeError(`not a decimal: ${wh}`);
  const frac = (m[3] ?? '').replace(/0+$/, '');
  if (frac.length > 12) throw new RangeError(`more than 12 decimals: ${wh}`);
  const v = BigInt(m[2]!) * PWH_PER_WH + BigInt(frac.padEnd(12, '0') || '0');
  return m[1] ? -v : v;
}

// ---- AL-3 aggregation --------------------------------------------------------------------------

export interface AggregateCounts {
  /** Connections allocated in this quarter-hour and direction (measured + profile + zero). */
  connections: number;
  measured: number;
  profile: number;
  estimated: number;
  zero: number;
}

export interface AggregateValue extends AggregateCounts {
  volumePwh: bigint;
}

/** Key of one aggregate: cell, direction, quarter-hour. */
export const aggregateKey = (cell: Cell, direction: Direction, qh: number) => `${cellKey(cell)}|${direction}|${qh}`;

/** AL-3: the sums per quarter-hour × BRP × supplier × grid area × direction over the given connections. */
export function aggregateDay(
  d: AllocationDay,
  connections: readonly ConnectionDayFacts[],
  fractions: DayFractions,
): Map<string, AggregateValue & { cell: Cell; direction: Direction; qh: number }> {
  const out = new Map<string, AggregateValue & { cell: Cell; direction: Direction; qh: number }>();
  for (const f of connections) {
    allocateQuarterHours(d, f).forEach((q, i) => {
      if (!q.cell) return;
      const qh = i + 1;
      for (const direction of DIRECTIONS) {
        const a = direction === 'offtake' ? q.offtake : q.feedIn;
        const key = aggregateKey(q.cell, direction, qh);
        let agg = out.get(key);
        if (!agg) {
          agg = {
            cell: q.cell,
            direction,
            qh,
            volumePwh: 0n,
            connections: 0,
            measured: 0,
            profile: 0,
            estimated: 0,
            zero: 0,
          };
          out.set(key, agg);
        }
        agg.volumePwh += quarterHourVolumePwh(a, qh, direction, f, fractions);
        agg.connections += 1;
        if (a.method === 'measured') agg.measured += 1;
        if (a.method === 'profile') agg.profile += 1;
        if (a.method === 'zero') agg.zero += 1;
        if (isEstimated(a.reason)) agg.estimated += 1;
      }
    });
  }
  return out;
}

/** AL-3: a cell of fewer connections than the minimum is flagged (its sum comes close to one customer). */
export const belowMinimum = (connections: number, minimum: number): boolean => connections < minimum;

// ---- re-runs -----------------------------------------------------------------------------------

export interface AggregateDifference {
  key: string;
  previousPwh: bigint | null;
  currentPwh: bigint | null;
  deltaPwh: bigint;
}

/** The difference report of a re-run: every aggregate whose volume changed, appeared or disappeared. */
export function differences(
  previous: ReadonlyMap<string, bigint>,
  current: ReadonlyMap<string, bigint>,
): AggregateDifference[] {
  const out: AggregateDifference[] = [];
  for (const [key, cur] of current) {
    const prev = previous.get(key);
    if (prev === undefined) out.push({ key, previousPwh: null, currentPwh: cur, deltaPwh: cur });
    else if (prev !== cur) out.push({ key, previousPwh: prev, currentPwh: cur, deltaPwh: cur - prev });
  }
  for (const [key, prev] of previous)
    if (!current.has(key)) out.push({ key, previousPwh: prev, currentPwh: null, deltaPwh: -prev });
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
