/**
 * The access register's months (DC-1, DC-9; domain/register-partitions.ts): created ahead of the clock, and
 * dropped whole once every row in them is past the register's retention period.
 *
 * - ensureRegisterPartitions: the current month and REGISTER_MONTHS_AHEAD after it exist. Run by a daily Temporal
 *   Schedule (workflows/register-partitions.ts, services/register/schedule.ts) and at every start of the API
 *   (server.ts, scripts/start.ts) and the worker, so a fresh or long-stopped system has its current month before
 *   it decides anything. Each month created is audited with the actor that created it.
 * - dropExpiredRegisterMonths: the register's part of the daily retention purge (services/retention/purge.ts
 *   purgeExpiredAccessRegister): detach CONCURRENTLY, count, drop — never a mass DELETE. Each month dropped is
 *   one audit entry of the purge run (recordPurgeBatch, actor workflow:retention-purge) in the transaction that
 *   drops it. A drop interrupted after its detach is finished by the next run.
 * - compactClosedRegisterMonths: the daily run's last step (maintainRegisterMonths): a closed month rewritten in
 *   connection order for DC-5 and swapped in by one short transaction, audited (decisions/0019); before its swap the
 *   month is rolled up per (connection, party) into the month counts, which DC-5's statistics read instead of the
 *   month (decisions/0020). countCompactedRegisterMonths counts a month compacted before there were counts.
 */
import type { Db, DbOrTx } from '../../db/client.js';
import { recordAudit } from '../../db/repositories/audit.js';
import type { Actor } from '../../db/repositories/actor.js';
import { DEFAULT_REGISTER_PARTY_DAY_INDEX_MONTHS } from '../../lib/config.js';
import {
  closedMonthsWithUnvacuumedRows,
  compactionLeftovers,
  compactionRetiredName,
  compactionWorkName,
  compactMonthCopy,
  compactMonthIndexes,
  compactMonthVerify,
  buildPartyDayIndex,
  dropPartyDayIndex,
  partyDayIndexes,
  countDetachedMonth,
  countedRegisterMonths,
  countMonthKey,
  countRegisterMonth,
  monthCounted,
  oldestUnmarkedCountMonth,
  purgeMonthCounts,
  uncountRegisterMonth,
  dropCompactionTable,
  isLockNotAvailable,
  swapCompactedMonth,
  createRegisterMonth,
  detachRegisterMonth,
  dropDetachedMonth,
  registerMonths,
  type HeldMonth,
  vacuumRegisterMonth,
} from '../../db/repositories/register-partitions.js';
import { recordPurgeBatch } from '../../db/repositories/retention.js';
import {
  REGISTER_MONTHS_AHEAD,
  registerMonth,
  registerMonthCompactable,
  registerMonthExpired,
  registerMonthsAhead,
  registerPartyDayIndexKept,
  registerReach,
  type RegisterMonth,
} from '../../domain/register-partitions.js';

/** A register month's audit entry (created, compacted, counted, its party-day index dropped): one actor, one month. */
function auditRegisterMonth(db: DbOrTx, actor: Actor, action: string, m: RegisterMonth, data: Record<string, unknown>) {
  return recordAudit(db, {
    actor: actor.actor,
    actorRole: actor.actorRole ?? null,
    actorPartyId: null,
    action,
    entityType: 'access_register',
    entityId: m.name,
    data,
  });
}

/** The audit action of a month created. */
export const PARTITION_CREATED = 'register.partition_created';

/** Who creates months: the Schedule's workflow, or a process at its start. */
export const PARTITIONS_SCHEDULE_ACTOR: Actor = {
  actor: 'workflow:register-partitions',
  actorRole: 'system',
  actorPartyId: null,
};
export const startupActor = (process: 'api' | 'worker'): Actor => ({
  actor: `system:${process}-start`,
  actorRole: 'system',
  actorPartyId: null,
});

export interface EnsureResult {
  /** Months created now (partition names). */
  created: string[];
  /** The months that must exist, all of which do now. */
  months: string[];
}

