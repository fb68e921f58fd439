/**
 * What leaves a run and who sees it (AL-3, DC-8). Aggregates go to market parties, each seeing only its
 * own cells (a BRP the cells of its BRP, a supplier those of its supplier); the grid operator sees all of
 * its runs. Individual connection results stay inside: the grid operator reads them with a purpose, and
 * every read is registered.
 */
import { sql } from 'drizzle-orm';
import type postgres from 'postgres';
import type { Db } from '../../db/client.js';
import type { Actor } from '../../db/repositories/actor.js';
import { registerInternalAccess } from '../../db/repositories/access-register.js';
import { dayFractions } from '../../db/repositories/allocation-profiles.js';
import { storedSegments } from '../../db/repositories/allocation-runs.js';
import { loadDays } from '../../db/repositories/reading-days.js';
import type { AllocationRun } from '../../db/schema/index.js';
import { notFound } from '../../lib/errors.js';
import {
  allocationDay,
  belowMinimum,
  isEstimated,
  pwhToWh,
  QUARTER_HOUR_MS,
  quarterHourStart,
  quarterHourVolumePwh,
  type AllocationReason,
  type ConnectionDayFacts,
  type Direction,
  type QuarterHourMethod,
} from '../../domain/allocation.js';
import type { AllocationScope } from '../../domain/visibility.js';

/** The cells `scope` covers (domain/visibility.ts allocationRunScope), as the statements' filter. */
const scopeFilter = (scope: AllocationScope) =>
  scope.kind === 'balance_responsible_party'
    ? sql`and c.balance_responsible_party_id = ${scope.partyId}`
    : scope.kind === 'supplier'
      ? sql`and c.supplier_id = ${scope.partyId}`
      : sql``;

export interface AggregateRow {
  qh: number;
  quarterHourStart: string;
  quarterHourEnd: string;
  balanceResponsiblePartyGln: string;
  supplierGln: string;
  gridArea: string;
  direction: Direction;
  /** Exact, Wh. */
  volumeWh: string;
  /** Rounded to Wh, in kWh (the unit the market exchanges). */
  volumeKwh: number;
  /** Some of it is a profile estimate (opted out, readings missing or invalid). */
  estimated: boolean;
  /** AL-3: made of fewer connections than the minimum. */
  belowMinimumConnections: boolean;
  /** Only in the grid operator's own view. */
  connections?: number;
}

interface RawAggregate {
  qh: number;
  brp_gln: string;
  supplier_gln: string;
  grid_area: string;
  direction: Direction;
  volume_wh: string;
  connections: number;
  estimated: number;
}

const toKwh = (wh: string) => Math.round(Number(wh)) / 1000;

function aggregateRow(run: AllocationRun, r: RawAggregate, minimum: number, withCounts: boolean): AggregateRow {
  const d = allocationDay(run.day);
  const start = quarterHourStart(d, r.qh);
  return {
    qh: r.qh,
    quarterHourStart: start.toISOString(),
    quarterHourEnd: new Date(start.getTime() + QUARTER_HOUR_MS).toISOString(),
    balanceResponsiblePartyGln: r.brp_gln,
    supplierGln: r.supplier_gln,
    gridArea: r.grid_area,
    direction: r.direction,
    volumeWh: r.volume_wh,
    volumeKwh: toKwh(r.volume_wh),
    estimated: r.estimated > 0,
    belowMinimumConnections: belowMinimum(r.connections, minimum),
    ...(withCounts ? { connections: r.connections } : {}),
  };
}

const aggregateQuery = (runId: string, scope: AllocationScope) => sql`
  select a.qh, b.gln as brp_gln, s.gln as supplier_gln, c.grid_area, a.direction, trim_scale(a.volume_wh)::text as volume_wh, a.connections, a.estimated
    from allocation_aggregates a
    join allocation_cells c on c.id = a.cell_id
    join parties b on b.id = c.balance_responsible_party_id
    join parties s on s.id = c.supplier_id
   where a.run_id = ${runId} ${scopeFilter(scope)}
   order by b.gln, s.gln, c.grid_area, a.direction, a.qh`;

export async function aggregatePage(
  db: Db,
  run: AllocationRun,
  scope: AllocationScope,
  minimum: number,
  page: { limit: number; offset: number },
): Promise<{ items: AggregateRow[]; total: number }> {
  const rows = (await db.execute(
    sql`${aggregateQuery(run.id, scope)} limit ${page.limit} offset ${page.offset}`,
  )) as unknown as RawAggregate[];
  const [count] = (await db.execute(sql`
    select count(*)::int as n from allocation_aggregates a join allocation_cells c on c.id = a.cell_id where a.run_id = ${run.id} ${scopeFilter(scope)}`)) as unknown as Array<{
    n: number;
  }>;
  return { items: rows.map((r) => aggregateRow(run, r, minimum, scope.kind === 'all')), total: count?.n ?? 0 };
}

