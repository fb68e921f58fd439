/**
 * Mail activities (GT-1, GT-5, GT-6, GT-9, GT-10). A failed SMTP send throws and Temporal retries it
 * with backoff (policy in the workflows). Message-IDs are stable per notification, so a send that is
 * repeated after an ambiguous failure can be recognised as the same message by the recipient.
 */
import { ApplicationFailure } from '@temporalio/common';
import { and, asc, eq, isNull } from 'drizzle-orm';
import { recordAudit } from '../db/repositories/audit.js';
import { doubtContacts } from '../db/repositories/contacts.js';
import {
  acmNotifications,
  caseResponses,
  doubtCases,
  evidenceRequests,
  improvementReviews,
  reviewSignals,
  parties,
} from '../db/schema/index.js';
import { invalidState, notFound } from '../lib/errors.js';
import { responseDeadline, type OutcomeKind } from '../domain/case.js';
import {
  contactAlertMail,
  contactRequestMail,
  evidenceRequestMail,
  judgementReminderMail,
  outcomeMail,
  reviewAcmReportMail,
  reviewContactMail,
  supplierReportMail,
  type CaseMailData,
  type OutcomeMailKind,
} from '../notifications/templates.js';
import { sendContactEmail, type ContactMailInput } from '../services/cases/contact.js';
import { reportCaseToAcm, type CaseAcmReportInput, type CaseAcmReportResult } from '../services/cases/acm-report.js';
import * as caseMail from '../services/cases/mail.js';
import { messageId, NO_DOUBT_CONTACTS } from '../services/cases/mail.js';
import * as supplierReports from '../services/supplier-reports/notice.js';
import { currentAttempt, heartbeatingMailer, stepDeps, type ActivityDeps } from './deps.js';
import { failingAs } from './failures.js';

