/**
 * GT-9 / GT-10: register a supplier-side report, then let the supplier-report workflow mail the grid
 * operator's doubt contact group (retried by Temporal while SMTP is down). Throws DomainErrors only.
 */
import type { Client } from '@temporalio/client';
import { startWorkflowOnce } from '../../lib/infra/start-workflow-once.js';
import type { Db } from '../../db/client.js';
import {
  createSupplierReport,
  markNotificationStarted,
  type SupplierReportInput,
} from '../../db/repositories/supplier-reports.js';
import type { SupplierReport } from '../../db/schema/index.js';
import { DomainError } from '../../lib/errors.js';
import { supplierReportWorkflowId } from '../../workflows/shared.js';
import { INTAKE_WORKFLOW_BOUND_S } from '../recovery/intake-bound.js';

export interface SupplierReportServiceDeps {
  db: Db;
  temporal: Client | undefined;
  taskQueue: string;
}

/**
 * Start (or find started) the workflow that informs the grid operator; idempotent per report (workflow id
 * supplierReportWorkflowId). Marks the report once its workflow is known to run, so the worker's start-up
 * recovery (services/recovery/sweep.ts) only picks up reports whose start failed.
 */
export async function startSupplierReportWorkflow(
  db: Db,
  client: Client,
  taskQueue: string,
  reportId: string,
): Promise<void> {
  await startWorkflowOnce(client, 'supplierReportWorkflow', {
    workflowId: supplierReportWorkflowId(reportId),
    taskQueue,
    args: [{ reportId }],
  });
  await markNotificationStarted(db, reportId, new Date());
}

export async function reportSupplierSignal(
  deps: SupplierReportServiceDeps,
  input: SupplierReportInput,
): Promise<SupplierReport> {
  if (!deps.temporal)
    throw new DomainError('unavailable', 'temporal_unavailable', 'The workflow engine is not configured');
  const row = await createSupplierReport(deps.db, input);
  try {
    await startSupplierReportWorkflow(deps.db, deps.temporal, deps.taskQueue, row.id);
  } catch (err) {
    throw new DomainError(
      'unavailable',
      'temporal_unavailable',
      `The report is registered, but the grid operator could not be informed yet; a running worker informs it within ${INTAKE_WORKFLOW_BOUND_S} s of the workflow engine answering again (do not report again)`,
      undefined,
      { reportId: row.id },
      { cause: err },
    );
  }
  return row;
}