/** The current month and the next REGISTER_MONTHS_AHEAD exist afterwards; those created are audited. */
export async function ensureRegisterPartitions(
  db: Db,
  asOf: Date,
  actor: Actor,
  ahead = REGISTER_MONTHS_AHEAD,
): Promise<EnsureResult> {
  const months = registerMonthsAhead(asOf, ahead);
  const created: string[] = [];
  for (const m of months) {
    // Each month in its own transaction with its audit entry: creating months is idempotent, so a retry after a
    // failure creates what is still missing and audits only that.
    const made = await db.transaction(async (tx) => {
      const made = await createRegisterMonth(tx, m);
      if (made)
        await auditRegisterMonth(tx, actor, PARTITION_CREATED, m, {
          from: m.from.toISOString(),
          to: m.to.toISOString(),
          rule: 'DC-1',
        });
      return made;
    });
    if (made) created.push(m.name);
  }
  return { created, months: months.map((m) => m.name) };
}

/**
 * Issue 21: the months before asOf's that took rows since their last vacuum are vacuumed, so a closed month ends
 * with its visibility map complete and the DC-5 statistics read it by index only (access_register_conn_idx
 * INCLUDE (party_id, allowed)). Autovacuum marks a month every REGISTER_MONTH_STORAGE rows while it fills; this
 * takes the last rows of the month, which reach no threshold. Run by the daily partitions activity after
 * ensureRegisterPartitions (not at process start); a month already vacuumed has no new rows and is skipped.
 */
export async function vacuumClosedRegisterMonths(db: Db, asOf: Date): Promise<string[]> {
  const months = await closedMonthsWithUnvacuumedRows(db, registerMonth(asOf).from);
  for (const m of months) await vacuumRegisterMonth(db, m);
  return months.map((m) => m.name);
}

export type MaintainResult = EnsureResult & { vacuumed: string[] } & CompactResult & {
    partyDayIndexesDropped: string[];
    /** Covering party-day indexes built on compacted months within the setting that lacked one. */
    partyDayIndexesBuilt: string[];
    /** Months compacted before they had counts, counted now (countCompactedRegisterMonths). */
    counted: string[];
  };

/**
 * The daily partitions run (workflows/register-partitions.ts): the months ahead made, then the closed months' last
 * rows vacuumed (issue 21: index-only DC-5 statistics), then a closed month rewritten in connection order
 * (compactClosedRegisterMonths). All idempotent, so a retried activity repeats only what is left.
 */
export async function maintainRegisterMonths(
  db: Db,
  asOf: Date,
  actor: Actor,
  options: Pick<CompactOptions, 'partyDayIndexMonths'> = {},
): Promise<MaintainResult> {
  const r = await ensureRegisterPartitions(db, asOf, actor);
  const vacuumed = await vacuumClosedRegisterMonths(db, asOf);
  const compacted = await compactClosedRegisterMonths(db, asOf, actor, options);
  const keepMonths = options.partyDayIndexMonths ?? DEFAULT_REGISTER_PARTY_DAY_INDEX_MONTHS;
  const partyDayIndexesDropped = await dropAgedPartyDayIndexes(db, asOf, actor, keepMonths);
  const partyDayIndexesBuilt = await buildMissingPartyDayIndexes(db, asOf, actor, keepMonths);
  const counted = await countCompactedRegisterMonths(db, actor);
  return { ...r, vacuumed, ...compacted, partyDayIndexesDropped, partyDayIndexesBuilt, counted };
}

/** The audit action of a compacted month's counts written after its compaction (countCompactedRegisterMonths). */
export const PARTITION_COUNTED = 'register.partition_counted';

/** Months counted per daily run at most (each reads a whole month), like compaction. */
export const REGISTER_COUNT_PER_RUN = 1;

/**
 * Issue 21 (decisions/0020): months compacted before the month counts existed (or whose counting failed) are counted
 * from the month itself, newest first, REGISTER_COUNT_PER_RUN a run; their totals checked against the rows the
 * compaction verified (its table comment), each audited. A month not compacted is counted by its compaction.
 */
export async function countCompactedRegisterMonths(
  db: Db,
  actor: Actor,
  maxMonths = REGISTER_COUNT_PER_RUN,
): Promise<string[]> {
  const counted = await countedRegisterMonths(db);
  const todo = (await registerMonths(db))
    .filter((m) => m.state === 'attached' && m.compacted && !counted.has(countMonthKey(m)))
    .sort((a, b) => b.from.getTime() - a.from.getTime())
    .slice(0, maxMonths);
  const done: string[] = [];
  for (const m of todo) {
    if (!Number.isFinite(m.compactedRows)) throw new Error(`${m.name}: compacted, but its table comment has no rows`);
    const t0 = performance.now();
    const c = await countRegisterMonth(db, m, m.name, m.compactedRows!);
    await auditRegisterMonth(db, actor, PARTITION_COUNTED, m, {
      month: m.name,
      counts: { groups: c.groups, rows: c.rows },
      seconds: Math.round((performance.now() - t0) / 100) / 10,
      rule: 'DC-5',
    });
    done.push(m.name);
  }
  return done;
}

