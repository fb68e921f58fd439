/**
 * The daily allocation Schedule (AL-3): every day at ALLOCATION_SCHEDULE_AT (Europe/Amsterdam), after the
 * overnight read-out, `dailyAllocationWorkflow` allocates the previous day for every grid operator.
 * Created once per task queue, updated to the configured time on every later worker start.
 */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Config } from '../../lib/config.js';
import { AMSTERDAM } from '../../domain/allocation.js';
import { allocationScheduleId, type DailyAllocationInput } from '../../workflows/shared.js';

export async function ensureAllocationSchedule(
  client: Client,
  config: Pick<Config, 'allocation' | 'temporal'>,
  logger: Logger,
): Promise<'created' | 'updated'> {
  const scheduleId = allocationScheduleId(config.temporal.taskQueue);
  const { hour, minute } = config.allocation.scheduleAt;
  const args: [DailyAllocationInput] = [{ daysBack: 1 }];
  const spec = { calendars: [{ hour, minute }], timezone: AMSTERDAM };
  // The Schedule suffixes the workflow id with the scheduled time: one workflow per day.
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'dailyAllocationWorkflow',
    workflowId: scheduleId,
    taskQueue: config.temporal.taskQueue,
    args,
  };
  try {
    // A missed day (worker or server down) still runs when the Schedule resumes within a day.
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
    });
    logger.info({ scheduleId, hour, minute }, 'allocation schedule created');
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec, action }));
    return 'updated';
  }
}
