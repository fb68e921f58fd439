/**
 * GT-5 repeat offenders: the activities of the scan and of the improvement review, one service call each
 * (services/reviews/: signals.ts counts, steps.ts records the review's steps, mail.ts sends its two mails).
 * Names and payloads are those of the recorded histories. Database steps are idempotent; the mails heartbeat
 * while SMTP is pending (MAIL_ACTIVITY).
 */
import { Context } from '@temporalio/activity';
import { reportReviewToAcm, sendReviewContact, type ReviewAcmReportInput } from '../services/reviews/mail.js';
import { countPartySignals, findRepeatOffenders, type RepeatOffenderQuery } from '../services/reviews/signals.js';
import {
  closeReview,
  markReviewAgreed,
  openImprovementReview,
  putReviewFiguresToOperators,
  recordReviewCommitment,
  recordReviewDecision,
  recordReviewVote,
  startImprovementReview,
  startReviewFollowUp,
  type OpenReviewInput,
} from '../services/reviews/steps.js';
import type { ImprovementReviewInput } from '../workflows/shared.js';
import type { ActivityDeps } from './deps.js';
import { heartbeatingMailer } from './notifications.js';

type Input<F extends (deps: never, input: never) => unknown> = Parameters<F>[1];

export function reviewActivities({ db, mailer, config, temporalClient }: ActivityDeps) {
  const mail = { db, mailer: heartbeatingMailer(mailer), config };
  return {
    findRepeatOffenders: async (input: RepeatOffenderQuery) => findRepeatOffenders(db, input),
    openImprovementReview: async (input: OpenReviewInput) => openImprovementReview(db, input),
    startImprovementReview: async (input: ImprovementReviewInput) =>
      startImprovementReview(temporalClient, Context.current().info.taskQueue, input),
    recordReviewVote: async (input: Input<typeof recordReviewVote>) => recordReviewVote(db, input),
    markReviewAgreed: async (input: Input<typeof markReviewAgreed>) => markReviewAgreed(db, input),
    sendReviewContact: async (input: { reviewId: string }) => sendReviewContact(mail, input),
    startReviewFollowUp: async (input: Input<typeof startReviewFollowUp>) => startReviewFollowUp(db, input),
    recordReviewCommitment: async (input: Input<typeof recordReviewCommitment>) => recordReviewCommitment(db, input),
    countPartySignals: async (input: Input<typeof countPartySignals>) => countPartySignals(db, input),
    putReviewFiguresToOperators: async (input: Input<typeof putReviewFiguresToOperators>) =>
      putReviewFiguresToOperators(db, input),
    recordReviewDecision: async (input: Input<typeof recordReviewDecision>) => recordReviewDecision(db, input),
    reportReviewToAcm: async (input: ReviewAcmReportInput) => reportReviewToAcm(mail, input),
    closeReview: async (input: Input<typeof closeReview>) => closeReview(db, input),
  };
}
