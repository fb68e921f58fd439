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
import type { Db } from '../../db/client.js';
import type { Actor } from '../../db/repositories/actor.js';
import { profileSetFor, storeProfileSet } from '../../db/repositories/allocation-profiles.js';
import {
  cellIds,
  classifyAndStoreUniform,
  completeRun,
  differenceSummary,
  insertResultSegments,
  lockRun,
  markRunFailed,
  missingProfileCategories,
  mixedConnections,
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
} from '../../db/repositories/allocation-runs.js';
import { SINCE_EVER } from '../../db/repositories/connection-parties.js';
import { parseRegisterArray } from '../../db/repositories/reading-days.js';
import { getRun } from '../../db/repositories/allocation-runs.js';
import type { AllocationRun, AllocationRunTrigger, ProfileSetRow } from '../../db/schema/index.js';
import { DomainError, invalidState, notFound } from '../../lib/errors.js';
import {
  allocateQuarterHours,
  allocationDay,
  cellKey,
  DIRECTIONS,
  type Cell,
  type Direction,
  isEstimated,
  segmentsOf,
  type ConnectionDayFacts,
} from '../../domain/allocation.js';
import { generateProfileFile, parseProfileFile, ProfileFileError } from '../../domain/allocation-profiles.js';
import { allocationRunWorkflowId, type AllocationRunResult } from '../../workflows/shared.js';
import { requireTemporal, startWorkflowOnce, temporalUnavailable } from '../workflow-client.js';

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

/** A run's workflow, from the daily workflow's activity; already started counts as done. */
export async function startAllocationRun(
  client: Client | undefined,
  taskQueue: string,
  input: { runId: string },
): Promise<{ started: boolean }> {
  if (!client)
    throw new DomainError(
      'unavailable',
      'temporal_client_missing',
      'no Temporal client configured to start allocation runs',
    );
  return { started: await startAllocationRunWorkflow(client, taskQueue, input.runId) };
}

