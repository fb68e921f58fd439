/**
 * DC-9 storage limitation: when a record is past its retention period, and what keeps it beyond that period.
 * The grid operator sets each period (lib/config.ts `retention`, reasons in docs/retention.md); the daily purge
 * (services/retention/purge.ts) removes what these functions say may go. The purge selects in SQL for speed
 * (db/repositories/retention.ts): its statements name the function here they mirror, and
 * test/core/retention-agreement.test.ts holds both to the same answers on random facts.
 *
 * Pure: no I/O, no clock (callers pass `asOf`), no node:* — the purge workflow imports it.
 */
import { allocationDay, amsterdamDayOf } from './allocation.js';
import type { CaseStatus } from './case.js';

const DAY_MS = 86_400_000;

/** The kinds of record the purge removes, in the order it removes them. */
export const RETENTION_KINDS = ['cases', 'supplier_reports', 'access_register', 'readings', 'audit_details'] as const;
export type RetentionKind = (typeof RETENTION_KINDS)[number];

/** Retention periods in days, one per kind (lib/config.ts `retention`). */
export interface RetentionPeriods {
  caseDays: number;
  supplierReportDays: number;
  accessRegisterDays: number;
  readingDays: number;
  auditDetailsDays: number;
}

/** Records whose period is counted from an instant before this one are past it (clock days, not working days). */
export const retentionCutoff = (asOf: Date, days: number): Date => new Date(asOf.getTime() - days * DAY_MS);

/**
 * Readings (AL-1) are kept per Amsterdam day: the days before the day the cutoff falls in are past their period.
 * Returns that first kept day and the instant it starts (a blocked period that ended by then has no data left).
 */
export function readingCutoff(asOf: Date, readingDays: number): { day: string; start: Date } {
  const day = amsterdamDayOf(retentionCutoff(asOf, readingDays));
  return { day, start: allocationDay(day).start };
}

/** What a closed case's purge depends on (the case row and the records that cite it). */
export interface CaseRetentionFacts {
  status: CaseStatus;
  closedAt: Date | null;
  /** GT-8: a legal hold (ACM, AP, disputes committee) keeps the case and its evidence. */
  legalHold: boolean;
  /** GT-6: the last report of this case to the ACM (the ACM may follow up on it: the period restarts). */
  lastAcmReportAt: Date | null;
  /** GT-11: the breach assessment of the case, if any: decided (when) or still open. */
  breachAssessment: { decidedAt: Date | null } | null;
  /** GT-5: an improvement review that is not closed cites this case as one of its signals. */
  citedByOpenReview: boolean;
  /** The case's block (GT-2), if any. */
  block: { endedAt: Date | null } | null;
  /**
   * GT-8b: a mandate of the party on the connection, registered up to the close and neither ended nor expired at
   * `asOf`, exists. While it does, the block a "mandate not demonstrated" case keeps in force still refuses it,
   * and the P4 gate reads that block's force from the case row (db/repositories/access-register.ts).
   */
  preCloseMandateAlive: boolean;
}

export const CASE_RETENTION_VERDICTS = [
  'open',
  'within_period',
  'legal_hold',
  'open_breach_assessment',
  'open_review',
  'block_in_force',
  'purge',
] as const;
export type CaseRetentionVerdict = (typeof CASE_RETENTION_VERDICTS)[number];

/**
 * DC-9 for a case, with its notes, notices, contact attempts, evidence metadata and digests: purged once
 * `caseDays` have passed since its last step — the close, a later report to the ACM (GT-6), or the decision
 * on its breach assessment (GT-11) — unless something still needs it, checked in this order:
 * a legal hold (GT-8); an open GT-11 assessment; an open GT-5 review citing it; a block it keeps in force
 * (GT-8b: closed "mandate not demonstrated" while a pre-close mandate is alive; any other closed case whose
 * block was never lifted is left for a person to look at rather than unblocked by a purge).
 */
export function caseRetention(f: CaseRetentionFacts, asOf: Date, caseDays: number): CaseRetentionVerdict {
  if (f.closedAt === null) return 'open';
  const last = Math.max(
    f.closedAt.getTime(),
    f.lastAcmReportAt?.getTime() ?? -Infinity,
    f.breachAssessment?.decidedAt?.getTime() ?? -Infinity,
  );
  if (last >= retentionCutoff(asOf, caseDays).getTime()) return 'within_period';
  if (f.legalHold) return 'legal_hold';
  if (f.breachAssessment && f.breachAssessment.decidedAt === null) return 'open_breach_assessment';
  if (f.citedByOpenReview) return 'open_review';
  if (f.block && f.block.endedAt === null && (f.status !== 'closed_mandate_not_demonstrated' || f.preCloseMandateAlive))
    return 'block_in_force';
  return 'purge';
}

/**
 * What happens to a purged case's block. A block lifted with its period released (GT-7, GT-8) and a kept
 * block without force (see caseRetention) change no decision of the P4 gate any more: they go with the case.
 * A block lifted WITHOUT release still refuses requests for its blocked period (GT-8), so it stays until the
 * readings of that period are purged too (readingCutoff: no data of the period is left to refuse).
 */
export const blockGoesWithCase = (block: { endedAt: Date | null; retroactive: boolean }): boolean =>
  block.endedAt === null || block.retroactive;

/** A lifted, unreleased block of a purged case, once no reading of its blocked period is kept (readingCutoff). */
export const orphanBlockGone = (
  block: { endedAt: Date | null; retroactive: boolean; caseKept: boolean },
  readingsStart: Date,
): boolean =>
  !block.caseKept && !block.retroactive && block.endedAt !== null && block.endedAt.getTime() <= readingsStart.getTime();

export const SUPPLIER_REPORT_RETENTION_VERDICTS = ['within_period', 'case_kept', 'open_review', 'purge'] as const;
export type SupplierReportRetentionVerdict = (typeof SUPPLIER_REPORT_RETENTION_VERDICTS)[number];

/** DC-9 for a GT-9 supplier report: from the report, but never while its case is kept or an open GT-5 review cites it. */
export function supplierReportRetention(
  f: { reportedAt: Date; caseKept: boolean; citedByOpenReview: boolean },
  asOf: Date,
  supplierReportDays: number,
): SupplierReportRetentionVerdict {
  if (f.reportedAt.getTime() >= retentionCutoff(asOf, supplierReportDays).getTime()) return 'within_period';
  if (f.caseKept) return 'case_kept';
  if (f.citedByOpenReview) return 'open_review';
  return 'purge';
}
