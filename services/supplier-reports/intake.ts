/**
 * GT-9 / GT-10: register a supplier-side report, then let the supplier-report workflow mail the grid
 * operator's doubt contact group (retried by Temporal while SMTP is down). Throws DomainErrors only.
 */
import type { Client } from '@temporalio/client';
import type { Db } from '../../db/client.js';
import {
  createSupplierReport,
  markNotificationStarted,
  type SupplierReportInput,
} from '../../db/repositories/supplier-reports.js';
import type { SupplierReport } from '../../db/schema/index.js';
import { supplierReportWorkflowId } from '../../workflows/shared.js';
import { INTAKE_WORKFLOW_BOUND_S } from '../recovery/intake-bound.js';
import { requireTemporal, startWorkflowOnce, temporalUnavailable } from '../workflow-client.js';

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
  const client = requireTemporal(deps.temporal);
  const row = await createSupplierReport(deps.db, input);
  try {
    await startSupplierReportWorkflow(deps.db, client, deps.taskQueue, row.id);
  } catch (err) {
    throw temporalUnavailable(
      `The report is registered, but the grid operator could not be informed yet; a running worker informs it within ${INTAKE_WORKFLOW_BOUND_S} s of the workflow engine answering again (do not report again)`,
      { reportId: row.id },
      err,
    );
  }
  return row;
}
