/**
 * Archives a closed case's complete Temporal history into PostgreSQL (compliance: Temporal deletes
 * closed workflows after the namespace retention). Started (by an activity of the case workflow, as an
 * independent workflow) just before the case completes; its activity waits until the case run has closed,
 * so the archive holds every event, including the completion, and is replayable.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';

const { archiveCaseHistory } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '2 minutes',
  // "Still running" is an ordinary retry: the case run closes moments after starting this child.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes', nonRetryableErrorTypes: ['DomainError'] },
});

export interface ArchiveInput {
  caseId: string;
  workflowId: string;
  runId: string;
}

export async function archiveCaseHistoryWorkflow(input: ArchiveInput): Promise<{ eventCount: number }> {
  return archiveCaseHistory(input);
}
