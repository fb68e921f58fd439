/**
 * GT-5 repeat offenders: the activities of the scan and of the improvement review, one service call each
 * (services/reviews/: signals.ts counts, steps.ts records the review's steps, mail.ts sends its two mails).
 * Names and payloads are those of the recorded histories. The database steps are idempotent; the mails
 * heartbeat while SMTP is pending (MAIL_ACTIVITY), and the party's contact is retried while its doubt
 * contact group is empty (GT-10).
 */
import { reportReviewToAcm, sendReviewContact, type ReviewAcmReportInput } from '../services/reviews/mail.js';
import { countPartySignals, findRepeatOffenders, type RepeatOffenderQuery } from '../services/reviews/signals.js';
import * as steps from '../services/reviews/steps.js';
import type { ImprovementReviewInput } from '../workflows/shared.js';
import { currentAttempt, stepDeps, type ActivityDeps } from './deps.js';
import { retriedWithoutContacts } from './failures.js';

/** The input of a service function taking its dependencies first. */
type Input<F extends (deps: never, input: never) => unknown> = Parameters<F>[1];

export function reviewActivities(activityDeps: ActivityDeps) {
  const { db, temporalClient } = activityDeps;
  // The mails' dependencies (a heartbeating mailer) when a mail is sent: the database steps need only `db`.
  const mail = () => stepDeps(activityDeps);
  return {
    findRepeatOffenders: (input: RepeatOffenderQuery) => findRepeatOffenders(db, input),
    openImprovementReview: (input: steps.OpenReviewInput) => steps.openImprovementReview(db, input),
    startImprovementReview: (input: ImprovementReviewInput) =>
      steps.startImprovementReview(temporalClient, currentAttempt().taskQueue, input),
    recordReviewVote: (input: Input<typeof steps.recordReviewVote>) => steps.recordReviewVote(db, input),
    markReviewAgreed: (input: Input<typeof steps.markReviewAgreed>) => steps.markReviewAgreed(db, input),
    sendReviewContact: retriedWithoutContacts((input: { reviewId: string }) => sendReviewContact(mail(), input)),
    startReviewFollowUp: (input: Input<typeof steps.startReviewFollowUp>) => steps.startReviewFollowUp(db, input),
    recordReviewCommitment: (input: Input<typeof steps.recordReviewCommitment>) =>
      steps.recordReviewCommitment(db, input),
    countPartySignals: (input: Input<typeof countPartySignals>) => countPartySignals(db, input),
    putReviewFiguresToOperators: (input: Input<typeof steps.putReviewFiguresToOperators>) =>
      steps.putReviewFiguresToOperators(db, input),
    recordReviewDecision: (input: Input<typeof steps.recordReviewDecision>) => steps.recordReviewDecision(db, input),
    reportReviewToAcm: (input: ReviewAcmReportInput) => reportReviewToAcm(mail(), input),
    closeReview: (input: Input<typeof steps.closeReview>) => steps.closeReview(db, input),
  };
}
