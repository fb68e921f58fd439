/**
 * The allocation run of one day for one grid operator (AL-1 … AL-6), its versions and its profile data.
 *
 * A run is computed in one transaction: either all of its results and aggregates exist, or none (a
 * retried activity starts again from nothing). Uniform connection-days are allocated by set-based SQL,
 * mixed ones by `allocateConnectionDay` (see db/repositories/allocation-runs.ts); mixed ones are read in
 * pages, so memory stays bounded at any number of connections.
 */
import type { Client } from '@temporalio/client';
import type postgres from 'postgres';
import type { Db } from '../db/client.js';
import type { Actor } from '../db/repositories/actor.js';
import { dayFractions, profileSetFor, storeProfileSet } from '../db/repositories/allocation-profiles.js';
import {
  cellIds,
  classifyAndStoreUniform,
  completeRun,
  differenceSummary,
  insertResultSegments,
  lockRun,
  missingProfileCategories,
  mixedFacts,
  previousCompletedRun,
  requestRun,
  runTotals,
  stageMixedContributions,
  sumUniform,
  writeAggregates,
  type MixedContribution,
  type MixedFactsRow,
  type MixedProfileSum,
  type ResultSegmentRow,
  type RunContext,
} from '../db/repositories/allocation-runs.js';
import { SINCE_EVER } from '../db/repositories/connection-parties.js';
import { parseRegisterArray } from '../db/repositories/reading-days.js';
import { getRun } from '../db/repositories/allocation-runs.js';
import type { AllocationRun, AllocationRunTrigger, ProfileSetRow } from '../db/schema/index.js';
import { DomainError, invalidState, notFound } from '../lib/errors.js';
import { startWorkflowOnce } from '../lib/infra/start-workflow-once.js';
import {
  allocateQuarterHours,
  allocationDay,
  cellKey,
  DIRECTIONS,
  isEstimated,
  segmentsOf,
  type ConnectionDayFacts,
  type DayFractions,
} from '../domain/allocation.js';
import { generateProfileFile, parseProfileFile, ProfileFileError } from '../domain/allocation-profiles.js';
import { allocationRunWorkflowId, type AllocationRunResult } from '../workflows/shared.js';

export interface AllocationOptions {
  /** AL-3: cells of fewer connections are flagged. */
  minimumConnections: number;
  /** Load the generated profile set for a year that has none (development and tests only). */
  generatedProfiles: boolean;
}

/** Mixed connection-days read per page. */
const MIXED_PAGE = 2000;

/** The postgres.js driver under a drizzle database (createDb builds one over the other). */
export function driverOf(db: Db): postgres.Sql {
  const client = (db as Db & { $client?: postgres.Sql }).$client;
  if (typeof client !== 'function') throw new Error('the database handle carries no postgres.js driver');
  return client;
}

const SYSTEM: Actor = { actor: 'system:allocation', actorRole: 'system', actorPartyId: null };

// ---- profiles (AL-4) ---------------------------------------------------------------------------

/** Load a year's fractions from a file in the sector's layout (domain/allocation-profiles.ts). */
export async function loadProfileFile(
  db: Db,
  actor: Actor,
  year: number,
  text: string,
  source: string,
): Promise<ProfileSetRow> {
  let set;
  try {
    set = parseProfileFile(year, text);
  } catch (err) {
    if (err instanceof ProfileFileError)
      throw new DomainError(
        'validation',
        err.code,
        err.message,
        'body',
        err.line !== undefined ? { line: err.line } : undefined,
        { cause: err },
      );
    throw err;
  }
  return storeProfileSet(db, actor, set, source);
}

/** The profile set runs of `year` use; in development the generated one is loaded when none exists. */
export async function profileSetForYear(
  db: Db,
  year: number,
  opts: Pick<AllocationOptions, 'generatedProfiles'>,
): Promise<ProfileSetRow> {
  const set = await profileSetFor(db, year);
  if (set) return set;
  if (!opts.generatedProfiles) {
    throw invalidState(
      'profile_set_missing',
      `No profile fractions are loaded for ${year}: load the sector's set (PUT /allocation/profiles/${year}) before allocating that year (AL-4)`,
    );
  }
  return loadProfileFile(db, SYSTEM, year, generateProfileFile(year), 'generated');
}

// ---- requesting runs ---------------------------------------------------------------------------

export async function startAllocationRunWorkflow(client: Client, taskQueue: string, runId: string): Promise<boolean> {
  return startWorkflowOnce(client, 'allocationRunWorkflow', {
    workflowId: allocationRunWorkflowId(runId),
    taskQueue,
    args: [{ runId }],
  });
}

/**
 * A (re-)run requested by a handler or admin: the next version, then its workflow. The run is committed
 * first; when Temporal is down the caller gets 503 and repeats with the same key (the run stays
 * requested until a workflow runs it; the daily Schedule also starts such runs).
 */
