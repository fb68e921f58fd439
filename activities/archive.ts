/**
 * Compliance archive: the complete Temporal history of a closed case, kept in PostgreSQL beyond the
 * namespace retention (24 hours on the dev server). Run by the archive child workflow; throws (and is
 * retried) while the case run is still closing.
 */
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { startWorkflowOnce } from '../lib/infra/start-workflow-once.js';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { sql } from 'drizzle-orm';
import { recordAudit } from '../db/repositories/audit.js';
import { caseHistoryArchives } from '../db/schema/index.js';
import { archiveWorkflowId } from '../workflows/shared.js';
import type { ActivityDeps } from './deps.js';

export function archiveActivities({ db, temporalClient }: ActivityDeps) {
  return {
    /**
     * Start the archive workflow for a closing case: an independent workflow (not a child, so nothing
     * has to notify a parent that has already closed), idempotent by its workflow id.
     */
    async scheduleHistoryArchive(input: {
      caseId: string;
      workflowId: string;
      runId: string;
    }): Promise<{ started: boolean }> {
      if (!temporalClient) {
        log.warn('no Temporal client configured: case history not archived', { caseId: input.caseId });
        return { started: false };
      }
      const started = await startWorkflowOnce(temporalClient, 'archiveCaseHistoryWorkflow', {
        workflowId: archiveWorkflowId(input.caseId),
        taskQueue: Context.current().info.taskQueue,
        args: [input],
      });
      return { started };
    },

    async archiveCaseHistory(input: {
      caseId: string;
      workflowId: string;
      runId: string;
    }): Promise<{ eventCount: number }> {
      if (!temporalClient)
        throw ApplicationFailure.nonRetryable('no Temporal client configured for archiving', 'ArchiveUnavailable');
      const handle = temporalClient.workflow.getHandle(input.workflowId, input.runId);
      const description = await handle.describe();
      if (description.status.name === 'RUNNING') {
        throw ApplicationFailure.retryable(`case workflow ${input.workflowId} is still running`, 'StillRunning');
      }
      const history = await handle.fetchHistory();
      const json = JSON.parse(historyToJSON(history)) as Record<string, unknown>;
      const eventCount = history.events?.length ?? 0;
      await db.transaction(async (tx) => {
        await tx
          .insert(caseHistoryArchives)
          .values({ caseId: input.caseId, eventCount, history: json })
          .onConflictDoUpdate({
            target: caseHistoryArchives.caseId,
            set: { eventCount, history: json, archivedAt: sql`now()` },
          });
        await recordAudit(tx, {
          actor: `workflow:${input.caseId}`,
          actorRole: 'system',
          action: 'case.history_archived',
          entityType: 'case',
          entityId: input.caseId,
          data: { runId: input.runId, eventCount, workflowStatus: description.status.name },
        });
      });
      log.info('case history archived', { caseId: input.caseId, eventCount });
      return { eventCount };
    },
  };
}
