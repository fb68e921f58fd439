/**
 * The allocation run's set-based statements (AL-3, AL-4, AL-6) and the run rows.
 *
 * A run classifies every connection-day of the grid operator (run_fact_groups). Connection-days whose facts
 * hold unchanged all day (parties, method and '0'-values state as at the day's start; readings complete
 * or absent) are allocated here in SQL, which MIRRORS `allocateQuarterHours` (domain/allocation.ts) for
 * such days: unallocated (no supplier / no BRP) → '0' (an open iSMA doubt case the whole day) → profile
 * (method profile; no allocation basis, as `basisOutcome`; opted out; no readings row) → measured. Every other connection-day ("mixed": a switch
 * or method change during or after the day, a '0'-values period starting or ending in it, some registers
 * missing) is allocated by that function itself (services/allocation/runs.ts). The agreement test
 * (test/allocation/run-agreement.test.ts) holds the two to the same results on random facts.
 */
import { and, desc, eq, inArray, sql as dsql } from 'drizzle-orm';
import type postgres from 'postgres';
import type { DbOrTx } from '../client.js';
import { allocationRuns, connections, type AllocationRun, type AllocationRunTrigger } from '../schema/index.js';
import { invalidState, notFound, validationError } from '../../lib/errors.js';
import {
  dayHasEnded,
  QUARTER_HOUR_MS,
  type AllocationBasisKind,
  type AllocationDay,
  type AllocationMethod,
  type AllocationReason,
  type QuarterHourMethod,
} from '../../domain/allocation.js';
import { recordAudit } from './audit.js';
import { auditActor, type Actor } from './actor.js';

type Sql = postgres.Sql | postgres.TransactionSql;

// ---- run rows ----------------------------------------------------------------------------------

export interface RunRequest {
  gridOperatorId: string;
  day: string;
  trigger: AllocationRunTrigger;
  /** Same key → same run (HTTP Idempotency-Key, or schedule:<operator>:<day>). */
  requestKey: string;
  reason: string;
}

/**
 * Request a run of a day: the next version. A scheduled request makes version 1 only when the day has no
 * run yet (one scheduled run per operator and day, however often the Schedule fires); a request with a
 * key seen before returns that run. Versions are numbered under a per-(operator, day) lock.
 */
export async function requestRun(
  db: DbOrTx,
  actor: Actor,
  input: RunRequest,
  at = new Date(),
): Promise<{ run: AllocationRun; created: boolean }> {
  // AL-1: allocation comes after the day (the Schedule asks for yesterday; a request may ask for any past day).
  if (!dayHasEnded(input.day, at))
    throw validationError(
      'day_not_ended',
      `${input.day} has not ended in Europe/Amsterdam: a day is allocated once its readings exist, afterwards (AL-1)`,
      'day',
    );
  return db.transaction(async (tx) => {
    await tx.execute(
      dsql`select pg_advisory_xact_lock(hashtext(${`allocation:${input.gridOperatorId}:${input.day}`}))`,
    );
    const [same] = await tx.select().from(allocationRuns).where(eq(allocationRuns.requestKey, input.requestKey));
    if (same) return { run: same, created: false };
    const [latest] = await tx
      .select()
      .from(allocationRuns)
      .where(and(eq(allocationRuns.gridOperatorId, input.gridOperatorId), eq(allocationRuns.day, input.day)))
      .orderBy(desc(allocationRuns.version))
      .limit(1);
    if (latest && input.trigger === 'schedule') return { run: latest, created: false };
    const [run] = await tx
      .insert(allocationRuns)
      .values({
        gridOperatorId: input.gridOperatorId,
        day: input.day,
        version: (latest?.version ?? 0) + 1,
        status: 'requested',
        trigger: input.trigger,
        requestKey: input.requestKey,
        reason: input.reason,
        requestedBy: actor.actor,
        requestedAt: at,
      })
      .returning();
    if (!run) throw new Error('allocation run insert returned nothing');
    await recordAudit(tx, {
      ...auditActor(actor),
      action: 'allocation.run_requested',
      entityType: 'allocation_run',
      entityId: run.id,
      data: {
        gridOperatorId: run.gridOperatorId,
        day: run.day,
        version: run.version,
        trigger: run.trigger,
        reason: run.reason,
        rule: 'AL-3',
      },
      at,
    });
    return { run, created: true };
  });
}

