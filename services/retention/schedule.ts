/**
 * The daily retention purge Schedule (DC-9): every day at RETENTION_SCHEDULE_AT (Europe/Amsterdam)
 * `retentionPurgeWorkflow` removes what is past its retention period. Created once per task queue, updated to the
 * configured time and periods on every later worker start.
 */
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Config } from '../../lib/config.js';
import { AMSTERDAM } from '../../domain/allocation.js';
import { upsertSchedule } from '../schedules.js';
import { retentionScheduleId, type RetentionPurgeInput } from '../../workflows/retention-shared.js';

export async function ensureRetentionSchedule(
  client: Client,
  config: Pick<Config, 'retention' | 'temporal'>,
  logger: Logger,
): Promise<'created' | 'updated'> {
  const scheduleId = retentionScheduleId(config.temporal.taskQueue);
  const { scheduleAt, batchRows, batchCases, ...days } = config.retention;
  const args: [RetentionPurgeInput] = [
    {
      periods: {
        caseDays: days.caseDays,
        supplierReportDays: days.supplierReportDays,
        accessRegisterDays: days.accessRegisterDays,
        readingDays: days.readingDays,
        auditDetailsDays: days.auditDetailsDays,
      },
      batchRows,
      batchCases,
    },
  ];
  const spec = { calendars: [{ hour: scheduleAt.hour, minute: scheduleAt.minute }], timezone: AMSTERDAM };
  // A purge still running when the next is due is not doubled (upsertSchedule's overlap policy).
  const done = await upsertSchedule(client, {
    scheduleId,
    spec,
    workflowType: 'retentionPurgeWorkflow',
    taskQueue: config.temporal.taskQueue,
    args,
    catchupWindow: '1 day',
  });
  if (done === 'created') logger.info({ scheduleId, ...scheduleAt, ...args[0] }, 'retention purge schedule created');
  return done;
}