export const AGGREGATE_CSV_HEADER =
  'quarter_hour_start,quarter_hour_end,balance_responsible_party_gln,supplier_gln,grid_area,direction,volume_kwh,volume_wh,estimated,below_minimum_connections';

const csvField = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** Every row of the scope as CSV lines, read with a cursor (a run of a million connections has ~270k). */
export async function* aggregateCsv(
  sqlDriver: postgres.Sql,
  run: AllocationRun,
  scope: AllocationScope,
  minimum: number,
): AsyncGenerator<string> {
  yield AGGREGATE_CSV_HEADER + '\n';
  const filter =
    scope.kind === 'balance_responsible_party'
      ? 'and c.balance_responsible_party_id = $2'
      : scope.kind === 'supplier'
        ? 'and c.supplier_id = $2'
        : 'and $2::uuid is null';
  const cursor = sqlDriver
    .unsafe<RawAggregate[]>(
      `select a.qh, b.gln as brp_gln, s.gln as supplier_gln, c.grid_area, a.direction, trim_scale(a.volume_wh)::text as volume_wh, a.connections, a.estimated
         from allocation_aggregates a join allocation_cells c on c.id = a.cell_id
         join parties b on b.id = c.balance_responsible_party_id join parties s on s.id = c.supplier_id
        where a.run_id = $1 ${filter}
        order by b.gln, s.gln, c.grid_area, a.direction, a.qh`,
      [run.id, scope.kind === 'all' ? null : scope.partyId],
    )
    .cursor(2000);
  for await (const rows of cursor) {
    let chunk = '';
    for (const r of rows) {
      const a = aggregateRow(run, r, minimum, false);
      chunk += `${a.quarterHourStart},${a.quarterHourEnd},${a.balanceResponsiblePartyGln},${a.supplierGln},${csvField(a.gridArea)},${a.direction},${a.volumeKwh.toFixed(3)},${a.volumeWh},${a.estimated},${a.belowMinimumConnections}\n`;
    }
    yield chunk;
  }
}

export interface DifferenceRow {
  qh: number;
  quarterHourStart: string;
  balanceResponsiblePartyGln: string;
  supplierGln: string;
  gridArea: string;
  direction: Direction;
  /** null: the aggregate did not exist in that version. */
  previousWh: string | null;
  currentWh: string | null;
  deltaWh: string;
}

/** Per aggregate, what changed against the version the run was compared with. */
export async function differencePage(
  db: Db,
  run: AllocationRun,
  scope: AllocationScope,
  page: { limit: number; offset: number },
): Promise<{ previousRunId: string | null; items: DifferenceRow[]; total: number }> {
  if (!run.previousRunId) return { previousRunId: null, items: [], total: 0 };
  const body = sql`
      from (select * from allocation_aggregates where run_id = ${run.id}) cur
      full join (select * from allocation_aggregates where run_id = ${run.previousRunId}) prev
        on prev.cell_id = cur.cell_id and prev.direction = cur.direction and prev.qh = cur.qh
      join allocation_cells c on c.id = coalesce(cur.cell_id, prev.cell_id)
      join parties b on b.id = c.balance_responsible_party_id
      join parties s on s.id = c.supplier_id
     where cur.volume_wh is distinct from prev.volume_wh ${scopeFilter(scope)}`;
  const rows = (await db.execute(sql`
    select coalesce(cur.qh, prev.qh) as qh, b.gln as brp_gln, s.gln as supplier_gln, c.grid_area, coalesce(cur.direction, prev.direction) as direction,
           trim_scale(prev.volume_wh)::text as previous_wh, trim_scale(cur.volume_wh)::text as current_wh,
           trim_scale(coalesce(cur.volume_wh, 0) - coalesce(prev.volume_wh, 0))::text as delta_wh
    ${body}
     order by 2, 3, 4, 5, 1
     limit ${page.limit} offset ${page.offset}`)) as unknown as Array<{
    qh: number;
    brp_gln: string;
    supplier_gln: string;
    grid_area: string;
    direction: Direction;
    previous_wh: string | null;
    current_wh: string | null;
    delta_wh: string;
  }>;
  const [count] = (await db.execute(sql`select count(*)::int as n ${body}`)) as unknown as Array<{ n: number }>;
  const d = allocationDay(run.day);
  return {
    previousRunId: run.previousRunId,
    total: count?.n ?? 0,
    items: rows.map((r) => ({
      qh: r.qh,
      quarterHourStart: quarterHourStart(d, r.qh).toISOString(),
      balanceResponsiblePartyGln: r.brp_gln,
      supplierGln: r.supplier_gln,
      gridArea: r.grid_area,
      direction: r.direction,
      previousWh: r.previous_wh,
      currentWh: r.current_wh,
      deltaWh: r.delta_wh,
    })),
  };
}

