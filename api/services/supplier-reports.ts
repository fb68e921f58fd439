/**
 * GT-9 / GT-10: register a supplier-side report, then let the supplier-report workflow mail the grid
 * operator's doubt contact group (retried by Temporal while SMTP is down). Throws DomainErrors only.
 */
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Db } from '../../db/client.js';
import { createSupplierReport, type SupplierReportInput } from '../../db/repositories/supplier-reports.js';
import type { SupplierReport } from '../../db/schema/index.js';
import { DomainError } from '../../lib/errors.js';
import { supplierReportWorkflowId } from '../../workflows/shared.js';

export interface SupplierReportServiceDeps {
  db: Db;
  temporal: Client | undefined;
  taskQueue: string;
}

/** Start (or find started) the workflow that informs the grid operator; idempotent per report. */
export async function startSupplierReportWorkflow(client: Client, taskQueue: string, reportId: string): Promise<void> {
  try {
    await client.workflow.start('supplierReportWorkflow', {
      workflowId: supplierReportWorkflowId(reportId),
      taskQueue,
      args: [{ reportId }],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

export async function reportSupplierSignal(deps: SupplierReportServiceDeps, input: SupplierReportInput): Promise<SupplierReport> {
  if (!deps.temporal) throw new DomainError('unavailable', 'temporal_unavailable', 'The workflow engine is not configured');
  const row = await createSupplierReport(deps.db, input);
  try {
    await startSupplierReportWorkflow(deps.temporal, deps.taskQueue, row.id);
  } catch (err) {
    throw new DomainError(
      'unavailable',
      'temporal_unavailable',
      'The report is registered, but the grid operator could not be informed yet; it has been logged for follow-up',
      undefined,
      { reportId: row.id },
      { cause: err },
    );
  }
  return row;
}
