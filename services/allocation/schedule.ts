/**
 * The daily allocation Schedule (AL-3): every day at ALLOCATION_SCHEDULE_AT (Europe/Amsterdam), after the
 * overnight read-out, `dailyAllocationWorkflow` allocates the previous day for every grid operator.
 * Created once per task queue, updated to the configured time on every later worker start.
 */
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Db } from '../../db/client.js';
import type { Actor } from '../../db/repositories/actor.js';
import { gridOperatorsWithConnections, requestRun, unfinishedRuns } from '../../db/repositories/allocation-runs.js';
import type { Config } from '../../lib/config.js';
import { AMSTERDAM } from '../../domain/allocation.js';
import { upsertSchedule } from '../schedules.js';
import { allocationScheduleId, type DailyAllocationInput } from '../../workflows/shared.js';

const SCHEDULE_ACTOR: Actor = { actor: 'schedule:allocation-daily', actorRole: 'system', actorPartyId: null };
/** A requested run whose workflow has not finished it within this time is started again by the Schedule. */
const RECOVER_AFTER_MS = 10 * 60_000;

export interface ScheduledRun {
  runId: string;
  gridOperatorId: string;
  version: number;
  created: boolean;
}

/**
 * The day's run of every grid operator with connections (version 1, once however often the Schedule fires),
 * plus the unfinished older runs: those the daily workflow starts.
 */
export async function requestScheduledAllocationRuns(
  db: Db,
  input: { day: string; at?: string },
  now = new Date(),
): Promise<ScheduledRun[]> {
  // `at`: the Schedule's time (the workflow's clock), by which the day must have ended (AL-1); a workflow started
  // before it was passed gives none: this clock then.
  const at = input.at ? new Date(input.at) : now;
  const out: ScheduledRun[] = [];
  for (const gridOperatorId of await gridOperatorsWithConnections(db)) {
    const { run, created } = await requestRun(
      db,
      SCHEDULE_ACTOR,
      {
        gridOperatorId,
        day: input.day,
        trigger: 'schedule',
        requestKey: `schedule:${gridOperatorId}:${input.day}`,
        reason: 'daily allocation after the read-out',
      },
      at,
    );
    if (run.status === 'requested' || run.status === 'running' || created)
      out.push({ runId: run.id, gridOperatorId: run.gridOperatorId, version: run.version, created });
  }
  for (const run of await unfinishedRuns(db, new Date(now.getTime() - RECOVER_AFTER_MS))) {
    if (!out.some((r) => r.runId === run.id))
      out.push({ runId: run.id, gridOperatorId: run.gridOperatorId, version: run.version, created: false });
  }
  return out;
}

export async function ensureAllocationSchedule(
  client: Client,
  config: Pick<Config, 'allocation' | 'temporal'>,
  logger: Logger,
): Promise<'created' | 'updated'> {
  const scheduleId = allocationScheduleId(config.temporal.taskQueue);
  const { hour, minute } = config.allocation.scheduleAt;
  const args: [DailyAllocationInput] = [{ daysBack: 1 }];
  const spec = { calendars: [{ hour, minute }], timezone: AMSTERDAM };
  const taskQueue = config.temporal.taskQueue;
  const workflowType = 'dailyAllocationWorkflow';
  const done = await upsertSchedule(client, {
    scheduleId,
    spec,
    workflowType,
    taskQueue,
    args,
    catchupWindow: '1 day',
  });
  if (done === 'created') logger.info({ scheduleId, hour, minute }, 'allocation schedule created');
  return done;
}
