/**
 * Signal reporting: the seed measures success by the number of signals of unlawful reading, per period,
 * per party, per channel and per outcome, and by the system's own deadline performance (GT-1 contact,
 * GT-3 answer, GT-7/GT-8 unblock, GT-2 block duration, GT-9 supplier reports).
 *
 * Everything is aggregated in PostgreSQL: one statement per section (counts, deadlines + blocks,
 * supplier reports). Call it inside a read-only REPEATABLE READ transaction so the sections agree
 * (the route does). Periods are calendar periods on the Amsterdam clock.
 *
 * Deadline states are domain/case.ts `caseDeadlines()` (the same definitions as the case view), computed
 * in SQL by its mirror ./case-deadlines-sql.ts `deadlineStatesSql()`; an agreement test holds the two
 * together. Shares are met / (met + missed).
 */
import { and, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import {
  blocks,
  breachAssessments,
  CASE_STATUSES,
  doubtCases,
  parties,
  SIGNAL_CHANNELS,
  supplierReports,
  type CaseStatus,
  type SignalChannel,
} from '../schema/index.js';
import { CLOSED_STATUSES, DEADLINE_STATES, isClosedStatus } from '../../domain/case.js';
import { deadlineStatesSql } from './case-deadlines-sql.js';

export const REPORT_TIME_ZONE = 'Europe/Amsterdam';
export const REPORT_GRANULARITIES = ['day', 'week', 'month'] as const;
export type ReportGranularity = (typeof REPORT_GRANULARITIES)[number];

export interface SignalReportFilter {
  /** Window on doubt_cases.received_at (and supplier_reports.reported_at): [from, to). */
  from: Date;
  to: Date;
  groupBy: ReportGranularity;
  gridOperatorId?: string;
  partyId?: string;
  channel?: SignalChannel;
  /** The instant "pending" and open blocks are measured against. */
  now: Date;
}

export interface SignalCounts {
  signals: number;
  open: number;
  closed: number;
}

export interface PeriodCount extends SignalCounts {
  /** First Amsterdam calendar day of the period (YYYY-MM-DD); weeks start on Monday. */
  period: string;
  start: Date;
  end: Date;
}

export interface PartyCount extends SignalCounts {
  gln: string;
  name: string;
}

export interface DeadlineStats {
  met: number;
  missed: number;
  pending: number;
  notApplicable: number;
  /** met / (met + missed); null when nothing was decided yet. */
  share: number | null;
}

export interface DurationStats {
  count: number;
  meanSeconds: number | null;
  maxSeconds: number | null;
}

export interface SignalReport {
  totals: SignalCounts;
  byPeriod: PeriodCount[];
  byParty: PartyCount[];
  byChannel: Array<SignalCounts & { channel: SignalChannel }>;
  byOutcome: Array<{ status: CaseStatus; open: boolean; count: number }>;
  byGridOperator: PartyCount[];
  deadlines: {
    /** GT-1: contacted within 1 working day. */
    contact: DeadlineStats;
    /** GT-3: answered within 72 hours. */
    response: DeadlineStats;
    /** GT-7 / GT-8: unblocked within 1 working day after acceptance or a wrongful-block finding. */
    unblock: DeadlineStats;
  };
  /** GT-2: how long the blocks of the window's cases lasted (lifted) or have lasted so far (in force). */
  blockDuration: { lifted: DurationStats; inForce: DurationStats };
  /** GT-9: supplier/service-provider reports received in the window (by reported_at). */
  supplierReports: { count: number; withinOneWorkingDay: number; share: number | null; withCase: number };
  /** GT-11: breach assessments of the window's cases and their GDPR art. 33 clock. */
  breachAssessments: BreachStats;
}

export interface BreachStats {
  count: number;
  /** Decided within the 72 hours. */
  met: number;
  /** Decided after them, or undecided past them. */
  missed: number;
  /** Undecided, the 72 hours still running at `now`. */
  running: number;
  /** met / (met + missed); null when no clock has ended yet. */
  share: number | null;
  notifiedAp: number;
  gridUserInformed: number;
}

const ts = (d: Date) => sql`${d.toISOString()}::timestamptz`;
const share = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);