export async function getRun(db: DbOrTx, id: string): Promise<AllocationRun | null> {
  const [run] = await db.select().from(allocationRuns).where(eq(allocationRuns.id, id));
  return run ?? null;
}

export async function requireRun(
  db: DbOrTx,
  id: string,
  visible: (r: AllocationRun) => boolean = () => true,
): Promise<AllocationRun> {
  const run = await getRun(db, id);
  if (!run || !visible(run)) throw notFound('allocation_run_not_found', `No allocation run ${id}`, 'runId');
  return run;
}

export async function listRuns(
  db: DbOrTx,
  f: { gridOperatorId?: string; day?: string; limit: number; offset: number },
): Promise<{ items: AllocationRun[]; total: number }> {
  const where = and(
    ...[
      f.gridOperatorId ? eq(allocationRuns.gridOperatorId, f.gridOperatorId) : undefined,
      f.day ? eq(allocationRuns.day, f.day) : undefined,
    ].filter((x) => x !== undefined),
  );
  const items = await db
    .select()
    .from(allocationRuns)
    .where(where)
    .orderBy(desc(allocationRuns.day), desc(allocationRuns.version))
    .limit(f.limit)
    .offset(f.offset);
  return { items, total: await db.$count(allocationRuns, where) };
}

/** Runs requested but not finished whose workflow may never have started (recovery by the next Schedule). */
export async function unfinishedRuns(db: DbOrTx, requestedBefore: Date): Promise<AllocationRun[]> {
  return db
    .select()
    .from(allocationRuns)
    .where(
      and(
        inArray(allocationRuns.status, ['requested', 'running']),
        dsql`${allocationRuns.requestedAt} < ${requestedBefore.toISOString()}::timestamptz`,
      ),
    );
}

/** The grid operators with connections, each allocates its own (AL-3). */
export async function gridOperatorsWithConnections(db: DbOrTx): Promise<string[]> {
  const rows = await db
    .selectDistinct({ id: connections.gridOperatorId })
    .from(connections)
    .orderBy(connections.gridOperatorId);
  return rows.map((r) => r.id);
}

export async function markRunFailed(db: DbOrTx, id: string, failure: string, at = new Date()): Promise<void> {
  await db.transaction(async (tx) => {
    const [run] = await tx
      .update(allocationRuns)
      .set({ status: 'failed', failure, finishedAt: at })
      .where(and(eq(allocationRuns.id, id), inArray(allocationRuns.status, ['requested', 'running'])))
      .returning();
    if (run) {
      await recordAudit(tx, {
        actor: `workflow:allocation-run:${id}`,
        actorRole: 'system',
        action: 'allocation.run_failed',
        entityType: 'allocation_run',
        entityId: id,
        data: { failure },
        at,
      });
    }
  });
}

// ---- the run's statements (raw SQL on one transaction) --------------------------------------------

export interface RunContext {
  runId: string;
  gridOperatorId: string;
  day: AllocationDay;
  profileSetId: string;
}

const ts = (d: Date) => d.toISOString();
/** Start of the last quarter-hour and end of the first: the bounds of "a '0' period covers every quarter-hour". */
const firstQhEnd = (d: AllocationDay) => new Date(d.start.getTime() + QUARTER_HOUR_MS);
const lastQhStart = (d: AllocationDay) => new Date(d.end.getTime() - QUARTER_HOUR_MS);

/** Lock the run row; refuses a run that is not requested/running (completed runs are returned by the caller). */
export async function lockRun(
  tx: Sql,
  runId: string,
): Promise<{ status: string; gridOperatorId: string; day: string } | null> {
  const [row] = await tx<Array<{ status: string; grid_operator_id: string; day: string }>>`
    select status, grid_operator_id, day::text as day from allocation_runs where id = ${runId} for update`;
  return row ? { status: row.status, gridOperatorId: row.grid_operator_id, day: row.day } : null;
}

/**
 * Profile categories with a non-zero annual volume that the set lacks, among the connection-days that are
 * or may be allocated by profile (the run cannot allocate them). After classifyAndStoreUniform.
 */
export async function missingProfileCategories(tx: Sql, c: RunContext): Promise<string[]> {
  const rows = await tx<Array<{ category: string }>>`
    select distinct category from (
      select profile_category as category from run_groups where (kind like 'profile:%' or kind = 'mixed') and annual_offtake > 0
      union select feed_in_profile_category from run_groups where (kind like 'profile:%' or kind = 'mixed') and annual_feed_in > 0
    ) used
    where not exists (select 1 from profile_fractions p where p.profile_set_id = ${c.profileSetId} and p.day = ${c.day.day}::date and p.category = used.category)
    order by 1`;
  return rows.map((r) => r.category);
}

