/**
 * DC-9 storage limitation: the retention purge, one function per kind of record. Each removes what is past its
 * period (domain/retention.ts) in bounded batches — every batch its own short transaction, so no statement holds
 * locks for long — and records every batch on the audit chain with its counts (actor workflow:retention-purge),
 * erasing in the same transaction the personal details of the audit entries that belonged to what it removed.
 * A call does at most `maxBatches` batches and says whether more is left (`more`), so the workflow
 * (workflows/retention-purge.ts) drives long purges in activity-sized steps that heartbeat between batches.
 */
import type { Db, DbOrTx } from '../../db/client.js';
import {
  eraseAuditDetails,
  expiredAuditDetails,
  keptCaseCounts,
  purgeCaseBatch,
  purgeReadingBatch,
  purgeSupplierReportBatch,
  recordErasureRefused,
  recordPurgeBatch,
  type AuditCursor,
} from '../../db/repositories/retention.js';
import { purgeExpiredKeyBatch } from '../../db/repositories/idempotency.js';
import { dropExpiredRegisterMonths } from '../register/partitions.js';
import { readingCutoff, retentionCutoff, type RetentionKind } from '../../domain/retention.js';

export type { AuditCursor } from '../../db/repositories/retention.js';

export interface PurgeInput {
  /** The purge run (its workflow id): every batch entry names it. */
  runId: string;
  /** ISO instant the period is counted back from: the run's start, the same for every kind. */
  asOf: string;
  /** The kind's retention period (lib/config.ts `retention`). */
  days: number;
  /** Rows (or cases, reports) per batch. */
  batchSize: number;
  /** Batches in this call at most. */
  maxBatches: number;
  /** audit_details only: where the previous call stopped. */
  cursor?: AuditCursor | null;
}

export interface PurgeResult {
  kind: RetentionKind;
  /** What is past the period: an instant, or for readings the first day kept. */
  cutoff: string;
  batches: number;
  /** Rows removed per table in this call. */
  removed: Record<string, number>;
  auditDetailsErased: number;
  /** Audit entries whose details no longer matched their digest: left in place, recorded, named by /audit/verify. */
  auditDetailsAltered: number[];
  /** Records past their period that something still keeps, by reason (cases). */
  kept?: Record<string, number>;
  /** The batch limit was reached: call again. */
  more: boolean;
  /** audit_details: pass back as `cursor` when `more`. */
  cursor?: AuditCursor | null;
}

/** Called after every batch (the activity heartbeats with it). */
export type OnBatch = (progress: { kind: RetentionKind; batch: number; removed: number }) => void;

interface BatchOutcome {
  removed: Record<string, number>;
  auditIds: number[];
  /** The batch found as many as it may take: there may be more. */
  full: boolean;
  extra?: Record<string, unknown>;
}

/** Batches of one kind: each in its own transaction with its audit entry and the erasure of its audit details. */
async function drain(
  db: Db,
  kind: RetentionKind,
  input: PurgeInput,
  cutoff: string,
  batch: (tx: DbOrTx, n: number) => Promise<BatchOutcome>,
  onBatch?: OnBatch,
): Promise<Omit<PurgeResult, 'cursor' | 'kept'>> {
  const asOf = new Date(input.asOf);
  const result: Omit<PurgeResult, 'cursor' | 'kept'> = {
    kind,
    cutoff,
    batches: 0,
    removed: {},
    auditDetailsErased: 0,
    auditDetailsAltered: [],
    more: false,
  };
  for (let n = 1; n <= input.maxBatches; n++) {
    const out = await db.transaction(async (tx) => {
      const o = await batch(tx, n);
      const entryId = await recordPurgeBatch(tx, {
        runId: input.runId,
        kind,
        asOf,
        cutoff,
        batch: n,
        removed: o.removed,
        auditDetails: o.auditIds.length,
        ...(o.extra ? { extra: o.extra } : {}),
      });
      const erased = await eraseAuditDetails(tx, o.auditIds, entryId, new Date());
      if (erased.altered.length > 0)
        await recordErasureRefused(tx, { runId: input.runId, kind, purgeEntryId: entryId, auditIds: erased.altered });
      return { ...o, erased };
    });
    result.batches = n;
    for (const [table, count] of Object.entries(out.removed))
      result.removed[table] = (result.removed[table] ?? 0) + count;
    result.auditDetailsErased += out.erased.erased;
    result.auditDetailsAltered.push(...out.erased.altered);
    onBatch?.({ kind, batch: n, removed: Object.values(out.removed).reduce((a, b) => a + b, 0) });
    if (!out.full) return result;
  }
  return { ...result, more: true };
}