export async function requestAllocationRun(
  db: Db,
  temporal: Client | undefined,
  taskQueue: string,
  actor: Actor,
  input: { gridOperatorId: string; day: string; reason: string; requestKey: string; trigger?: AllocationRunTrigger },
): Promise<{ run: AllocationRun; created: boolean }> {
  const { run, created } = await requestRun(db, actor, {
    gridOperatorId: input.gridOperatorId,
    day: input.day,
    trigger: input.trigger ?? 'request',
    requestKey: input.requestKey,
    reason: input.reason,
  });
  if (!temporal)
    throw new DomainError(
      'unavailable',
      'temporal_unavailable',
      'Temporal is not configured: the run is recorded as requested; repeat the request to start it',
    );
  try {
    await startAllocationRunWorkflow(temporal, taskQueue, run.id);
  } catch (err) {
    throw new DomainError(
      'unavailable',
      'temporal_unavailable',
      'The run is recorded but its workflow could not be started: repeat the request with the same Idempotency-Key',
      undefined,
      { runId: run.id },
      { cause: err },
    );
  }
  return { run, created };
}

// ---- computing a run ---------------------------------------------------------------------------

/** The facts of a mixed connection-day as the domain function takes them. */
export function factsOf(r: MixedFactsRow): ConnectionDayFacts {
  return {
    connectionEan: r.ean,
    parties: r.parties
      ? r.parties.map((p) => ({
          from: new Date(p.from),
          supplierId: p.supplierId,
          balanceResponsiblePartyId: p.brpId,
          gridArea: p.gridArea,
        }))
      : [
          {
            from: SINCE_EVER,
            supplierId: r.supplier_id,
            balanceResponsiblePartyId: r.balance_responsible_party_id,
            gridArea: r.grid_area,
          },
        ],
    methods: (r.methods ?? []).map((m) => ({ from: new Date(m.from), method: m.method })),
    zeroPeriods: (r.zeros ?? []).map((z) => ({
      start: new Date(z.start),
      end: z.end === null ? null : new Date(z.end),
    })),
    remoteReadingOptOut: r.remote_reading_opt_out,
    offtake: parseRegisterArray(r.offtake_wh),
    feedIn: parseRegisterArray(r.feed_in_wh),
    readingsRejected: r.rejected,
    profile: {
      offtakeCategory: r.profile_category,
      feedInCategory: r.feed_in_profile_category,
      annualOfftakeKwh: r.annual_standard_volume_kwh,
      annualFeedInKwh: r.annual_standard_feed_in_kwh,
    },
  };
}

/** Accumulates what mixed connection-days contribute to the aggregates. */
class MixedSums {
  readonly sums = new Map<string, MixedContribution>();
  readonly profiles = new Map<string, MixedProfileSum>();
  connections = 0;

  add(f: ConnectionDayFacts, qhs: ReturnType<typeof allocateQuarterHours>, cellIdOf: (key: string) => number): void {
    this.connections += 1;
    qhs.forEach((q, i) => {
      if (!q.cell) return;
      const cellId = cellIdOf(cellKey(q.cell));
      const qh = i + 1;
      for (const direction of DIRECTIONS) {
        const a = direction === 'offtake' ? q.offtake : q.feedIn;
        const key = `${cellId}|${direction}|${qh}`;
        let s = this.sums.get(key);
        if (!s) {
          s = { cellId, direction, qh, measuredWh: 0, connections: 0, measured: 0, profile: 0, estimated: 0, zero: 0 };
          this.sums.set(key, s);
        }
        s.connections += 1;
        if (a.method === 'measured') {
          const r = (direction === 'offtake' ? f.offtake : f.feedIn)!;
          s.measuredWh += r[qh]! - r[qh - 1]!;
          s.measured += 1;
        } else if (a.method === 'profile') {
          s.profile += 1;
          if (isEstimated(a.reason)) s.estimated += 1;
          const category = direction === 'offtake' ? f.profile.offtakeCategory : f.profile.feedInCategory;
          const annual = direction === 'offtake' ? f.profile.annualOfftakeKwh : f.profile.annualFeedInKwh;
          const pk = `${key}|${category}`;
          const p = this.profiles.get(pk);
          if (p) p.annualKwh += annual;
          else this.profiles.set(pk, { cellId, direction, qh, category, annualKwh: annual });
        } else if (a.method === 'zero') s.zero += 1;
      }
    });
  }
}

export interface ComputeProgress {
  (step: string, detail?: Record<string, unknown>): void;
}

/**
 * Compute a requested run (idempotent: a completed run returns its stored result). `sql` is the raw
 * driver of the same database as `db` (temp tables and parallel CREATE TABLE AS need it).
 */