export interface Classification {
  kind: string;
  connections: number;
}

/**
 * Classify the grid operator's connection-days and write the results of the uniform ones (grouped as
 * members); mixed ones go to the temp table run_mixed for the domain function. Mirrors
 * `allocateQuarterHours` for uniform days (see the module comment).
 */
export async function classifyAndStoreUniform(
  tx: Sql,
  c: RunContext,
  step: (name: string) => void = () => undefined,
): Promise<Classification[]> {
  const d = c.day;
  await tx`create temp table run_mixed (ean varchar(18) primary key) on commit drop`;
  // Every connection-day's facts and kind, grouped at once per kind, parties and profile (one pass over
  // a million rows, in parallel workers: CREATE TABLE AS may use them, and array_agg combines partial
  // arrays). The planner's default costs keep it serial; they are lowered for this statement.
  await tx`set local parallel_setup_cost = 0`;
  await tx`set local parallel_tuple_cost = 0`;
  await tx`
    create temp table run_fact_groups on commit drop as
    select kind, brp, supplier_id, grid_area, profile_category, feed_in_profile_category, count(*)::int as n,
           sum(annual_offtake) as annual_offtake, sum(annual_feed_in) as annual_feed_in,
           array_agg(ean) as eans,
           -- Annual volumes matter to profile results only (the others' volumes need none).
           coalesce(array_agg(annual_offtake) filter (where kind like 'profile:%'), '{}') as annual_offtakes,
           coalesce(array_agg(annual_feed_in) filter (where kind like 'profile:%'), '{}') as annual_feed_ins
      from (
    with changed as (
      select connection_ean as ean from connection_party_history where effective_from > ${ts(d.start)}::timestamptz
      union
      select connection_ean from allocation_methods where effective_from > ${ts(d.start)}::timestamptz
    ), zero as (
      select connection_ean as ean,
             bool_or(started_at < ${ts(firstQhEnd(d))}::timestamptz and (ended_at is null or ended_at > ${ts(lastQhStart(d))}::timestamptz)) as whole_day
        from zero_allocations
       where started_at < ${ts(d.end)}::timestamptz and (ended_at is null or ended_at > ${ts(d.start)}::timestamptz)
       group by connection_ean
    ), rejected as (
      select distinct connection_ean as ean from meter_reading_rejects where day = ${d.day}::date
    )
    select c.ean, c.balance_responsible_party_id as brp, c.supplier_id, c.grid_area,
           c.profile_category, c.feed_in_profile_category, c.annual_standard_volume_kwh as annual_offtake, c.annual_standard_feed_in_kwh as annual_feed_in,
           case
             when ch.ean is not null or (z.ean is not null and not z.whole_day) then 'mixed'
             when c.supplier_id is null then 'unallocated:no_supplier'
             when c.balance_responsible_party_id is null then 'unallocated:no_balance_responsible_party'
             when z.whole_day then 'zero:doubt_case_open'
             when c.allocation_method = 'profile' then 'profile:profile_method'
             -- basisOutcome: iSMA only on a basis, the supplier's iSMA request only while that supplier supplies.
             when c.allocation_method is null or c.allocation_basis is null
               or (c.allocation_basis = 'supplier_isma_request' and c.allocation_basis_party_id is distinct from c.supplier_id)
               then 'profile:no_allocation_basis'
             when c.remote_reading_opt_out then 'profile:opted_out'
             when r.connection_ean is null then case when rj.ean is not null then 'profile:readings_invalid' else 'profile:readings_missing' end
             when r.missing > 0 then 'mixed'
             else 'measured'
           end as kind
      from connections c
      left join changed ch on ch.ean = c.ean
      left join zero z on z.ean = c.ean
      left join rejected rj on rj.ean = c.ean
      left join meter_reading_days r on r.day = ${d.day}::date and r.connection_ean = c.ean
     where c.grid_operator_id = ${c.gridOperatorId}
      ) facts
     group by 1, 2, 3, 4, 5, 6`;
  await tx`set local parallel_setup_cost = default`;
  await tx`set local parallel_tuple_cost = default`;
  step('facts');
  // The cells of the uniform connection-days (the mixed ones' come with their results).
  await tx`
    insert into allocation_cells (balance_responsible_party_id, supplier_id, grid_area)
    select distinct brp, supplier_id, grid_area from run_fact_groups where kind <> 'mixed' and kind not like 'unallocated:%'
    on conflict do nothing`;
  await tx`
    create temp table run_groups on commit drop as
    select g.*, cell.id as cell_id
      from run_fact_groups g
      left join allocation_cells cell on g.kind not in ('mixed', 'unallocated:no_supplier', 'unallocated:no_balance_responsible_party')
            and cell.balance_responsible_party_id = g.brp and cell.supplier_id = g.supplier_id and cell.grid_area = g.grid_area`;
  await tx`
    insert into allocation_run_members (run_id, kind, cell_id, offtake_profile_category, feed_in_profile_category, connection_eans, annual_offtake_kwh, annual_feed_in_kwh)
    select ${c.runId}, kind, cell_id, profile_category, feed_in_profile_category, eans, annual_offtakes, annual_feed_ins from run_groups where kind <> 'mixed'`;
  await tx`insert into run_mixed select unnest(eans) from run_groups where kind = 'mixed'`;
  step('members');
  const rows = await tx<
    Array<{ kind: string; n: number }>
  >`select kind, sum(n)::int as n from run_groups group by kind order by kind`;
  return rows.map((r) => ({ kind: r.kind, connections: r.n }));
}