/** Rows of db.execute(): drizzle hands timestamps back as strings, so instants leave SQL as epoch milliseconds. */
type Row = Record<string, unknown>;
const int = (v: unknown): number => Number(v ?? 0);
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string => String(v);

function asRows(result: unknown): Row[] {
  return result as Row[];
}

/** The doubt cases the report is about: window and filters (the caller has already applied the scope). */
function caseConditions(f: SignalReportFilter): SQL {
  const conds: SQL[] = [sql`${doubtCases.receivedAt} >= ${ts(f.from)}`, sql`${doubtCases.receivedAt} < ${ts(f.to)}`];
  if (f.gridOperatorId) conds.push(eq(doubtCases.gridOperatorId, f.gridOperatorId));
  if (f.partyId) conds.push(eq(doubtCases.partyId, f.partyId));
  if (f.channel) conds.push(eq(doubtCases.channel, f.channel));
  return and(...conds)!;
}

/** CTE `c`: the window's cases with their Amsterdam period and whether they are closed. */
function casesCte(f: SignalReportFilter): SQL {
  return sql`c as (
    select ${doubtCases.id} as id, ${doubtCases.partyId} as party_id, ${doubtCases.gridOperatorId} as grid_operator_id,
           ${doubtCases.channel} as channel, ${doubtCases.status} as status,
           ${inArray(doubtCases.status, CLOSED_STATUSES)} as closed,
           date_trunc(${f.groupBy}, ${doubtCases.receivedAt} at time zone ${REPORT_TIME_ZONE}) as period,
           ${doubtCases.contactDueAt} as contact_due_at, ${doubtCases.contactedAt} as contacted_at,
           ${doubtCases.responseDueAt} as response_due_at, ${doubtCases.respondedAt} as responded_at,
           ${doubtCases.unblockDueAt} as unblock_due_at, ${doubtCases.unblockedAt} as unblocked_at,
           ${doubtCases.closedAt} as closed_at
    from ${doubtCases}
    where ${caseConditions(f)}
  )`;
}

const counts = sql`count(c.id)::int as signals, (count(c.id) filter (where not c.closed))::int as open, (count(c.id) filter (where c.closed))::int as closed`;

/** Section 1: every count breakdown in one statement (periods filled with zeros across the window). */
async function countSection(db: DbOrTx, f: SignalReportFilter) {
  const unitInterval = sql`('1 ' || ${f.groupBy})::interval`;
  const rows = asRows(
    await db.execute(sql`
      with ${casesCte(f)},
      periods as (
        select generate_series(
          date_trunc(${f.groupBy}, ${ts(f.from)} at time zone ${REPORT_TIME_ZONE}),
          date_trunc(${f.groupBy}, (${ts(f.to)} - interval '1 microsecond') at time zone ${REPORT_TIME_ZONE}),
          ${unitInterval}
        ) as period
      )
      select 'period' as dim, to_char(s.period, 'YYYY-MM-DD') as key, null as gln, null as name,
             (extract(epoch from s.period at time zone ${REPORT_TIME_ZONE}) * 1000)::float8 as period_start,
             (extract(epoch from (s.period + ${unitInterval}) at time zone ${REPORT_TIME_ZONE}) * 1000)::float8 as period_end, ${counts}
        from periods s left join c on c.period = s.period group by s.period
      union all
      select 'party', p.id::text, p.gln, p.name, null, null, ${counts}
        from c join ${parties} p on p.id = c.party_id group by p.id, p.gln, p.name
      union all
      select 'grid_operator', p.id::text, p.gln, p.name, null, null, ${counts}
        from c join ${parties} p on p.id = c.grid_operator_id group by p.id, p.gln, p.name
      union all
      select 'channel', c.channel, null, null, null, null, ${counts} from c group by c.channel
      union all
      select 'status', c.status, null, null, null, null, ${counts} from c group by c.status
    `),
  );
  const of = (dim: string) => rows.filter((r) => r.dim === dim);
  const countsOf = (r: Row): SignalCounts => ({ signals: int(r.signals), open: int(r.open), closed: int(r.closed) });
  const bySignals = <T extends SignalCounts & { gln: string }>(a: T, b: T) =>
    b.signals - a.signals || a.gln.localeCompare(b.gln);

  const byPeriod = of('period')
    .map((r) => ({
      period: str(r.key),
      start: new Date(int(r.period_start)),
      end: new Date(int(r.period_end)),
      ...countsOf(r),
    }))
    .sort((a, b) => a.start.getTime() - b.start.getTime());
  const byParty = of('party')
    .map((r) => ({ gln: str(r.gln), name: str(r.name), ...countsOf(r) }))
    .sort(bySignals);
  const byGridOperator = of('grid_operator')
    .map((r) => ({ gln: str(r.gln), name: str(r.name), ...countsOf(r) }))
    .sort(bySignals);
  const channelRows = new Map(of('channel').map((r) => [str(r.key), countsOf(r)]));
  const statusRows = new Map(of('status').map((r) => [str(r.key), int(r.signals)]));
  const zero: SignalCounts = { signals: 0, open: 0, closed: 0 };
  // Every channel present in the schema, plus any value rows carry that the list does not know.
  const channels = [...new Set([...SIGNAL_CHANNELS, ...channelRows.keys()])] as SignalChannel[];
  const statuses = [...new Set([...CASE_STATUSES, ...statusRows.keys()])] as CaseStatus[];
  const byChannel = channels.map((channel) => ({ channel, ...(channelRows.get(channel) ?? zero) }));
  const byOutcome = statuses.map((status) => ({
    status,
    open: !isClosedStatus(status),
    count: statusRows.get(status) ?? 0,
  }));
  const totals = [...channelRows.values()].reduce(
    (t, r) => ({ signals: t.signals + r.signals, open: t.open + r.open, closed: t.closed + r.closed }),
    zero,
  );
  return { totals, byPeriod, byParty, byChannel, byOutcome, byGridOperator };
}