export function notificationActivities({ db, mailer: smtp, config }: ActivityDeps) {
  const mailer = heartbeatingMailer(smtp);
  const msgId = (key: string) => messageId(mailer, key);
  const deps = stepDeps({ db, mailer: smtp, config });

  async function recipients(partyId: string): Promise<string[]> {
    return (await doubtContacts(db, partyId)).map((c) => c.email);
  }

  /**
   * The party's doubt contact group (GT-10), or a retryable failure: the party may add its contacts to the CPR
   * meanwhile, and the GT-1 alert covers the wait.
   */
  async function partyRecipients(party: { id: string; name: string }): Promise<string[]> {
    const to = await recipients(party.id);
    if (to.length === 0) {
      throw ApplicationFailure.retryable(
        `${party.name} has no contacts in the "Gerede twijfel Klantmandaat" group (GT-10)`,
        'NoDoubtContacts',
      );
    }
    return to;
  }

  /** GT-10: a party without doubt contacts may fill its group: the mail is retried (NoDoubtContacts). */
  const retriedWithoutContacts = <A extends unknown[], R>(step: (...args: A) => Promise<R>) =>
    failingAs({ [NO_DOUBT_CONTACTS]: { type: 'NoDoubtContacts', retryable: true } }, step);

  return {
    /**
     * GT-1 / GT-10 (services/cases/contact.ts): every attempt counted on the case, the stated reply-by instant
     * fixed before the first send (GT-3); retried by MAIL_RETRY, a party without doubt contacts included.
     */
    sendContactEmail: retriedWithoutContacts((input: ContactMailInput) =>
      sendContactEmail(deps, input, currentAttempt()),
    ),
    /** GT-3: the handler's request for more or other evidence; retried like the contact mail. */
    sendEvidenceRequestEmail: retriedWithoutContacts((input: caseMail.EvidenceRequestMailInput) =>
      caseMail.sendEvidenceRequestEmail(deps, input, currentAttempt()),
    ),
    sendContactAlert: (input: caseMail.ContactAlertInput) => caseMail.sendContactAlert(deps, input),
    remindJudgement: (input: caseMail.JudgementReminderInput) => caseMail.remindJudgement(deps, input),
    sendOutcomeEmail: (input: caseMail.OutcomeMailInput) => caseMail.sendOutcomeEmail(deps, input),
    /** GT-6: a case report to the ACM, recorded once per dedupe key (the same operation the case service runs after the workflow closed). */
    notifyAcm: (input: CaseAcmReportInput): Promise<CaseAcmReportResult> => reportCaseToAcm(deps, input),

    /** GT-9 / GT-10 (services/supplier-reports/notice.ts); the result is the recorded payload, exactly. */
    async sendSupplierReportNotice(input: { reportId: string }): Promise<{ messageId: string | null }> {
      const { messageId } = await supplierReports.sendSupplierReportNotice(deps, input);
      return { messageId };
    },

    /** GT-5: contact the party on behalf of all grid operators. */
    async sendReviewContact(input: { reviewId: string }): Promise<{ messageId: string }> {
      const [rv] = await db.select().from(improvementReviews).where(eq(improvementReviews.id, input.reviewId));
      if (!rv) throw notFound('review_not_found', `No improvement review ${input.reviewId}`);
      const [party] = await db.select().from(parties).where(eq(parties.id, rv.partyId));
      if (!party) throw notFound('party_not_found', 'party of review missing');
      const to = await partyRecipients(party);
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
        messageId: msgId(`review-${rv.id}-contact`),
        headers: { 'X-Improvement-Review-Id': rv.id },
      });
      return { messageId: sent.messageId };
    },

    /** GT-5: signals did not decrease: prepare and send the ACM report (once). */
    async reportReviewToAcm(input: {
      reviewId: string;
      signalsAfterFollowUp: number;
      at: string;
    }): Promise<{ notificationId: string }> {
      const dedupeKey = `review:${input.reviewId}:acm`;
      const [done] = await db.select().from(acmNotifications).where(eq(acmNotifications.dedupeKey, dedupeKey));
      if (done) return { notificationId: done.id };
      const [rv] = await db.select().from(improvementReviews).where(eq(improvementReviews.id, input.reviewId));
      if (!rv) throw notFound('review_not_found', `No improvement review ${input.reviewId}`);
      // GT-5: the ACM report is a decision of people: never sent without a signed decision to report.
      if (rv.decision !== 'report' || !rv.decidedByName || !rv.decidedAt || !rv.decisionReason)
        throw invalidState('review_report_not_signed', `Review ${rv.id} has no signed decision to report to the ACM`);
      const [party] = await db.select().from(parties).where(eq(parties.id, rv.partyId));
      if (!party) throw notFound('party_not_found', 'party of review missing');
      const followUpFrom = rv.followUpFrom ?? rv.openedAt;
      const followUpUntil = rv.followUpUntil ?? new Date(input.at);
      // The signals the grid operators agreed on (the proposal), not every case about the party.
      const signals = await db
        .select()
        .from(reviewSignals)
        .where(eq(reviewSignals.reviewId, rv.id))
        .orderBy(asc(reviewSignals.receivedAt));
      const report = {
        reviewId: rv.id,
        party: { id: party.id, gln: party.gln, name: party.name },
        signalsAtOpen: rv.signalsAtOpen,
        windowDays: rv.windowDays,
        signalsAfterFollowUp: input.signalsAfterFollowUp,
        followUpFrom: followUpFrom.toISOString(),
        followUpUntil: followUpUntil.toISOString(),
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
      const content = reviewAcmReportMail({
        reviewId: rv.id,
        partyName: party.name,
        partyGln: party.gln,
        signalsAtOpen: rv.signalsAtOpen,
        windowDays: rv.windowDays,
        followUpDays: rv.followUpDays,
        openedAt: rv.openedAt,
        signalsAfterFollowUp: input.signalsAfterFollowUp,
        followUpFrom,
        followUpUntil,
        signedBy: rv.decidedByName,
        signedAt: rv.decidedAt,
        reason: rv.decisionReason,
        commitment: rv.commitment,
      });
      const sent = await mailer.send({
        to: [config.acmReportEmail],
        ...content,
        messageId: msgId(dedupeKey),
        headers: { 'X-Improvement-Review-Id': rv.id },
      });
      const at = new Date(input.at);
      return db.transaction(async (tx) => {
        const [row] = await tx
          .insert(acmNotifications)
          .values({
            reviewId: rv.id,
            sentAt: at,
            sentBy: rv.decidedBy ?? `workflow:review:${rv.id}`,
            report,
            messageId: sent.messageId,
            dedupeKey,
            signalCount: input.signalsAfterFollowUp,
          })
          .onConflictDoNothing({ target: acmNotifications.dedupeKey })
          .returning();
        if (row) {
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
        }
        const [existing] = await tx.select().from(acmNotifications).where(eq(acmNotifications.dedupeKey, dedupeKey));
        return { notificationId: existing!.id };
      });
    },
  };
}