/**
 * AL-3 sums of the uniform connection-days, before any mixed result is written (their rows look alike):
 * - measured: register values summed per cell and position, so that a quarter-hour's volume is the
 *   difference of two sums (Σ(r[k] − r[k−1]) = Σr[k] − Σr[k−1]) — one array subscript per value;
 * - profile: Σ annual volume per cell, direction and category (× the fraction later, exact);
 * - '0': connections per cell.
 */
export async function sumUniform(
  tx: Sql,
  c: RunContext,
  step: (name: string) => void = () => undefined,
): Promise<void> {
  // Driven by the members, a cell at a time, each connection's day row fetched by its key: the aggregate
  // then meets one cell's groups at a time (cache-friendly, unlike a scan in storage order). Per value: one
  // subscript into the aggregate (the register-sum trick above), keyed by one integer (cell × 256 +
  // position). Enough memory that the aggregate never spills (a spill would carry whole arrays). CREATE
  // TABLE AS may use parallel workers (an INSERT … SELECT would not).
  await tx`analyze allocation_run_members`;
  await tx`set local min_parallel_table_scan_size = 0`;
  await tx.unsafe(
    `create temp table run_measured on commit drop as
     select (g.key >> 8)::int as cell_id, (g.key & 255)::int as k, g.offtake, g.feed_in
       from (select m.cell_id::bigint << 8 | k as key, sum(d.offtake_wh[k]) as offtake, sum(d.feed_in_wh[k]) as feed_in
               from allocation_run_members m
              cross join lateral unnest(m.connection_eans) e(ean)
               join meter_reading_days d on d.day = $1::date and d.connection_ean = e.ean
              cross join lateral generate_series(1, array_length(d.offtake_wh, 1)) k
              where m.run_id = $2 and m.kind = 'measured'
              group by 1) g`,
    [c.day.day, c.runId],
  );
  step('measured');
  await tx.unsafe(
    `create temp table run_profile_sums on commit drop as
     select cell_id, 'offtake'::text as direction, profile_category as category, sum(annual_offtake) as annual, sum(n)::int as n,
            (sum(n) filter (where kind in ('profile:opted_out', 'profile:readings_missing', 'profile:readings_invalid')))::int as estimated
       from run_groups where kind like 'profile:%' group by 1, 3
     union all
     select cell_id, 'feed_in', feed_in_profile_category, sum(annual_feed_in), sum(n)::int,
            (sum(n) filter (where kind in ('profile:opted_out', 'profile:readings_missing', 'profile:readings_invalid')))::int
       from run_groups where kind like 'profile:%' group by 1, 3`,
  );
  await tx.unsafe(
    `create temp table run_zero_sums on commit drop as select cell_id, sum(n)::int as n from run_groups where kind like 'zero:%' group by 1`,
  );
}

