/**
 * Compliance archive: the complete Temporal history of a closed case, kept in PostgreSQL beyond the
 * namespace retention (24 hours on the dev server). Run by the archive workflow, started by the closing
 * case workflow; refuses with ARCHIVE_STILL_RUNNING while the case run is still closing (its activity retries).
 * Kept decrypted (the operator's own database, under the DC-9 case retention): the archive stays readable, and
 * replayable, after the payload key it was written under is retired (docs/operations.md, "Encrypted payloads").
 */
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { recordAudit } from '../../db/repositories/audit.js';
import { saveCaseHistoryArchive } from '../../db/repositories/case-history-archives.js';
import { startWorkflowOnce } from '../../lib/infra/start-workflow-once.js';
import { DomainError } from '../../lib/errors.js';
import { decodeHistoryJson } from '../../lib/infra/payload-codec.js';
import { archiveWorkflowId } from '../../workflows/shared.js';
import type { StepDeps } from '../step-deps.js';

/** The case run has not closed yet: archiving again shortly mends it. */
export const ARCHIVE_STILL_RUNNING = 'case_run_not_closed';
/** This process has no Temporal client: nothing to archive from, however often it is tried. */
export const ARCHIVE_UNAVAILABLE = 'archive_unavailable';

export interface ArchiveInput {
  caseId: string;
  workflowId: string;
  runId: string;
}

type ArchiveDeps = Pick<StepDeps, 'db' | 'temporalClient' | 'log'>;

/**
 * Start the archive workflow for a closing case: an independent workflow (not a child, so nothing has to
 * notify a parent that has already closed), idempotent by its workflow id.
 */
export async function scheduleHistoryArchive(
  { temporalClient, log }: ArchiveDeps,
  input: ArchiveInput,
  taskQueue: string,
): Promise<{ started: boolean }> {
  if (!temporalClient) {
    log.warn('no Temporal client configured: case history not archived', { caseId: input.caseId });
    return { started: false };
  }
  const started = await startWorkflowOnce(temporalClient, 'archiveCaseHistoryWorkflow', {
    workflowId: archiveWorkflowId(input.caseId),
    taskQueue,
    args: [input],
  });
  return { started };
}

/** The case run's whole history into the archive (replacing an earlier copy), with its audit entry. */
export async function archiveCaseHistory(
  { db, temporalClient, log }: ArchiveDeps,
  input: ArchiveInput,
): Promise<{ eventCount: number }> {
  if (!temporalClient)
    throw new DomainError('unavailable', ARCHIVE_UNAVAILABLE, 'no Temporal client configured for archiving');
  const handle = temporalClient.workflow.getHandle(input.workflowId, input.runId);
  const description = await handle.describe();
  if (description.status.name === 'RUNNING')
    throw new DomainError('state', ARCHIVE_STILL_RUNNING, `case workflow ${input.workflowId} is still running`);
  const history = await handle.fetchHistory();
  const json = await decodeHistoryJson(
    JSON.parse(historyToJSON(history)) as Record<string, unknown>,
    temporalClient.options.loadedDataConverter.payloadCodecs,
  );
  const eventCount = history.events?.length ?? 0;
  await db.transaction(async (tx) => {
    await saveCaseHistoryArchive(tx, { caseId: input.caseId, eventCount, history: json });
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
}