export interface ConnectionQuarterHour {
  qh: number;
  quarterHourStart: string;
  balanceResponsiblePartyGln: string | null;
  supplierGln: string | null;
  gridArea: string | null;
  offtake: { method: QuarterHourMethod; reason: AllocationReason | null; estimated: boolean; volumeWh: string };
  feedIn: { method: QuarterHourMethod; reason: AllocationReason | null; estimated: boolean; volumeWh: string };
}

/**
 * One connection's result in a run, per quarter-hour, with the volumes rebuilt from what the run used:
 * stored registers (final once stored), the run's profile set and the annual volumes kept with the result.
 * DC-8: the read is registered with who, which connection and run, and the purpose.
 */
export async function readConnectionResult(
  db: Db,
  actor: Actor,
  run: AllocationRun,
  ean: string,
  purpose: string,
  requestId: string,
): Promise<{ accessId: string; quarterHours: ConnectionQuarterHour[] }> {
  const d = allocationDay(run.day);
  const stored = await storedSegments(db, run.id, d.quarterHours, ean);
  const cellIds = [...new Set(stored.map((x) => x.cellId).filter((x): x is number => x !== null))];
  const cells = cellIds.length
    ? ((await db.execute(sql`
        select c.id, b.gln as brp_gln, s.gln as supplier_gln, c.grid_area from allocation_cells c
          join parties b on b.id = c.balance_responsible_party_id join parties s on s.id = c.supplier_id
         where c.id in ${sql.raw(`(${cellIds.join(',')})`)}`)) as unknown as Array<{
        id: number;
        brp_gln: string;
        supplier_gln: string;
        grid_area: string;
      }>)
    : [];
  const byId = new Map(cells.map((c) => [Number(c.id), c]));
  const segments = stored.map((x) => {
    const cell = x.cellId === null ? undefined : byId.get(x.cellId);
    return {
      qh_from: x.qhFrom,
      qh_to: x.qhTo,
      offtake_method: x.offtakeMethod,
      offtake_reason: x.offtakeReason,
      feed_in_method: x.feedInMethod,
      feed_in_reason: x.feedInReason,
      offtake_profile_category: x.offtakeProfileCategory,
      feed_in_profile_category: x.feedInProfileCategory,
      annual_offtake_kwh: x.annualOfftakeKwh,
      annual_feed_in_kwh: x.annualFeedInKwh,
      brp_gln: cell?.brp_gln ?? null,
      supplier_gln: cell?.supplier_gln ?? null,
      grid_area: cell?.grid_area ?? null,
    };
  });
  if (segments.length === 0)
    throw notFound('connection_result_not_found', `Run ${run.id} allocated no connection ${ean}`, 'connectionEan');
  // DC-8: an internal read of individual (quarter-hour) data, registered before it is returned, in the
  // same access register as the grid operator's reads of readings (visible to compliance and the grid user).
  const entry = await registerInternalAccess(db, {
    gridOperatorId: run.gridOperatorId,
    connectionEan: ean,
    dataKind: 'interval_data',
    from: d.start,
    to: d.end,
    requestId,
    actor: actor.actor,
    purpose: `allocation run ${run.day} v${run.version}: ${purpose}`,
  });
  const [day] = await loadDays(db, ean, run.day, run.day);
  const fractions = run.profileSetId ? await dayFractions(db, run.profileSetId, run.day) : new Map<string, bigint[]>();
  const out: ConnectionQuarterHour[] = [];
  for (const s of segments) {
    const facts: ConnectionDayFacts = {
      connectionEan: ean,
      parties: [],
      methods: [],
      zeroPeriods: [],
      remoteReadingOptOut: false,
      offtake: day?.offtake ?? null,
      feedIn: day?.feedIn ?? null,
      readingsRejected: false,
      profile: {
        offtakeCategory: s.offtake_profile_category,
        feedInCategory: s.feed_in_profile_category,
        annualOfftakeKwh: s.annual_offtake_kwh,
        annualFeedInKwh: s.annual_feed_in_kwh,
      },
    };
    for (let qh = s.qh_from; qh <= s.qh_to; qh++) {
      const direction = (method: QuarterHourMethod, reason: AllocationReason | null, dir: Direction) => ({
        method,
        reason,
        estimated: isEstimated(reason),
        volumeWh: pwhToWh(quarterHourVolumePwh({ method, reason }, qh, dir, facts, fractions)),
      });
      out.push({
        qh,
        quarterHourStart: quarterHourStart(d, qh).toISOString(),
        balanceResponsiblePartyGln: s.brp_gln,
        supplierGln: s.supplier_gln,
        gridArea: s.grid_area,
        offtake: direction(s.offtake_method, s.offtake_reason, 'offtake'),
        feedIn: direction(s.feed_in_method, s.feed_in_reason, 'feed_in'),
      });
    }
  }
  return { accessId: entry.id, quarterHours: out };
}