/** The CTE `c`'s columns as the facts of caseDeadlines(). */
const cteDeadlineColumns = {
  closed: sql`c.closed`,
  closedAt: sql`c.closed_at`,
  contactDueAt: sql`c.contact_due_at`,
  contactedAt: sql`c.contacted_at`,
  responseDueAt: sql`c.response_due_at`,
  respondedAt: sql`c.responded_at`,
  unblockDueAt: sql`c.unblock_due_at`,
  unblockedAt: sql`c.unblocked_at`,
};

/** Section 2: deadline states (caseDeadlines, by its SQL mirror) and block durations of the window's cases, one statement. */
async function deadlineSection(db: DbOrTx, f: SignalReportFilter) {
  const now = ts(f.now);
  const states = deadlineStatesSql(cteDeadlineColumns, f.now);
  const [row] = asRows(
    await db.execute(sql`
      with ${casesCte(f)},
      states as (
        select c.id, ${states.contact} as contact, ${states.response} as response, ${states.unblock} as unblock
        from c
      ),
      d as (
        select
          ${stateCounts('contact')}, ${stateCounts('response')}, ${stateCounts('unblock')}
        from states
      ),
      b as (
        select
          (count(*) filter (where ${blocks.endedAt} is not null))::int as lifted_count,
          (avg(extract(epoch from ${blocks.endedAt} - ${blocks.startedAt})) filter (where ${blocks.endedAt} is not null))::float8 as lifted_mean,
          (max(extract(epoch from ${blocks.endedAt} - ${blocks.startedAt})) filter (where ${blocks.endedAt} is not null))::float8 as lifted_max,
          (count(*) filter (where ${blocks.endedAt} is null))::int as open_count,
          (avg(extract(epoch from ${now} - ${blocks.startedAt})) filter (where ${blocks.endedAt} is null))::float8 as open_mean,
          (max(extract(epoch from ${now} - ${blocks.startedAt})) filter (where ${blocks.endedAt} is null))::float8 as open_max
        from ${blocks} join c on c.id = ${blocks.caseId}
      )
      select * from d, b
    `),
  );
  if (!row) throw new Error('deadline aggregation returned no row');
  const stats = (k: string): DeadlineStats => {
    const met = int(row[`${k}_met`]);
    const missed = int(row[`${k}_missed`]);
    return {
      met,
      missed,
      pending: int(row[`${k}_pending`]),
      notApplicable: int(row[`${k}_not_applicable`]),
      share: share(met, missed + met),
    };
  };
  return {
    deadlines: { contact: stats('contact'), response: stats('response'), unblock: stats('unblock') },
    blockDuration: {
      lifted: { count: int(row.lifted_count), meanSeconds: num(row.lifted_mean), maxSeconds: num(row.lifted_max) },
      inForce: { count: int(row.open_count), meanSeconds: num(row.open_mean), maxSeconds: num(row.open_max) },
    },
  };
}

