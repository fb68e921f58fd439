/**
 * Names and payloads of the DC-9 retention purge workflow (workflows/retention-purge.ts), shared with the
 * Schedule that starts it (services/retention/schedule.ts) and the activities. Imported by workflow code, so:
 * no Node built-ins, no I/O.
 */
import type { RetentionKind, RetentionPeriods } from '../domain/retention.js';

/** The daily retention purge Schedule of a deployment (its task queue). */
export const retentionScheduleId = (taskQueue: string) => `retention-purge:${taskQueue}`;

export interface RetentionPurgeInput {
  /** The periods in days (lib/config.ts `retention`), as the Schedule was last refreshed at worker start. */
  periods: RetentionPeriods;
  /** Rows per batch (register, readings, audit details). */
  batchRows: number;
  /** Cases or supplier reports per batch. */
  batchCases: number;
}

export interface RetentionKindResult {
  kind: RetentionKind;
  cutoff: string;
  batches: number;
  removed: Record<string, number>;
  auditDetailsErased: number;
  auditDetailsAltered: number[];
  kept?: Record<string, number>;
}

export interface RetentionPurgeResult {
  /** The instant every period was counted back from (the run's start). */
  asOf: string;
  kinds: RetentionKindResult[];
}
