/**
 * The daily Schedule that creates the access register's months ahead (DC-1; domain/register-partitions.ts):
 * `registerPartitionsWorkflow` every day at 00:30 Europe/Amsterdam. Months exist REGISTER_MONTHS_AHEAD ahead, so
 * the time of day matters little: two months of missed runs would pass before a month were missing. Created once
 * per task queue, updated on every later worker start (upsertSchedule).
 */
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Config } from '../../lib/config.js';
import { AMSTERDAM } from '../../domain/allocation.js';
import { upsertSchedule } from '../schedules.js';
import { registerPartitionsScheduleId } from '../../workflows/register-partitions-shared.js';

export const REGISTER_PARTITIONS_AT = { hour: 0, minute: 30 };

export async function ensureRegisterPartitionsSchedule(
  client: Client,
  config: Pick<Config, 'temporal'>,
  logger: Logger,
): Promise<'created' | 'updated'> {
  const scheduleId = registerPartitionsScheduleId(config.temporal.taskQueue);
  const done = await upsertSchedule(client, {
    scheduleId,
    spec: {
      calendars: [{ hour: REGISTER_PARTITIONS_AT.hour, minute: REGISTER_PARTITIONS_AT.minute }],
      timezone: AMSTERDAM,
    },
    workflowType: 'registerPartitionsWorkflow',
    taskQueue: config.temporal.taskQueue,
    args: [],
    catchupWindow: '1 day',
  });
  if (done === 'created')
    logger.info({ scheduleId, ...REGISTER_PARTITIONS_AT }, 'register partitions schedule created');
  return done;
}
