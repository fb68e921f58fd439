/**
 * GT-5: improvement review of a repeat offender, on behalf of all grid operators. The party is contacted,
 * a follow-up period runs, and when the signals have not decreased the ACM report is prepared and sent.
 * "Decreased" compares signal rates (signals per day) of the follow-up period and the scan window that
 * opened the review, so windows of different length compare fairly.
 */
import { log, proxyActivities, setHandler, sleep, upsertSearchAttributes } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import { DB_RETRY, MAIL_ACTIVITY, MAIL_RETRY } from './activity-options.js';
import {
  SA,
  reviewStateQuery,
  type ImprovementReviewInput,
  type ImprovementReviewResult,
  type ReviewOutcome,
} from './shared.js';

type Activities = ReturnType<typeof createActivities>;
// A review runs for weeks (GT-5): its database steps may back off as far as mail does.
const db = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { ...DB_RETRY, maximumInterval: MAIL_RETRY.maximumInterval },
});
const mail = proxyActivities<Activities>(MAIL_ACTIVITY);

const DAY_MS = 86_400_000;

export function signalsDecreased(input: {
  signalsAtOpen: number;
  windowDays: number;
  signalsAfterFollowUp: number;
  followUpDays: number;
}): boolean {
  return input.signalsAfterFollowUp / input.followUpDays < input.signalsAtOpen / input.windowDays;
}

export async function improvementReviewWorkflow(input: ImprovementReviewInput): Promise<ImprovementReviewResult> {
  let status = 'contacting';
  let followUpUntil: Date | null = null;
  setHandler(reviewStateQuery, () => ({
    reviewId: input.reviewId,
    status,
    followUpUntil: followUpUntil ? followUpUntil.toISOString() : null,
  }));
  upsertSearchAttributes([
    { key: SA.CaseKind, value: 'improvement_review' },
    { key: SA.PartyGln, value: input.partyGln },
    { key: SA.CaseStatus, value: status },
  ]);

  await mail.sendReviewContact({ reviewId: input.reviewId });
  // Contacted when the workflow sees the mail sent; the follow-up period runs from that moment.
  const followUpFrom = new Date(Date.now());
  followUpUntil = new Date(followUpFrom.getTime() + input.followUpDays * DAY_MS);
  await db.startReviewFollowUp({
    reviewId: input.reviewId,
    contactedAt: followUpFrom.toISOString(),
    followUpFrom: followUpFrom.toISOString(),
    followUpUntil: followUpUntil.toISOString(),
  });
  status = 'follow_up';
  upsertSearchAttributes([
    { key: SA.CaseStatus, value: status },
    { key: SA.NextDeadline, value: followUpUntil },
  ]);

  await sleep(followUpUntil.getTime() - Date.now());

  const signalsAfterFollowUp = await db.countPartySignals({
    partyId: input.partyId,
    from: followUpFrom.toISOString(),
    to: followUpUntil.toISOString(),
  });
  const outcome: ReviewOutcome = signalsDecreased({ ...input, signalsAfterFollowUp }) ? 'improved' : 'reported_to_acm';
  if (outcome === 'reported_to_acm') {
    await mail.reportReviewToAcm({
      reviewId: input.reviewId,
      signalsAfterFollowUp,
      at: new Date(Date.now()).toISOString(),
    });
  }
  await db.closeReview({
    reviewId: input.reviewId,
    outcome,
    signalsAfterFollowUp,
    at: new Date(Date.now()).toISOString(),
  });
  status = outcome;
  upsertSearchAttributes([
    { key: SA.CaseStatus, value: status },
    { key: SA.NextDeadline, value: null },
  ]);
  log.info('improvement review closed', { reviewId: input.reviewId, outcome, signalsAfterFollowUp });
  return { reviewId: input.reviewId, outcome, signalsAtOpen: input.signalsAtOpen, signalsAfterFollowUp };
}