/** The run's workflow gave up on it (its retries spent): recorded as failed with why; a new version may follow. */
export async function failAllocationRun(db: Db, input: { runId: string; failure: string }): Promise<void> {
  await markRunFailed(db, input.runId, input.failure);
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
  const client = requireTemporal(
    temporal,
    'Temporal is not configured: the run is recorded as requested; repeat the request to start it',
  );
  try {
    await startAllocationRunWorkflow(client, taskQueue, run.id);
  } catch (err) {
    throw temporalUnavailable(
      'The run is recorded but its workflow could not be started: repeat the request with the same Idempotency-Key',
      { runId: run.id },
      err,
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
    methods: (r.methods ?? []).map((m) => ({
      from: new Date(m.from),
      method: m.method,
      basis: m.basis,
      basisPartyId: m.basisPartyId,
    })),
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

/** What mixed connection-days contribute to the aggregates, per cell (keyed by cellKey) in typed arrays. */
class MixedSums {
  /** Per cell and direction: [measuredWh, connections, measured, profile, estimated, zero] × quarter-hour. */
  private readonly cells = new Map<string, Float64Array[]>();
  /** Per cell, direction and category: Σ annual kWh × quarter-hour. */
  private readonly profiles = new Map<
    string,
    { cell: string; direction: Direction; category: string; annual: Float64Array }
  >();
  connections = 0;
  constructor(private readonly n: number) {}

  add(f: ConnectionDayFacts, qhs: ReturnType<typeof allocateQuarterHours>, keyOf: (cell: Cell) => string): void {
    this.connections += 1;
    const n = this.n;
    qhs.forEach((q, i) => {
      if (!q.cell) return;
      const cell = keyOf(q.cell);
      let acc = this.cells.get(cell);
      if (!acc) this.cells.set(cell, (acc = [new Float64Array(6 * (n + 1)), new Float64Array(6 * (n + 1))]));
      const qh = i + 1;
      for (let di = 0; di < 2; di++) {
        const a = di === 0 ? q.offtake : q.feedIn;
        const s = acc[di]!;
        const at = qh * 6;
        s[at + 1]! += 1;
        if (a.method === 'measured') {
          const r = (di === 0 ? f.offtake : f.feedIn)!;
          s[at]! += r[qh]! - r[qh - 1]!;
          s[at + 2]! += 1;
        } else if (a.method === 'profile') {
          s[at + 3]! += 1;
          if (isEstimated(a.reason)) s[at + 4]! += 1;
          const category = di === 0 ? f.profile.offtakeCategory : f.profile.feedInCategory;
          const annual = di === 0 ? f.profile.annualOfftakeKwh : f.profile.annualFeedInKwh;
          if (annual !== 0) {
            const key = `${cell}#${di}#${category}`;
            let p = this.profiles.get(key);
            if (!p)
              this.profiles.set(
                key,
                (p = { cell, direction: DIRECTIONS[di]!, category, annual: new Float64Array(n + 1) }),
              );
            p.annual[qh]! += annual;
          }
        } else if (a.method === 'zero') s[at + 5]! += 1;
      }
    });
  }

  cellKeys(): string[] {
    return [...this.cells.keys()];
  }

  contributions(idOf: (cell: string) => number): MixedContribution[] {
    const out: MixedContribution[] = [];
    for (const [cell, acc] of this.cells) {
      const cellId = idOf(cell);
      DIRECTIONS.forEach((direction, di) => {
        const s = acc[di]!;
        for (let qh = 1; qh <= this.n; qh++) {
          const at = qh * 6;
          if (s[at + 1] === 0) continue;
          out.push({
            cellId,
            direction,
            qh,
            measuredWh: s[at]!,
            connections: s[at + 1]!,
            measured: s[at + 2]!,
            profile: s[at + 3]!,
            estimated: s[at + 4]!,
            zero: s[at + 5]!,
          });
        }
      });
    }
    return out;
  }

  profileSums(idOf: (cell: string) => number): MixedProfileSum[] {
    const out: MixedProfileSum[] = [];
    for (const p of this.profiles.values()) {
      const cellId = idOf(p.cell);
      for (let qh = 1; qh <= this.n; qh++)
        if (p.annual[qh] !== 0)
          out.push({ cellId, direction: p.direction, qh, category: p.category, annualKwh: p.annual[qh]! });
    }
    return out;
  }
}

interface MixedAllocation {
  sums: MixedSums;
  /** Segments with their cell as cellKey ('' = not allocated), for the results of the mixed connection-days. */
  segments: Array<Omit<ResultSegmentRow, 'cellId'> & { cell: string }>;
  cells: Map<string, Cell>;
}

/**
 * The mixed connection-days, allocated by the domain rule. Read in pages on a connection of its own that
 * shares the run's snapshot (exported by the run's transaction), so this runs while the run's own
 * connection sums the uniform days: the two overlap, and both see the same facts.
 */
async function allocateMixed(
  sql: postgres.Sql,
  snapshot: string,
  c: RunContext,
  eans: string[],
  progress: ComputeProgress,
): Promise<MixedAllocation> {
  const d = c.day;
  const sums = new MixedSums(d.quarterHours);
  const segments: MixedAllocation['segments'] = [];
  const cells = new Map<string, Cell>();
  const conn = await sql.reserve();
  try {
    await conn`begin isolation level repeatable read read only`;
    await conn.unsafe(`set transaction snapshot '${snapshot.replace(/'/g, '')}'`);
    for (let i = 0; i < eans.length; i += MIXED_PAGE) {
      const page = await mixedFacts(conn, c, eans.slice(i, i + MIXED_PAGE));
      // Cell objects are shared per party period: derive each one's key once.
      const keys = new Map<Cell, string>();
      const keyOf = (cell: Cell) => {
        let k = keys.get(cell);
        if (k === undefined) {
          keys.set(cell, (k = cellKey(cell)));
          if (!cells.has(k)) cells.set(k, cell);
        }
        return k;
      };
      for (const row of page) {
        const f = factsOf(row);
        const qhs = allocateQuarterHours(d, f);
        sums.add(f, qhs, keyOf);
        for (const s of segmentsOf(qhs)) {
          segments.push({
            ean: f.connectionEan,
            qhFrom: s.qhFrom,
            qhTo: s.qhTo,
            cell: s.cell ? keyOf(s.cell) : '',
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
      }
      progress('mixed', { connections: sums.connections });
    }
    await conn`commit`;
  } catch (err) {
    await conn`rollback`.catch(() => undefined);
    throw err;
  } finally {
    conn.release();
  }
  return { sums, segments, cells };
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
  const startedAt = new Date();
  progress('started', { day: d.day, quarterHours: d.quarterHours });

  // One snapshot for the whole run (REPEATABLE READ), shared with the mixed connection-days' reader.
  await sql.begin('isolation level repeatable read', async (tx) => {
    const locked = await lockRun(tx, runId);
    if (!locked || locked.status === 'completed') return; // another attempt finished it meanwhile
    await tx`update allocation_runs set status = 'running', started_at = ${startedAt.toISOString()}::timestamptz where id = ${runId}`;
    // The run's aggregations hash a few thousand groups; give them memory rather than disk.
    await tx`set local work_mem = '256MB'`;
    const c: RunContext = { runId, gridOperatorId: locked.gridOperatorId, day: d, profileSetId: set.id };
    const kinds = await classifyAndStoreUniform(tx, c, (name) => progress(`classify: ${name}`));
    const missing = await missingProfileCategories(tx, c);
    if (missing.length > 0) {
      throw invalidState(
        'profile_category_unknown',
        `The profile set of ${d.day.slice(0, 4)} has no fractions for ${missing.join(', ')} (AL-4)`,
        { categories: missing },
      );
    }
    progress('classified', { kinds });
    // The mixed connection-days go to the domain rule on a second connection with this snapshot,
    // while this one sums the uniform days.
    const eans = await mixedConnections(tx);
    const [exported] = await tx<Array<{ snapshot: string }>>`select pg_export_snapshot() as snapshot`;
    const mixedWork = allocateMixed(sql, exported!.snapshot, c, eans, progress);
    mixedWork.catch(() => undefined); // awaited below; a failure there aborts this transaction
    try {
      await sumUniform(tx, c, (name) => progress(`sum: ${name}`));
      progress('uniform summed');
    } finally {
      await mixedWork.catch(() => undefined);
    }
    const mixed = await mixedWork;
    progress('mixed allocated', { connections: mixed.sums.connections });
    const wanted = [...mixed.cells.entries()];
    const ids = await cellIds(
      tx,
      wanted.map(([, v]) => ({ brpId: v.balanceResponsiblePartyId, supplierId: v.supplierId, gridArea: v.gridArea })),
    );
    const idByKey = new Map(wanted.map(([k], i) => [k, ids[i]!]));
    const idOf = (key: string) => idByKey.get(key)!;
    progress('mixed cells');
    for (let i = 0; i < mixed.segments.length; i += 10_000) {
      await insertResultSegments(
        tx,
        runId,
        mixed.segments
          .slice(i, i + 10_000)
          .map(({ cell, ...s }) => ({ ...s, cellId: cell === '' ? null : idOf(cell) })),
      );
    }
    progress('mixed results stored');
    await stageMixedContributions(tx, mixed.sums.contributions(idOf), mixed.sums.profileSums(idOf));
    progress('mixed sums staged');
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