export interface StoredSegment {
  connectionEan: string;
  qhFrom: number;
  qhTo: number;
  cellId: number | null;
  offtakeMethod: QuarterHourMethod;
  offtakeReason: AllocationReason | null;
  feedInMethod: QuarterHourMethod;
  feedInReason: AllocationReason | null;
  offtakeProfileCategory: string;
  feedInProfileCategory: string;
  annualOfftakeKwh: number;
  annualFeedInKwh: number;
}

/**
 * A run's individual results as segments, from both stores: the mixed connections' rows and the uniform
 * ones' member arrays (one segment over the whole day). One connection, or all of them (tests).
 */
export async function storedSegments(
  db: DbOrTx,
  runId: string,
  quarterHours: number,
  connectionEan?: string,
): Promise<StoredSegment[]> {
  const one = connectionEan !== undefined;
  const rows = (await db.execute(dsql`
    select connection_ean, qh_from, qh_to, cell_id, offtake_method, offtake_reason, feed_in_method, feed_in_reason,
           offtake_profile_category, feed_in_profile_category, annual_offtake_kwh, annual_feed_in_kwh
      from allocation_connection_results where run_id = ${runId} ${one ? dsql`and connection_ean = ${connectionEan}` : dsql``}
    union all
    select u.ean, 1, ${quarterHours}, m.cell_id, split_part(m.kind, ':', 1), nullif(split_part(m.kind, ':', 2), ''), split_part(m.kind, ':', 1), nullif(split_part(m.kind, ':', 2), ''),
           m.offtake_profile_category, m.feed_in_profile_category, coalesce(m.annual_offtake_kwh[u.i], 0), coalesce(m.annual_feed_in_kwh[u.i], 0)
      from allocation_run_members m
     cross join lateral unnest(m.connection_eans) with ordinality u(ean, i)
     where m.run_id = ${runId} ${one ? dsql`and ${connectionEan} = any(m.connection_eans) and u.ean = ${connectionEan}` : dsql``}
     order by 1, 2`)) as unknown as Array<Record<string, unknown>>;
  return rows.map((r) => ({
    connectionEan: r['connection_ean'] as string,
    qhFrom: Number(r['qh_from']),
    qhTo: Number(r['qh_to']),
    cellId: r['cell_id'] === null ? null : Number(r['cell_id']),
    offtakeMethod: r['offtake_method'] as QuarterHourMethod,
    offtakeReason: r['offtake_reason'] as AllocationReason | null,
    feedInMethod: r['feed_in_method'] as QuarterHourMethod,
    feedInReason: r['feed_in_reason'] as AllocationReason | null,
    offtakeProfileCategory: r['offtake_profile_category'] as string,
    feedInProfileCategory: r['feed_in_profile_category'] as string,
    annualOfftakeKwh: Number(r['annual_offtake_kwh']),
    annualFeedInKwh: Number(r['annual_feed_in_kwh']),
  }));
}

export interface MixedFactsRow {
  ean: string;
  remote_reading_opt_out: boolean;
  profile_category: string;
  feed_in_profile_category: string;
  annual_standard_volume_kwh: number;
  annual_standard_feed_in_kwh: number;
  supplier_id: string | null;
  balance_responsible_party_id: string | null;
  grid_area: string;
  offtake_wh: string | null;
  feed_in_wh: string | null;
  rejected: boolean;
  parties: Array<{ from: string; supplierId: string | null; brpId: string | null; gridArea: string }> | null;
  methods: Array<{
    from: string;
    method: AllocationMethod;
    basis: AllocationBasisKind | null;
    basisPartyId: string | null;
  }> | null;
  zeros: Array<{ start: string; end: string | null }> | null;
}

/** The mixed connection-days of the run, in EAN order. */
export async function mixedConnections(tx: Sql): Promise<string[]> {
  return (await tx<Array<{ ean: string }>>`select ean from run_mixed order by ean`).map((r) => r.ean);
}