/** The audit action of a compacted month's covering party-day index dropped (past REGISTER_PARTY_DAY_INDEX_MONTHS). */
export const PARTY_DAY_INDEX_DROPPED = 'register.party_day_index_dropped';

/**
 * Issue 21 (decisions/0019): compacted months older than `keepMonths` (registerPartyDayIndexKept) lose their covering
 * party-day index, so its disk cost is bounded by the recent months whatever the retention period. Dropped
 * CONCURRENTLY (the register's readers and the gate go on), then audited; the index names dropped are returned.
 */
export async function dropAgedPartyDayIndexes(db: Db, asOf: Date, actor: Actor, keepMonths: number): Promise<string[]> {
  const dropped: string[] = [];
  const aged = (await registerMonths(db)).filter(
    (m) => m.state === 'attached' && m.compacted && !registerPartyDayIndexKept(m, asOf, keepMonths),
  );
  const indexes = aged.length ? await partyDayIndexes(db, true) : new Map<string, string>();
  for (const m of aged) {
    const index = indexes.get(m.name);
    if (!index) continue;
    await dropPartyDayIndex(db, index);
    await auditRegisterMonth(db, actor, PARTY_DAY_INDEX_DROPPED, m, { month: m.name, index, keepMonths, rule: 'DC-9' });
    dropped.push(index);
  }
  return dropped;
}

/** The audit action of a compacted month's covering party-day index built after its compaction. */
export const PARTY_DAY_INDEX_BUILT = 'register.party_day_index_built';

/** Months a daily run builds the covering party-day index on at most: each build reads a whole month (minutes). */
export const REGISTER_PARTY_DAY_BUILD_PER_RUN = 1;

/**
 * Issue 21 (decisions/0019): compacted months within `keepMonths` (registerPartyDayIndexKept) that lack their covering
 * party-day index get it, newest first, `maxMonths` a run. A month compacted outside the setting has none; once the
 * operator raises REGISTER_PARTY_DAY_INDEX_MONTHS (or its default rises, 3 → 13), the months now inside it would
 * otherwise read a heap page a row until they age out. Built CONCURRENTLY (buildPartyDayIndex), then audited; the
 * index names built are returned.
 */
export async function buildMissingPartyDayIndexes(
  db: Db,
  asOf: Date,
  actor: Actor,
  keepMonths: number,
  maxMonths = REGISTER_PARTY_DAY_BUILD_PER_RUN,
): Promise<string[]> {
  const kept = (await registerMonths(db)).filter(
    (m) => m.state === 'attached' && m.compacted && registerPartyDayIndexKept(m, asOf, keepMonths),
  );
  if (kept.length === 0) return [];
  const have = await partyDayIndexes(db);
  const todo = kept
    .filter((m) => !have.has(m.name))
    .sort((a, b) => b.from.getTime() - a.from.getTime())
    .slice(0, maxMonths);
  const built: string[] = [];
  for (const m of todo) {
    const t0 = performance.now();
    const index = await buildPartyDayIndex(db, m);
    await auditRegisterMonth(db, actor, PARTY_DAY_INDEX_BUILT, m, {
      month: m.name,
      index,
      keepMonths,
      seconds: Math.round((performance.now() - t0) / 100) / 10,
      rule: 'DC-1',
    });
    built.push(index);
  }
  return built;
}

/** The audit action of a month compacted. */
export const PARTITION_COMPACTED = 'register.partition_compacted';

/** Months compacted per daily run at most: one keeps the run within its activity's hour (a month is minutes). */
export const REGISTER_COMPACT_PER_RUN = 1;

export interface CompactedMonth {
  name: string;
  rows: number;
  /** Copy, index builds, VACUUM and verification (the swap excluded). */
  seconds: number;
  /** The swap's transaction: how long the register was locked (ACCESS EXCLUSIVE), from its first DDL to commit. */
  swapMs: number;
  /** Its month counts (decisions/0020): (connection, party) groups, and the rows they total. */
  counts: { groups: number; rows: number; seconds: number };
}