function stateCounts(column: 'contact' | 'response' | 'unblock'): SQL {
  const c = sql.raw(column);
  return sql.join(
    DEADLINE_STATES.map((s) => sql`(count(*) filter (where ${c} = ${s}))::int as ${sql.raw(`${column}_${s}`)}`),
    sql`, `,
  );
}

/** Section 3: GT-9 supplier reports received by the grid operator in the window. */
async function supplierReportSection(db: DbOrTx, f: SignalReportFilter) {
  const conds: SQL[] = [
    sql`${supplierReports.reportedAt} >= ${ts(f.from)}`,
    sql`${supplierReports.reportedAt} < ${ts(f.to)}`,
  ];
  if (f.gridOperatorId) conds.push(eq(supplierReports.gridOperatorId, f.gridOperatorId));
  if (f.partyId) conds.push(eq(supplierReports.partyId, f.partyId));
  // Supplier reports are the 'supplier_report' channel; a filter on any other channel leaves none.
  if (f.channel && f.channel !== 'supplier_report') conds.push(sql`false`);
  const [row] = asRows(
    await db.execute(sql`
      select count(*)::int as n,
             (count(*) filter (where ${supplierReports.reportedWithinOneWorkingDay}))::int as within,
             (count(*) filter (where ${supplierReports.caseId} is not null))::int as with_case
      from ${supplierReports}
      where ${and(...conds)}
    `),
  );
  const n = int(row?.n);
  const within = int(row?.within);
  return { count: n, withinOneWorkingDay: within, share: share(within, n), withCase: int(row?.with_case) };
}

/**
 * Section 4: GT-11 breach assessments of the window's cases. An undecided one past its due instant counts
 * as missed even before its workflow has marked it (the clock is the due instant, not the marking).
 */
async function breachSection(db: DbOrTx, f: SignalReportFilter): Promise<BreachStats> {
  const b = breachAssessments;
  const conds: SQL[] = [sql`${doubtCases.receivedAt} >= ${ts(f.from)}`, sql`${doubtCases.receivedAt} < ${ts(f.to)}`];
  if (f.gridOperatorId) conds.push(eq(b.gridOperatorId, f.gridOperatorId));
  if (f.partyId) conds.push(eq(b.partyId, f.partyId));
  if (f.channel) conds.push(eq(doubtCases.channel, f.channel));
  const missed = sql`(${b.clock} = 'missed' or (${b.decidedAt} is null and ${b.dueAt} < ${ts(f.now)}))`;
  const [row] = asRows(
    await db.execute(sql`
      select count(*)::int as n,
             (count(*) filter (where ${b.clock} = 'met'))::int as met,
             (count(*) filter (where ${missed}))::int as missed,
             (count(*) filter (where ${b.decidedAt} is null and ${b.dueAt} >= ${ts(f.now)}))::int as running,
             (count(*) filter (where ${b.notifyAp}))::int as notified_ap,
             (count(*) filter (where ${b.informGridUser}))::int as informed
      from ${b} join ${doubtCases} on ${doubtCases.id} = ${b.caseId}
      where ${and(...conds)}
    `),
  );
  const met = int(row?.met);
  const miss = int(row?.missed);
  return {
    count: int(row?.n),
    met,
    missed: miss,
    running: int(row?.running),
    share: share(met, met + miss),
    notifiedAp: int(row?.notified_ap),
    gridUserInformed: int(row?.informed),
  };
}

/** The whole report. Four statements; run it in one REPEATABLE READ transaction for a consistent picture. */
export async function signalReport(db: DbOrTx, f: SignalReportFilter): Promise<SignalReport> {
  if (!(f.to.getTime() > f.from.getTime())) throw new RangeError('signalReport: to must be later than from');
  const counted = await countSection(db, f);
  const deadlines = await deadlineSection(db, f);
  const supplier = await supplierReportSection(db, f);
  return { ...counted, ...deadlines, supplierReports: supplier, breachAssessments: await breachSection(db, f) };
}
