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
 */
import type { Db } from '../../db/client.js';
import { recordAudit } from '../../db/repositories/audit.js';
import type { Actor } from '../../db/repositories/actor.js';
import {
  closedMonthsWithUnvacuumedRows,
  countDetachedMonth,
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
  registerMonthExpired,
  registerMonthsAhead,
  registerReach,
} from '../../domain/register-partitions.js';

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
        await recordAudit(tx, {
          actor: actor.actor,
          actorRole: actor.actorRole ?? null,
          actorPartyId: null,
          action: PARTITION_CREATED,
          entityType: 'access_register',
          entityId: m.name,
          data: { from: m.from.toISOString(), to: m.to.toISOString(), rule: 'DC-1' },
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

/**
 * The daily partitions run (workflows/register-partitions.ts): the months ahead made, then the closed months' last
 * rows vacuumed (issue 21: index-only DC-5 statistics). Both idempotent, so a retried activity repeats only what is left.
 */
export async function maintainRegisterMonths(
  db: Db,
  asOf: Date,
  actor: Actor,
): Promise<EnsureResult & { vacuumed: string[] }> {
  const r = await ensureRegisterPartitions(db, asOf, actor);
  return { ...r, vacuumed: await vacuumClosedRegisterMonths(db, asOf) };
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
  return { dropped, more: expired.length > input.maxMonths };
}

async function dropMonth(db: Db, m: HeldMonth, input: DropInput, batch: number): Promise<number> {
  await detachRegisterMonth(db, m);
  // Detached: the gate no longer sees it, nothing writes to it (its month is past), so the count is exact.
  const rows = await countDetachedMonth(db, m);
  await db.transaction(async (tx) => {
    await dropDetachedMonth(tx, m);
    await recordPurgeBatch(tx, {
      runId: input.runId,
      kind: 'access_register',
      asOf: input.asOf,
      cutoff: input.cutoff,
      batch,
      removed: { access_register: rows },
      auditDetails: 0,
      extra: { partition: m.name, from: m.from.toISOString(), to: m.to.toISOString(), method: 'partition_drop' },
    });
  });
  return rows;
}

/** DC-5: since when the register holds every decision (registerReach over the months held now). */
export async function registerReachesBack(db: Db, asOf: Date, days: number): Promise<Date> {
  const held = (await registerMonths(db)).filter((m) => m.state === 'attached');
  return registerReach(held, asOf, days);
}
