/**
 * Allocation activities (AL-3): thin wrappers over services/allocation/runs.ts. The run heartbeats its steps;
 * DomainErrors (missing profile set, unknown run) are not retried.
 */
import { Context } from '@temporalio/activity';
import { sql as dsql } from 'drizzle-orm';
import { markRunFailed, requestRun, unfinishedRuns } from '../db/repositories/allocation-runs.js';
import { DomainError } from '../lib/errors.js';
import { computeAllocationRun, driverOf, startAllocationRunWorkflow } from '../services/allocation/runs.js';
import type { AllocationRunInput, AllocationRunResult } from '../workflows/shared.js';
import type { ActivityDeps } from './deps.js';

const SCHEDULE_ACTOR = { actor: 'schedule:allocation-daily', actorRole: 'system', actorPartyId: null };
/** A requested run whose workflow has not finished it within this time is started again by the Schedule. */
const RECOVER_AFTER_MS = 10 * 60_000;

export function allocationActivities({ db, config, temporalClient }: ActivityDeps) {
  return {
    async computeAllocationRun(input: AllocationRunInput): Promise<AllocationRunResult> {
      const ctx = Context.current();
      return computeAllocationRun(db, driverOf(db), input.runId, config.allocation, (step, detail) => {
        ctx.heartbeat({ step, ...detail });
        ctx.log.info(`allocation run ${input.runId}: ${step}`, detail ?? {});
      });
    },

    async failAllocationRun(input: { runId: string; failure: string }): Promise<void> {
      await markRunFailed(db, input.runId, input.failure);
    },

    /**
     * The day's run of every grid operator with connections (version 1, once), plus unfinished older runs. `at`:
     * the Schedule's time (the workflow's clock), by which the day must have ended (AL-1); a workflow started
     * before it was passed gives none: the activity's clock then.
     */
    async requestScheduledAllocationRuns(input: {
      day: string;
      at?: string;
    }): Promise<Array<{ runId: string; gridOperatorId: string; version: number; created: boolean }>> {
      const operators = (await db.execute(
        dsql`select distinct grid_operator_id from connections order by 1`,
      )) as unknown as Array<{ grid_operator_id: string }>;
      const out: Array<{ runId: string; gridOperatorId: string; version: number; created: boolean }> = [];
      for (const o of operators) {
        const { run, created } = await requestRun(
          db,
          SCHEDULE_ACTOR,
          {
            gridOperatorId: o.grid_operator_id,
            day: input.day,
            trigger: 'schedule',
            requestKey: `schedule:${o.grid_operator_id}:${input.day}`,
            reason: 'daily allocation after the read-out',
          },
          input.at ? new Date(input.at) : undefined,
        );
        if (run.status === 'requested' || run.status === 'running' || created)
          out.push({ runId: run.id, gridOperatorId: run.gridOperatorId, version: run.version, created });
      }
      for (const run of await unfinishedRuns(db, new Date(Date.now() - RECOVER_AFTER_MS))) {
        if (!out.some((r) => r.runId === run.id))
          out.push({ runId: run.id, gridOperatorId: run.gridOperatorId, version: run.version, created: false });
      }
      return out;
    },

    /** Start a run's workflow; already started counts as done. */
    async startAllocationRun(input: AllocationRunInput): Promise<{ started: boolean }> {
      if (!temporalClient)
        throw new DomainError(
          'unavailable',
          'temporal_client_missing',
          'no Temporal client configured to start allocation runs',
        );
      return {
        started: await startAllocationRunWorkflow(temporalClient, Context.current().info.taskQueue, input.runId),
      };
    },
  };
}
