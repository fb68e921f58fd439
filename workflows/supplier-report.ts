/** GT-9 / GT-10: tell the grid operator's doubt contact group about a supplier-side report (mail retried). */
import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';

const { sendSupplierReportNotice } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '30 seconds', backoffCoefficient: 2, maximumInterval: '30 minutes', nonRetryableErrorTypes: ['DomainError'] },
});

export async function supplierReportWorkflow(input: { reportId: string }): Promise<{ messageId: string | null }> {
  return sendSupplierReportNotice(input);
}
