/**
 * Archives a closed case's complete Temporal history into PostgreSQL (compliance: Temporal deletes
 * closed workflows after the namespace retention). Started (by an activity of the case workflow, as an
 * independent workflow) just before the case completes; its activity waits until the case run has closed,
 * so the archive holds every event, including the completion, and is replayable.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import { DB_RETRY } from './activity-options.js';

const { archiveCaseHistory } = proxyActivities<ReturnType<typeof createActivities>>({
  // Exports a whole history: more time per attempt. "Still running" is an ordinary retry: the case run
  // closes moments after starting this workflow, so the backoff may grow further than for row writes.
  startToCloseTimeout: '2 minutes',
  retry: { ...DB_RETRY, maximumInterval: '5 minutes' },
});

export interface ArchiveInput {
  caseId: string;
  workflowId: string;
  runId: string;
}

export async function archiveCaseHistoryWorkflow(input: ArchiveInput): Promise<{ eventCount: number }> {
  return archiveCaseHistory(input);
}
