/**
 * The worker's Temporal Schedules (daily allocation AL-3, the GT-5 repeat-offender scan, the DC-9 retention purge):
 * created once per task queue, and brought to the configured spec and action on every later worker start.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptionsAction,
  type ScheduleSpec,
} from '@temporalio/client';

export interface ScheduledWorkflow {
  scheduleId: string;
  spec: ScheduleSpec;
  workflowType: string;
  taskQueue: string;
  args: unknown[];
  /** How late a missed run (worker or server down) may still start when the Schedule resumes. */
  catchupWindow: '1 hour' | '1 day';
}

/** Creates the Schedule, or updates its spec and action when it exists; a run still going is never doubled. */
export async function upsertSchedule(client: Client, s: ScheduledWorkflow): Promise<'created' | 'updated'> {
  // The Schedule suffixes the workflow id with the scheduled time: every run has its own id.
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow',
    workflowType: s.workflowType,
    workflowId: s.scheduleId,
    taskQueue: s.taskQueue,
    args: s.args,
  };
  try {
    await client.schedule.create({
      scheduleId: s.scheduleId,
      spec: s.spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: s.catchupWindow },
    });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(s.scheduleId).update((prev) => ({ ...prev, spec: s.spec, action }));
    return 'updated';
  }
}