export interface CompactResult {
  compacted: CompactedMonth[];
  /** Copied and verified, but the swap did not get its lock in time: left for the next run, which swaps it. */
  deferred: string[];
}

export interface CompactOptions {
  maxMonths?: number;
  /** Months back that get the covering party-day index (registerPartyDayIndexKept; default lib/config.ts's). */
  partyDayIndexMonths?: number;
  /** Attempts at the swap's lock in this run, a second apart (default 3). */
  swapAttempts?: number;
}

/**
 * Issue 21 (decisions/0019): closed months rewritten in (connection_ean, decided_at) order, newest first, so that a
 * connection's rows of a month share one or two heap pages and the DC-5 answer's most recent rows cost a page or two
 * a month instead of one a row. Only a month past registerMonthCompactable (a day after its end: no writer can
 * reach it) and not yet compacted (its table comment). Per month (db/repositories/register-partitions.ts): frozen
 * and copied in order (compactMonthCopy), indexed like the register with its CHECK constraint (compactMonthIndexes),
 * vacuumed and verified (rows and checksum equal the month's: compactMonthVerify), then swapped in by one short
 * transaction with its audit entry (swapCompactedMonth), and the old table dropped.
 *
 * Crash-safe: an interrupted run leaves a work table (access_register_cYYYYMM) or a retired month
 * (access_register_rYYYYMM). The next run drops a retired month, swaps in a verified work table, and drops an
 * unverified one and copies again. The month itself is never without its rows: it is replaced in one transaction.
 */
export async function compactClosedRegisterMonths(
  db: Db,
  asOf: Date,
  actor: Actor,
  options: CompactOptions = {},
): Promise<CompactResult> {
  const maxMonths = options.maxMonths ?? REGISTER_COMPACT_PER_RUN;
  const held = await registerMonths(db);
  const open = new Map(held.filter((m) => m.state === 'attached' && !m.compacted).map((m) => [m.name, m]));
  const ready = new Map<string, { rows: number; checksum: string }>();
  for (const l of await compactionLeftovers(db)) {
    if (l.kind === 'work' && l.verified && open.has(l.month.name)) ready.set(l.month.name, l.verified);
    else await dropCompactionTable(db, l.name);
  }
  const todo = [...open.values()]
    .filter((m) => registerMonthCompactable(m, asOf))
    .sort((a, b) => b.from.getTime() - a.from.getTime())
    .slice(0, maxMonths);
  const result: CompactResult = { compacted: [], deferred: [] };
  for (const m of todo) {
    const partyDayIndex = registerPartyDayIndexKept(
      m,
      asOf,
      options.partyDayIndexMonths ?? DEFAULT_REGISTER_PARTY_DAY_INDEX_MONTHS,
    );
    const done = await compactMonth(db, m, actor, ready.get(m.name), options.swapAttempts ?? 3, partyDayIndex);
    if (done) result.compacted.push(done);
    else result.deferred.push(m.name);
  }
  return result;
}