/** Cases past their period (caseRetention), with their dependent rows and audit details; reports what is kept and why. */
export async function purgeExpiredCases(db: Db, input: PurgeInput, onBatch?: OnBatch): Promise<PurgeResult> {
  const cutoff = retentionCutoff(new Date(input.asOf), input.days).toISOString();
  const kept = await keptCaseCounts(db, input.asOf, cutoff);
  const r = await drain(
    db,
    'cases',
    input,
    cutoff,
    async (tx, n) => {
      const b = await purgeCaseBatch(tx, input.asOf, cutoff, input.batchSize);
      return {
        removed: b.removed,
        auditIds: b.auditIds,
        full: b.caseIds.length >= input.batchSize,
        ...(n === 1 ? { extra: { keptPastPeriod: kept } } : {}),
      };
    },
    onBatch,
  );
  return { ...r, kept };
}

/** GT-9 supplier reports past their period (supplierReportRetention), with their audit details. */
export async function purgeExpiredSupplierReports(db: Db, input: PurgeInput, onBatch?: OnBatch): Promise<PurgeResult> {
  const cutoff = retentionCutoff(new Date(input.asOf), input.days).toISOString();
  return drain(
    db,
    'supplier_reports',
    input,
    cutoff,
    async (tx) => {
      const b = await purgeSupplierReportBatch(tx, cutoff, input.batchSize);
      return {
        removed: { supplier_reports: b.ids.length },
        auditIds: b.auditIds,
        full: b.ids.length >= input.batchSize,
      };
    },
    onBatch,
  );
}

/**
 * DC-1 access register: the months whose every row is past the period are detached and dropped whole
 * (services/register/partitions.ts; one audit entry per month with its rows), never deleted row by row. Then the
 * Idempotency-Keys of case actions past their own expiry (24 h, api/plugins/case-action.ts), the other
 * per-request record, in batches counted as `idempotency_keys`. A month dropped counts as one batch.
 */
export async function purgeExpiredAccessRegister(db: Db, input: PurgeInput, onBatch?: OnBatch): Promise<PurgeResult> {
  const asOf = new Date(input.asOf);
  const cutoff = retentionCutoff(asOf, input.days).toISOString();
  const months = await dropExpiredRegisterMonths(
    db,
    { runId: input.runId, asOf, days: input.days, cutoff, maxMonths: input.maxBatches },
    (m) => onBatch?.({ kind: 'access_register', batch: m.batch, removed: m.rows }),
  );
  const register = months.dropped.reduce((n, m) => n + m.rows, 0);
  const left = input.maxBatches - months.dropped.length;
  if (months.more || left <= 0)
    return {
      kind: 'access_register',
      cutoff,
      batches: months.dropped.length,
      removed: { access_register: register },
      auditDetailsErased: 0,
      auditDetailsAltered: [],
      more: true,
    };
  const keys = await drain(
    db,
    'access_register',
    { ...input, maxBatches: left },
    cutoff,
    async (tx) => {
      const n = await purgeExpiredKeyBatch(tx, asOf, input.batchSize);
      return { removed: { idempotency_keys: n }, auditIds: [], full: n >= input.batchSize };
    },
    onBatch,
  );
  return {
    ...keys,
    batches: months.dropped.length + keys.batches,
    removed: { access_register: register, ...keys.removed },
  };
}

/** AL-1 reading days before the first kept day, their rejects and imports, and blocks whose period has no data left. */
export async function purgeExpiredReadings(db: Db, input: PurgeInput, onBatch?: OnBatch): Promise<PurgeResult> {
  const { day, start } = readingCutoff(new Date(input.asOf), input.days);
  return drain(
    db,
    'readings',
    input,
    day,
    async (tx) => {
      const removed = await purgeReadingBatch(tx, day, start, input.batchSize);
      return { removed, auditIds: [], full: Object.values(removed).some((n) => n >= input.batchSize) };
    },
    onBatch,
  );
}

/**
 * The personal details of audit entries older than the period whose record has no period of its own (keys,
 * mandates, contacts, parties, connections, allocation runs, closed reviews). The chain stays verifiable.
 */
export async function eraseExpiredAuditDetails(db: Db, input: PurgeInput, onBatch?: OnBatch): Promise<PurgeResult> {
  const cutoff = retentionCutoff(new Date(input.asOf), input.days);
  let cursor = input.cursor ?? null;
  const r = await drain(
    db,
    'audit_details',
    input,
    cutoff.toISOString(),
    async (tx) => {
      const b = await expiredAuditDetails(tx, cutoff, cursor, input.batchSize);
      cursor = b.last;
      return { removed: {}, auditIds: b.ids, full: b.ids.length >= input.batchSize };
    },
    onBatch,
  );
  return { ...r, cursor };
}
