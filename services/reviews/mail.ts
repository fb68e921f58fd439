/**
 * GT-5: the review's two mails. The party is contacted on behalf of all grid operators; the ACM is informed
 * only after a named person signed the decision to report, once per review (a dedupe key, and one Message-ID
 * for every attempt, so a send repeated after an ambiguous failure is recognisably the same message). Mail
 * first, then record: a transaction holds database work only.
 */
import { recordAudit } from '../../db/repositories/audit.js';
import { getPartyById } from '../../db/repositories/parties.js';
import {
  acmNotificationByKey,
  insertReviewAcmNotification,
  requireReviewRow,
  reviewSignalsOf,
} from '../../db/repositories/reviews.js';
import type { ImprovementReview, Party, ReviewSignal } from '../../db/schema/index.js';
import { invalidState, notFound } from '../../lib/errors.js';
import { reviewAcmReportMail, reviewContactMail } from '../../notifications/templates.js';
import { messageId, partyRecipients } from '../cases/mail.js';
import type { StepDeps } from '../step-deps.js';

export type ReviewMailDeps = Pick<StepDeps, 'db' | 'mailer' | 'config'>;

async function partyOf(db: StepDeps['db'], review: ImprovementReview): Promise<Party> {
  const party = await getPartyById(db, review.partyId);
  if (!party) throw notFound('party_not_found', 'party of review missing');
  return party;
}

/**
 * GT-5: contact the party's doubt contact group on behalf of all grid operators; a party without one is refused
 * with NO_DOUBT_CONTACTS (GT-10: it may fill its group, so the activity retries).
 */
export async function sendReviewContact(
  { db, mailer }: ReviewMailDeps,
  input: { reviewId: string },
): Promise<{ messageId: string }> {
  const rv = await requireReviewRow(db, input.reviewId);
  const party = await partyOf(db, rv);
  const to = await partyRecipients(db, party);
  const content = reviewContactMail({
    reviewId: rv.id,
    partyName: party.name,
    partyGln: party.gln,
    signalsAtOpen: rv.signalsAtOpen,
    windowDays: rv.windowDays,
    followUpDays: rv.followUpDays,
    openedAt: rv.openedAt,
  });
  const sent = await mailer.send({
    to,
    ...content,
    messageId: messageId(mailer, `review-${rv.id}-contact`),
    headers: { 'X-Improvement-Review-Id': rv.id },
  });
  return { messageId: sent.messageId };
}

export interface ReviewAcmReportInput {
  reviewId: string;
  signalsAfterFollowUp: number;
  at: string;
}

/** A review signed for the ACM: the decision's fields present (GT-5: never sent without them). */
type SignedReview = ImprovementReview & { decidedByName: string; decidedAt: Date; decisionReason: string };

function signed(rv: ImprovementReview): SignedReview {
  if (rv.decision !== 'report' || !rv.decidedByName || !rv.decidedAt || !rv.decisionReason)
    throw invalidState('review_report_not_signed', `Review ${rv.id} has no signed decision to report to the ACM`);
  return rv as SignedReview;
}

/** The report as recorded with the notification: the signals the grid operators agreed on, not every case. */
function acmReport(rv: SignedReview, party: Party, signals: ReviewSignal[], input: ReviewAcmReportInput) {
  return {
    reviewId: rv.id,
    party: { id: party.id, gln: party.gln, name: party.name },
    signalsAtOpen: rv.signalsAtOpen,
    windowDays: rv.windowDays,
    signalsAfterFollowUp: input.signalsAfterFollowUp,
    followUpFrom: (rv.followUpFrom ?? rv.openedAt).toISOString(),
    followUpUntil: (rv.followUpUntil ?? new Date(input.at)).toISOString(),
    signals: signals.map((x) => ({
      kind: x.kind,
      reference: x.reference,
      receivedAt: x.receivedAt.toISOString(),
      signalClass: x.signalClass,
      status: x.status,
    })),
    commitment: rv.commitment,
    decision: {
      reason: rv.decisionReason,
      signedBy: rv.decidedByName,
      signedByKey: rv.decidedBy,
      signedAt: rv.decidedAt.toISOString(),
    },
    rule: 'GT-5',
  };
}

/** GT-5: signals did not decrease and a named person signed: send the ACM report (once per review). */
export async function reportReviewToAcm(
  { db, mailer, config }: ReviewMailDeps,
  input: ReviewAcmReportInput,
): Promise<{ notificationId: string }> {
  const dedupeKey = `review:${input.reviewId}:acm`;
  const done = await acmNotificationByKey(db, dedupeKey);
  if (done) return { notificationId: done.id };
  const rv = signed(await requireReviewRow(db, input.reviewId));
  const party = await partyOf(db, rv);
  const report = acmReport(rv, party, await reviewSignalsOf(db, rv.id), input);
  const content = reviewAcmReportMail({
    reviewId: rv.id,
    partyName: party.name,
    partyGln: party.gln,
    signalsAtOpen: rv.signalsAtOpen,
    windowDays: rv.windowDays,
    followUpDays: rv.followUpDays,
    openedAt: rv.openedAt,
    signalsAfterFollowUp: input.signalsAfterFollowUp,
    followUpFrom: new Date(report.followUpFrom),
    followUpUntil: new Date(report.followUpUntil),
    signedBy: rv.decidedByName,
    signedAt: rv.decidedAt,
    reason: rv.decisionReason,
    commitment: rv.commitment,
  });
  const sent = await mailer.send({
    to: [config.acmReportEmail],
    ...content,
    messageId: messageId(mailer, dedupeKey),
    headers: { 'X-Improvement-Review-Id': rv.id },
  });
  const at = new Date(input.at);
  return db.transaction(async (tx) => {
    const row = await insertReviewAcmNotification(tx, {
      reviewId: rv.id,
      sentAt: at,
      sentBy: rv.decidedBy ?? `workflow:review:${rv.id}`,
      report,
      messageId: sent.messageId,
      dedupeKey,
      signalCount: input.signalsAfterFollowUp,
    });
    if (!row) {
      const existing = await acmNotificationByKey(tx, dedupeKey);
      if (!existing) throw new Error('ACM notification neither inserted nor found');
      return { notificationId: existing.id };
    }
    await recordAudit(tx, {
      actor: `workflow:review:${rv.id}`,
      actorRole: 'system',
      action: 'review.acm_reported',
      entityType: 'improvement_review',
      entityId: rv.id,
      data: { notificationId: row.id, rule: 'GT-5' },
      at,
    });
    return { notificationId: row.id };
  });
}