async function compactMonth(
  db: Db,
  m: RegisterMonth,
  actor: Actor,
  verified: { rows: number; checksum: string } | undefined,
  swapAttempts: number,
  partyDayIndex: boolean,
): Promise<CompactedMonth | null> {
  const t0 = performance.now();
  let digest = verified;
  if (!digest) {
    try {
      digest = await compactMonthCopy(db, m);
      await compactMonthIndexes(db, m, partyDayIndex);
      if (!(await compactMonthVerify(db, m, digest)))
        throw new Error(`compaction of ${m.name}: the copy's rows or checksum differ from the month's`);
    } catch (err) {
      // The work table goes now (the next run would drop it anyway); the month stays as it was, frozen.
      await dropCompactionTable(db, compactionWorkName(m)).catch(() => undefined);
      throw err;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  // DC-5's month counts from the verified copy, before the swap (decisions/0020): the month is frozen, so the copy
  // and the month it replaces hold the same rows, and the counts are right for either. A re-run replaces them.
  // A swap retried by a later run finds them written already (the same frozen rows: the marker's total is the copy's).
  const t1 = performance.now();
  const prior = await monthCounted(db, m);
  const counted =
    prior && prior.rows === digest.rows ? prior : await countRegisterMonth(db, m, compactionWorkName(m), digest.rows);
  const counts = { ...counted, seconds: Math.round((performance.now() - t1) / 100) / 10 };
  for (let attempt = 1; ; attempt++) {
    try {
      let swapStart = 0;
      await db.transaction(async (tx) => {
        // The audit entry first: nothing it may wait for falls inside the register's lock.
        await auditRegisterMonth(tx, actor, PARTITION_COMPACTED, m, {
          month: m.name,
          from: m.from.toISOString(),
          to: m.to.toISOString(),
          rows: digest.rows,
          seconds: Math.round(seconds * 10) / 10,
          order: 'connection_ean, decided_at',
          counts,
          rule: 'DC-5',
        });
        swapStart = performance.now();
        await swapCompactedMonth(tx, m, digest.rows);
      });
      const swapMs = performance.now() - swapStart;
      await dropCompactionTable(db, compactionRetiredName(m));
      return { name: m.name, rows: digest.rows, seconds, swapMs, counts };
    } catch (err) {
      if (!isLockNotAvailable(err)) throw err;
      if (attempt >= swapAttempts) return null;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

export interface DropInput {
  /** The purge run (its workflow id): every entry names it. */
  runId: string;
  asOf: Date;
  /** The register's retention period (lib/config.ts retention.accessRegisterDays). */
  days: number;
  /** The cutoff as the purge records it. */
  cutoff: string;
  /** Months dropped in this call at most (each is one "batch" of the purge). */
  maxMonths: number;
}

export interface DropResult {
  /** Months dropped, with their rows. */
  dropped: Array<{ name: string; rows: number }>;
  /** Expired months left for the next call (maxMonths reached). */
  more: boolean;
}

/** DC-9: drop whole months past the period (registerMonthExpired), oldest first, each audited. */
export async function dropExpiredRegisterMonths(
  db: Db,
  input: DropInput,
  onDropped?: (m: { name: string; rows: number; batch: number }) => void,
): Promise<DropResult> {
  const expired = (await registerMonths(db)).filter((m) => registerMonthExpired(m, input.asOf, input.days));
  const dropped: DropResult['dropped'] = [];
  for (const m of expired.slice(0, input.maxMonths)) {
    const rows = await dropMonth(db, m, input, dropped.length + 1);
    dropped.push({ name: m.name, rows });
    onDropped?.({ name: m.name, rows, batch: dropped.length });
  }
  // Counts left without their marker by a drop interrupted after its commit (DC-9): no answer reads them, they go now.
  // Months are dropped oldest first, so such counts are older than every month still held (whose counts have their
  // marker until the month's drop): only that range of the counts' month index is read.
  const oldestHeld = (await registerMonths(db))[0];
  const before = countMonthKey(oldestHeld ?? registerMonth(input.asOf));
  for (
    let month = await oldestUnmarkedCountMonth(db, before);
    month;
    month = await oldestUnmarkedCountMonth(db, before)
  )
    await purgeMonthCounts(db, month);
  return { dropped, more: expired.length > input.maxMonths };
}

async function dropMonth(db: Db, m: HeldMonth, input: DropInput, batch: number): Promise<number> {
  await detachRegisterMonth(db, m);
  // Detached: the gate no longer sees it, nothing writes to it (its month is past), so the count is exact.
  const rows = await countDetachedMonth(db, m);
  const counts = await db.transaction(async (tx) => {
    // The month's marker first (decisions/0020): from this commit no DC-5 answer takes the month's counts.
    const counts = await uncountRegisterMonth(tx, m);
    await dropDetachedMonth(tx, m);
    await recordPurgeBatch(tx, {
      runId: input.runId,
      kind: 'access_register',
      asOf: input.asOf,
      cutoff: input.cutoff,
      batch,
      removed: { access_register: rows, access_register_month_counts: counts },
      auditDetails: 0,
      extra: { partition: m.name, from: m.from.toISOString(), to: m.to.toISOString(), method: 'partition_drop' },
    });
    return counts;
  });
  // Its counts right after, in batches (personal data like the month: DC-9); a crash here leaves them unmarked, and
  // dropExpiredRegisterMonths removes them on its next call.
  if (counts > 0) await purgeMonthCounts(db, countMonthKey(m));
  return rows;
}

/** DC-5: since when the register holds every decision (registerReach over the months held now). */
export async function registerReachesBack(db: Db, asOf: Date, days: number): Promise<Date> {
  const held = (await registerMonths(db)).filter((m) => m.state === 'attached');
  return registerReach(held, asOf, days);
}