/** The facts of some mixed connection-days (the run reads them in pages, keeping memory bounded). */
export async function mixedFacts(tx: Sql, c: RunContext, eans: string[]): Promise<MixedFactsRow[]> {
  const d = c.day;
  return tx<MixedFactsRow[]>`
    select c.ean, c.remote_reading_opt_out, c.profile_category, c.feed_in_profile_category, c.annual_standard_volume_kwh, c.annual_standard_feed_in_kwh,
           c.supplier_id, c.balance_responsible_party_id, c.grid_area,
           r.offtake_wh::text as offtake_wh, r.feed_in_wh::text as feed_in_wh,
           exists (select 1 from meter_reading_rejects j where j.day = ${d.day}::date and j.connection_ean = c.ean) as rejected,
           (select json_agg(json_build_object('from', h.effective_from, 'supplierId', h.supplier_id, 'brpId', h.balance_responsible_party_id, 'gridArea', h.grid_area)
                            order by h.effective_from, h.recorded_at)
              from connection_party_history h where h.connection_ean = c.ean and h.effective_from < ${ts(d.end)}::timestamptz) as parties,
           (select json_agg(json_build_object('from', m.effective_from, 'method', m.method, 'basis', m.basis, 'basisPartyId', m.basis_party_id)
                            order by m.effective_from, m.recorded_at)
              from allocation_methods m where m.connection_ean = c.ean and m.effective_from < ${ts(d.end)}::timestamptz) as methods,
           (select json_agg(json_build_object('start', z.started_at, 'end', z.ended_at) order by z.started_at)
              from zero_allocations z where z.connection_ean = c.ean and z.started_at < ${ts(d.end)}::timestamptz
               and (z.ended_at is null or z.ended_at > ${ts(d.start)}::timestamptz)) as zeros
      from connections c
      left join meter_reading_days r on r.day = ${d.day}::date and r.connection_ean = c.ean
     where c.ean = any(${eans}::varchar[])
     order by c.ean`;
}

/** Cell ids, creating cells that do not exist yet (mixed connection-days may meet new combinations). */
export async function cellIds(
  tx: Sql,
  cells: Array<{ brpId: string; supplierId: string; gridArea: string }>,
): Promise<number[]> {
  if (cells.length === 0) return [];
  const rows = await tx<Array<{ id: number; i: number }>>`
    with wanted as (
      select * from unnest(${cells.map((x) => x.brpId)}::uuid[], ${cells.map((x) => x.supplierId)}::uuid[], ${cells.map((x) => x.gridArea)}::text[]) with ordinality w(brp, sup, area, i)
    ), ins as (
      insert into allocation_cells (balance_responsible_party_id, supplier_id, grid_area) select brp, sup, area from wanted on conflict do nothing returning id, balance_responsible_party_id, supplier_id, grid_area
    )
    select coalesce(ins.id, c.id) as id, w.i::int as i from wanted w
      left join ins on ins.balance_responsible_party_id = w.brp and ins.supplier_id = w.sup and ins.grid_area = w.area
      left join allocation_cells c on c.balance_responsible_party_id = w.brp and c.supplier_id = w.sup and c.grid_area = w.area
     order by w.i`;
  return rows.map((r) => r.id);
}

export interface ResultSegmentRow {
  ean: string;
  qhFrom: number;
  qhTo: number;
  cellId: number | null;
  offtakeMethod: string;
  offtakeReason: string | null;
  feedInMethod: string;
  feedInReason: string | null;
  offtakeCategory: string;
  feedInCategory: string;
  annualOfftakeKwh: number;
  annualFeedInKwh: number;
}

export async function insertResultSegments(tx: Sql, runId: string, rows: ResultSegmentRow[]): Promise<void> {
  if (rows.length === 0) return;
  await tx`
    insert into allocation_connection_results (run_id, connection_ean, qh_from, qh_to, cell_id, offtake_method, offtake_reason, feed_in_method, feed_in_reason,
                                               offtake_profile_category, feed_in_profile_category, annual_offtake_kwh, annual_feed_in_kwh)
    select ${runId}, * from unnest(${rows.map((r) => r.ean)}::varchar[], ${rows.map((r) => r.qhFrom)}::int2[], ${rows.map((r) => r.qhTo)}::int2[],
                                   ${rows.map((r) => r.cellId) as number[]}::int[], ${rows.map((r) => r.offtakeMethod)}::text[], ${rows.map((r) => r.offtakeReason) as string[]}::text[],
                                   ${rows.map((r) => r.feedInMethod)}::text[], ${rows.map((r) => r.feedInReason) as string[]}::text[],
                                   ${rows.map((r) => r.offtakeCategory)}::text[], ${rows.map((r) => r.feedInCategory)}::text[],
                                   ${rows.map((r) => r.annualOfftakeKwh)}::int[], ${rows.map((r) => r.annualFeedInKwh)}::int[])`;
}

