/**
 * GT-5: run by a Temporal Schedule. Counts signals per party across all grid operators over a rolling
 * window; a party with a group of similar signals (same classification) at or above the threshold, without
 * an open review, gets a proposal (its own workflow) that the grid operators involved vote on.
 * Idempotent: the database allows one open review per party, and a review whose workflow already runs
 * is left alone, so overlapping or repeated scans never open a second review.
 */
import { log, proxyActivities, uuid4 } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import { DB_RETRY } from './activity-options.js';
import type { RepeatOffenderScanInput, RepeatOffenderScanResult } from './shared.js';

// A scheduled scan: it counts over all parties (more time per attempt) and gives up after 10 attempts,
// since the next scheduled run scans again.
const db = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '2 minutes',
  retry: { ...DB_RETRY, maximumAttempts: 10 },
});

const DEFAULT_VOTING_DAYS = 30;

export async function repeatOffenderScanWorkflow(input: RepeatOffenderScanInput): Promise<RepeatOffenderScanResult> {
  const scannedAt = new Date(Date.now());
  const offenders = await db.findRepeatOffenders({
    at: scannedAt.toISOString(),
    windowDays: input.windowDays,
    threshold: input.threshold,
  });
  const result: RepeatOffenderScanResult['offenders'] = [];
  for (const o of offenders) {
    const review = await db.openImprovementReview({
      reviewId: uuid4(),
      partyId: o.partyId,
      at: scannedAt.toISOString(),
      windowDays: input.windowDays,
      followUpDays: input.followUpDays,
      threshold: input.threshold,
      votingDays: input.votingDays ?? DEFAULT_VOTING_DAYS,
      agreementRule: input.agreementRule ?? 'majority',
    });
    // An independent workflow (it outlives this scan by the follow-up period), idempotent by its id.
    const { started } = await db.startImprovementReview({
      reviewId: review.reviewId,
      partyId: o.partyId,
      partyGln: o.partyGln,
      signalsAtOpen: review.signalsAtOpen,
      windowDays: review.windowDays,
      followUpDays: review.followUpDays,
      threshold: review.threshold,
      operatorsInvolved: review.operatorsInvolved,
      agreementRule: review.agreementRule,
      votingUntil: review.votingUntil,
    });
    if (started)
      log.info('improvement review proposed', { partyId: o.partyId, reviewId: review.reviewId, signals: o.signals });
    result.push({ partyId: o.partyId, signals: o.signals, reviewId: review.reviewId });
  }
  return { scannedAt: scannedAt.toISOString(), offenders: result };
}
