/**
 * DC-1: the access register's months are created ahead of the clock (domain/register-partitions.ts). Started daily
 * by its Schedule (services/register/schedule.ts); one activity, idempotent, so a retried or repeated run creates
 * only what is still missing. The run's start is the instant the months are counted from.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import { DB_RETRY } from './activity-options.js';
import type { RegisterPartitionsResult } from './register-partitions-shared.js';

// An hour: the run may compact a closed month (services/register/partitions.ts compactClosedRegisterMonths: a
// month of ~17 M rows is copied, sorted, indexed and vacuumed in minutes), one month a run at most.
const db = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '1 hour',
  retry: { ...DB_RETRY, maximumAttempts: 10 },
});

export async function registerPartitionsWorkflow(): Promise<RegisterPartitionsResult> {
  const asOf = new Date(Date.now()).toISOString();
  const r = await db.ensureRegisterPartitions({ asOf });
  return { asOf, ...r };
}