/** What the domain function allocated for mixed connection-days, per cell, direction and quarter-hour. */
export interface MixedContribution {
  cellId: number;
  direction: 'offtake' | 'feed_in';
  qh: number;
  measuredWh: number;
  connections: number;
  measured: number;
  profile: number;
  estimated: number;
  zero: number;
}

/** Profile volume of mixed connection-days: Σ annual kWh per cell, direction, quarter-hour and category. */
export interface MixedProfileSum {
  cellId: number;
  direction: 'offtake' | 'feed_in';
  qh: number;
  category: string;
  annualKwh: number;
}

export async function stageMixedContributions(
  tx: Sql,
  contributions: MixedContribution[],
  profiles: MixedProfileSum[],
): Promise<void> {
  await tx`create temp table run_mixed_sums (cell_id int, direction text, qh int, measured_wh bigint, n int, measured int, profile int, estimated int, zero int) on commit drop`;
  await tx`create temp table run_mixed_profile (cell_id int, direction text, qh int, category text, annual_kwh bigint) on commit drop`;
  for (let i = 0; i < contributions.length; i += 10_000) {
    const part = contributions.slice(i, i + 10_000);
    await tx`insert into run_mixed_sums select * from unnest(${part.map((x) => x.cellId)}::int[], ${part.map((x) => x.direction)}::text[], ${part.map((x) => x.qh)}::int[],
      ${part.map((x) => x.measuredWh)}::bigint[], ${part.map((x) => x.connections)}::int[], ${part.map((x) => x.measured)}::int[], ${part.map((x) => x.profile)}::int[],
      ${part.map((x) => x.estimated)}::int[], ${part.map((x) => x.zero)}::int[])`;
  }
  for (let i = 0; i < profiles.length; i += 10_000) {
    const part = profiles.slice(i, i + 10_000);
    await tx`insert into run_mixed_profile select * from unnest(${part.map((x) => x.cellId)}::int[], ${part.map((x) => x.direction)}::text[], ${part.map((x) => x.qh)}::int[],
      ${part.map((x) => x.category)}::text[], ${part.map((x) => x.annualKwh)}::bigint[])`;
  }
}

/**
 * The aggregates of the run: uniform measured (differences of register sums), uniform profile (Σ annual
 * volume × the category's fraction × 1000, exact), uniform '0', and the mixed contributions.
 */
export async function writeAggregates(tx: Sql, c: RunContext): Promise<void> {
  await tx.unsafe(
    `insert into allocation_aggregates (run_id, cell_id, direction, qh, volume_wh, connections, measured, profile, estimated, zero)
     select $1, cell_id, direction, qh, sum(volume), sum(n), sum(measured), sum(profile), sum(estimated), sum(zero)
       from (
         select m.cell_id, dir.direction, m.k as qh,
                (case when dir.direction = 'offtake' then m.next_offtake - m.offtake else m.next_feed_in - m.feed_in end)::numeric as volume,
                n.n, n.n as measured, 0 as profile, 0 as estimated, 0 as zero
           from (select cell_id, k, offtake, feed_in,
                        lead(offtake) over w as next_offtake, lead(feed_in) over w as next_feed_in
                   from run_measured window w as (partition by cell_id order by k)) m
           join (select cell_id, sum(n)::int as n from run_groups where kind = 'measured' group by 1) n on n.cell_id = m.cell_id
          cross join (values ('offtake'), ('feed_in')) dir(direction)
          where m.next_offtake is not null
         union all
         select g.cell_id, g.direction, q.qh, coalesce(pf.fractions[q.qh], 0) * g.annual * 1000, g.n, 0, g.n, coalesce(g.estimated, 0), 0
           from run_profile_sums g
           left join profile_fractions pf on pf.profile_set_id = $3 and pf.category = g.category and pf.day = $4::date
          cross join generate_series(1, $2) q(qh)
         union all
         select z.cell_id, dir.direction, q.qh, 0, z.n, 0, 0, 0, z.n
           from run_zero_sums z
          cross join (values ('offtake'), ('feed_in')) dir(direction)
          cross join generate_series(1, $2) q(qh)
         union all
         select cell_id, direction, qh, measured_wh::numeric, n, measured, profile, estimated, zero from run_mixed_sums
         union all
         select mp.cell_id, mp.direction, mp.qh, coalesce(pf.fractions[mp.qh], 0) * mp.annual_kwh * 1000, 0, 0, 0, 0, 0
           from run_mixed_profile mp
           left join profile_fractions pf on pf.profile_set_id = $3 and pf.category = mp.category and pf.day = $4::date
       ) x
      group by cell_id, direction, qh`,
    [c.runId, c.day.quarterHours, c.profileSetId, c.day.day],
  );
}

