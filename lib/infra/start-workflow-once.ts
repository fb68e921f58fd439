import type { Client, WorkflowStartOptions } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';

/**
 * Start a workflow whose id makes it unique (case id, review id, report id); "already started" is
 * success, so every caller — intake, recovery at worker start, retried activities — is idempotent.
 * Returns whether this call started it.
 */
export async function startWorkflowOnce(
  client: Client,
  workflowType: string,
  options: WorkflowStartOptions,
): Promise<boolean> {
  try {
    await client.workflow.start(workflowType, { workflowIdReusePolicy: 'REJECT_DUPLICATE', ...options });
    return true;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw err;
  }
}