export async function computeAllocationRun(
  db: Db,
  sql: postgres.Sql,
  runId: string,
  opts: AllocationOptions,
  progress: ComputeProgress = () => undefined,
): Promise<AllocationRunResult> {
  const existing = await getRun(db, runId);
  if (!existing) throw notFound('allocation_run_not_found', `No allocation run ${runId}`, 'runId');
  if (existing.status === 'completed') return resultOf(existing);
  if (existing.status === 'failed')
    throw invalidState(
      'allocation_run_failed',
      `Allocation run ${runId} failed: ${existing.failure ?? ''}; request a new version`,
    );
  const d = allocationDay(existing.day);
  const set = await profileSetForYear(db, Number(existing.day.slice(0, 4)), opts);
  const fractions: DayFractions = await dayFractions(db, set.id, d.day);
  const startedAt = new Date();
  progress('started', { day: d.day, quarterHours: d.quarterHours });

  await sql.begin(async (tx) => {
    const locked = await lockRun(tx, runId);
    if (!locked || locked.status === 'completed') return; // another attempt finished it meanwhile
    await tx`update allocation_runs set status = 'running', started_at = ${startedAt.toISOString()}::timestamptz where id = ${runId}`;
    // The run's aggregations hash a few thousand groups; give them memory rather than disk.
    await tx`set local work_mem = '64MB'`;
    const c: RunContext = { runId, gridOperatorId: locked.gridOperatorId, day: d, profileSetId: set.id };
    const missing = await missingProfileCategories(tx, c);
    if (missing.length > 0) {
      throw invalidState(
        'profile_category_unknown',
        `The profile set of ${d.day.slice(0, 4)} has no fractions for ${missing.join(', ')} (AL-4)`,
        { categories: missing },
      );
    }

    const kinds = await classifyAndStoreUniform(tx, c);
    progress('classified', { kinds });
    await sumUniform(tx, c);
    progress('uniform summed');

    const mixed = new MixedSums();
    const cells = new Map<string, number>();
    let after = '';
    for (;;) {
      const page = await mixedFacts(tx, c, after, MIXED_PAGE);
      if (page.length === 0) break;
      const facts = page.map(factsOf);
      const allocated = facts.map((f) => allocateQuarterHours(d, f));
      const unknown = new Map<string, { brpId: string; supplierId: string; gridArea: string }>();
      for (const qhs of allocated) {
        for (const q of qhs) {
          if (q.cell && !cells.has(cellKey(q.cell)))
            unknown.set(cellKey(q.cell), {
              brpId: q.cell.balanceResponsiblePartyId,
              supplierId: q.cell.supplierId,
              gridArea: q.cell.gridArea,
            });
        }
      }
      const wanted = [...unknown.entries()];
      const ids = await cellIds(
        tx,
        wanted.map(([, v]) => v),
      );
      wanted.forEach(([k], i) => cells.set(k, ids[i]!));
      const rows: ResultSegmentRow[] = [];
      facts.forEach((f, i) => {
        const qhs = allocated[i]!;
        mixed.add(f, qhs, (k) => cells.get(k)!);
        for (const s of segmentsOf(qhs)) {
          rows.push({
            ean: f.connectionEan,
            qhFrom: s.qhFrom,
            qhTo: s.qhTo,
            cellId: s.cell ? cells.get(cellKey(s.cell))! : null,
            offtakeMethod: s.offtake.method,
            offtakeReason: s.offtake.reason,
            feedInMethod: s.feedIn.method,
            feedInReason: s.feedIn.reason,
            offtakeCategory: f.profile.offtakeCategory,
            feedInCategory: f.profile.feedInCategory,
            annualOfftakeKwh: f.profile.annualOfftakeKwh,
            annualFeedInKwh: f.profile.annualFeedInKwh,
          });
        }
      });
      await insertResultSegments(tx, runId, rows);
      after = page[page.length - 1]!.ean;
      progress('mixed', { connections: mixed.connections });
    }
    await stageMixedContributions(tx, [...mixed.sums.values()], [...mixed.profiles.values()]);
    await writeAggregates(tx, c);
    progress('aggregated');

    const totals = await runTotals(tx, runId, opts.minimumConnections);
    const previous = await previousCompletedRun(tx, runId);
    const difference = await differenceSummary(tx, runId, previous);
    const finishedAt = new Date();
    const summary = {
      quarterHours: d.quarterHours,
      connections: Object.fromEntries(kinds.map((k) => [k.kind, k.connections])),
      totals: Object.fromEntries(
        totals.map((t) => [
          t.direction,
          { volumeWh: t.volumeWh, cells: t.cells, cellsBelowMinimum: t.cellsBelowMinimum },
        ]),
      ),
      minimumConnections: opts.minimumConnections,
      profileSet: { id: set.id, year: set.year, source: set.source },
      durationMs: finishedAt.getTime() - startedAt.getTime(),
    };
    await completeRun(tx, runId, {
      profileSetId: set.id,
      previousRunId: previous?.id ?? null,
      summary,
      difference,
      startedAt,
      finishedAt,
    });
  });
  const done = await getRun(db, runId);
  progress('completed');
  return resultOf(done!);
}

export function resultOf(run: AllocationRun): AllocationRunResult {
  return {
    runId: run.id,
    gridOperatorId: run.gridOperatorId,
    day: run.day,
    version: run.version,
    status: run.status,
    summary: run.summary ?? null,
    difference: run.difference ?? null,
  };
}