export interface RunTotals {
  direction: string;
  volumeWh: string;
  cells: number;
  cellsBelowMinimum: number;
}

export async function runTotals(tx: Sql, runId: string, minimum: number): Promise<RunTotals[]> {
  return tx<RunTotals[]>`
    select direction, trim_scale(sum(volume_wh))::text as "volumeWh", count(distinct cell_id)::int as cells,
           count(distinct cell_id) filter (where connections < ${minimum})::int as "cellsBelowMinimum"
      from allocation_aggregates where run_id = ${runId} group by direction order by direction`;
}

export interface DifferenceSummary {
  previousRunId: string | null;
  previousVersion: number | null;
  changed: number;
  added: number;
  removed: number;
  /** Σ (current − previous) per direction, Wh. */
  deltaWh: Record<string, string>;
}

/** The latest completed earlier version of the same operator and day. */
export async function previousCompletedRun(tx: Sql, runId: string): Promise<{ id: string; version: number } | null> {
  const [row] = await tx<Array<{ id: string; version: number }>>`
    select p.id, p.version from allocation_runs r
      join allocation_runs p on p.grid_operator_id = r.grid_operator_id and p.day = r.day and p.version < r.version and p.status = 'completed'
     where r.id = ${runId} order by p.version desc limit 1`;
  return row ?? null;
}

export async function differenceSummary(
  tx: Sql,
  runId: string,
  previous: { id: string; version: number } | null,
): Promise<DifferenceSummary> {
  if (!previous) return { previousRunId: null, previousVersion: null, changed: 0, added: 0, removed: 0, deltaWh: {} };
  const rows = await tx<Array<{ direction: string; changed: number; added: number; removed: number; delta: string }>>`
    select coalesce(c.direction, p.direction) as direction,
           (count(*) filter (where c.run_id is not null and p.run_id is not null and c.volume_wh <> p.volume_wh))::int as changed,
           (count(*) filter (where p.run_id is null))::int as added,
           (count(*) filter (where c.run_id is null))::int as removed,
           trim_scale(coalesce(sum(c.volume_wh), 0) - coalesce(sum(p.volume_wh), 0))::text as delta
      from (select * from allocation_aggregates where run_id = ${runId}) c
      full join (select * from allocation_aggregates where run_id = ${previous.id}) p
        on p.cell_id = c.cell_id and p.direction = c.direction and p.qh = c.qh
     group by 1 order by 1`;
  return {
    previousRunId: previous.id,
    previousVersion: previous.version,
    changed: rows.reduce((s, r) => s + r.changed, 0),
    added: rows.reduce((s, r) => s + r.added, 0),
    removed: rows.reduce((s, r) => s + r.removed, 0),
    deltaWh: Object.fromEntries(rows.map((r) => [r.direction, r.delta])),
  };
}

export async function completeRun(
  tx: Sql,
  runId: string,
  fields: {
    profileSetId: string;
    previousRunId: string | null;
    summary: unknown;
    difference: unknown;
    startedAt: Date;
    finishedAt: Date;
  },
): Promise<void> {
  const res = await tx`
    update allocation_runs set status = 'completed', profile_set_id = ${fields.profileSetId}, previous_run_id = ${fields.previousRunId},
           summary = ${JSON.stringify(fields.summary)}::jsonb, difference = ${JSON.stringify(fields.difference)}::jsonb,
           started_at = ${fields.startedAt.toISOString()}::timestamptz, finished_at = ${fields.finishedAt.toISOString()}::timestamptz, failure = null
     where id = ${runId} and status in ('requested', 'running')`;
  if (res.count !== 1) throw invalidState('allocation_run_not_open', `Allocation run ${runId} is not open`);
  await tx`
    insert into audit_log (actor, actor_role, action, entity_type, entity_id, data, at)
    values (${`workflow:allocation-run:${runId}`}, 'system', 'allocation.run_completed', 'allocation_run', ${runId},
            ${JSON.stringify({ summary: fields.summary, difference: fields.difference, rule: 'AL-3' })}::jsonb, ${fields.finishedAt.toISOString()}::timestamptz)`;
}
