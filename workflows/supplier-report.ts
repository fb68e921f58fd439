/** GT-9 / GT-10: tell the grid operator's doubt contact group about a supplier-side report (mail retried). */
import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import { MAIL_ACTIVITY } from './activity-options.js';

const { sendSupplierReportNotice } = proxyActivities<ReturnType<typeof createActivities>>(MAIL_ACTIVITY);

export async function supplierReportWorkflow(input: { reportId: string }): Promise<{ messageId: string | null }> {
  return sendSupplierReportNotice(input);
}
