/**
 * Allocation activities (AL-3): one service call each (services/allocation/). The run heartbeats its steps
 * (ALLOCATION_RUN_ACTIVITY's heartbeat timeout); DomainErrors (missing profile set, unknown run) are not retried.
 */
import { Context } from '@temporalio/activity';
import {
  computeAllocationRun,
  driverOf,
  failAllocationRun,
  startAllocationRun,
  type ComputeProgress,
} from '../services/allocation/runs.js';
import { requestScheduledAllocationRuns } from '../services/allocation/schedule.js';
import type { AllocationRunInput } from '../workflows/shared.js';
import { currentAttempt, type ActivityDeps } from './deps.js';

/** A run's progress as the activity's heartbeat (a dead worker is noticed) and log line. */
function heartbeat(runId: string): ComputeProgress {
  const ctx = Context.current();
  return (step, detail) => {
    ctx.heartbeat({ step, ...detail });
    ctx.log.info(`allocation run ${runId}: ${step}`, detail ?? {});
  };
}

export function allocationActivities({ db, config, temporalClient }: ActivityDeps) {
  return {
    computeAllocationRun: (input: AllocationRunInput) =>
      computeAllocationRun(db, driverOf(db), input.runId, config.allocation, heartbeat(input.runId)),
    failAllocationRun: (input: { runId: string; failure: string }) => failAllocationRun(db, input),
    requestScheduledAllocationRuns: (input: { day: string; at?: string }) => requestScheduledAllocationRuns(db, input),
    startAllocationRun: (input: AllocationRunInput) =>
      startAllocationRun(temporalClient, currentAttempt().taskQueue, input),
  };
}
