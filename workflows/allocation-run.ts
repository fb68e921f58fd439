/**
 * The allocation workflows (AL-3). `dailyAllocationWorkflow` runs on the daily Schedule after the read-out:
 * it requests each grid operator's run of the day (one per operator and day, however often it fires) and
 * starts each run's own workflow. `allocationRunWorkflow` computes one run (a day × grid operator ×
 * version); the computation is one transaction and idempotent, so a retried activity or a repeated
 * workflow never allocates twice.
 */
import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import { amsterdamDayOf, previousDay } from '../domain/allocation.js';
import { ALLOCATION_DB_ACTIVITY, ALLOCATION_RUN_ACTIVITY } from './activity-options.js';
import type { AllocationRunInput, AllocationRunResult, DailyAllocationInput, DailyAllocationResult } from './shared.js';

const run = proxyActivities<ReturnType<typeof createActivities>>(ALLOCATION_RUN_ACTIVITY);
const db = proxyActivities<ReturnType<typeof createActivities>>(ALLOCATION_DB_ACTIVITY);

export async function allocationRunWorkflow(input: AllocationRunInput): Promise<AllocationRunResult> {
  try {
    return await run.computeAllocationRun(input);
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const failure = err.cause instanceof ApplicationFailure ? err.cause.message : err.message;
    await db.failAllocationRun({ runId: input.runId, failure });
    throw err;
  }
}

export async function dailyAllocationWorkflow(input: DailyAllocationInput): Promise<DailyAllocationResult> {
  const now = new Date(Date.now());
  let day = amsterdamDayOf(now);
  for (let i = 0; i < input.daysBack; i++) day = previousDay(day);
  // The Schedule's time is the clock AL-1 is judged by (the day must have ended: daysBack 0 is refused).
  const requested = await db.requestScheduledAllocationRuns({ day, at: now.toISOString() });
  const runs: DailyAllocationResult['runs'] = [];
  for (const r of requested) {
    const { started } = await db.startAllocationRun({ runId: r.runId });
    runs.push({ ...r, started });
  }
  return { day, runs };
}
