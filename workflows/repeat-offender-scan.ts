/**
 * GT-5: run by a Temporal Schedule. Counts signals per party across all grid operators over a rolling
 * window; a party at or above the threshold without an open review gets one (its own workflow).
 * Idempotent: the database allows one open review per party, and a review whose workflow already runs
 * is left alone, so overlapping or repeated scans never open a second review.
 */
import { ParentClosePolicy, log, proxyActivities, startChild, uuid4 } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { createActivities } from '../activities/index.js';
import { improvementReviewWorkflow } from './improvement-review.js';
import { reviewWorkflowId, type RepeatOffenderScanInput, type RepeatOffenderScanResult } from './shared.js';

const db = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10, nonRetryableErrorTypes: ['DomainError'] },
});

export async function repeatOffenderScanWorkflow(input: RepeatOffenderScanInput): Promise<RepeatOffenderScanResult> {
  const scannedAt = new Date(Date.now());
  const offenders = await db.findRepeatOffenders({ at: scannedAt.toISOString(), windowDays: input.windowDays, threshold: input.threshold });
  const result: RepeatOffenderScanResult['offenders'] = [];
  for (const o of offenders) {
    const review = await db.openImprovementReview({
      reviewId: uuid4(),
      partyId: o.partyId,
      at: scannedAt.toISOString(),
      windowDays: input.windowDays,
      followUpDays: input.followUpDays,
      threshold: input.threshold,
      signalsAtOpen: o.signals,
    });
    try {
      await startChild(improvementReviewWorkflow, {
        workflowId: reviewWorkflowId(review.reviewId),
        parentClosePolicy: ParentClosePolicy.ABANDON,
        args: [
          {
            reviewId: review.reviewId,
            partyId: o.partyId,
            partyGln: o.partyGln,
            signalsAtOpen: review.signalsAtOpen,
            windowDays: review.windowDays,
            followUpDays: review.followUpDays,
            threshold: review.threshold,
          },
        ],
      });
      log.info('improvement review opened', { partyId: o.partyId, reviewId: review.reviewId, signals: o.signals });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    result.push({ partyId: o.partyId, signals: o.signals, reviewId: review.reviewId });
  }
  return { scannedAt: scannedAt.toISOString(), offenders: result };
}
