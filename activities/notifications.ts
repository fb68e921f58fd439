/**
 * Mail activities (GT-1, GT-5, GT-6, GT-9, GT-10). A failed SMTP send throws and Temporal retries it
 * with backoff (policy in the workflows). Message-IDs are stable per notification, so a send that is
 * repeated after an ambiguous failure can be recognised as the same message by the recipient.
 */
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { and, asc, eq, isNull } from 'drizzle-orm';
import { recordAudit } from '../db/repositories/audit.js';
import {
  fixStatedResponseDue,
  getCaseWithParties,
  releaseStatedResponseDue,
  type CaseParties,
} from '../db/repositories/cases.js';
import { doubtContacts } from '../db/repositories/contacts.js';
import {
  acmNotifications,
  caseResponses,
  doubtCases,
  evidenceRequests,
  improvementReviews,
  reviewSignals,
  parties,
  supplierReports,
  type EvidenceRequest,
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
import { certainlyNotSent, type Mailer, type SentMail } from '../notifications/mailer.js';
import { reportCaseToAcm, type CaseAcmReportInput, type CaseAcmReportResult } from '../services/cases/acm-report.js';
import { caseMailData, messageId } from '../services/cases/mail.js';
import type { ActivityDeps } from './deps.js';
import { workflowActor } from './cases.js';

/** How often a mail activity heartbeats while its SMTP send is pending (MAIL_ACTIVITY's heartbeatTimeout is 10 s). */
const HEARTBEAT_EVERY_MS = 2_000;

/**
 * Sends that heartbeat while they wait on SMTP: a worker that dies mid-send is noticed by Temporal within
 * the heartbeat timeout and the send retried elsewhere, instead of after the whole start-to-close timeout.
 */
export function heartbeatingMailer(mailer: Mailer): Mailer {
  return {
    from: mailer.from,
    close: () => mailer.close(),
    async send(mail) {
      let ctx: Context | undefined;
      try {
        ctx = Context.current();
      } catch {
        ctx = undefined; // not inside an activity (the API's direct GT-6 report)
      }
      if (!ctx) return mailer.send(mail);
      const activity = ctx;
      activity.heartbeat();
      const timer = setInterval(() => activity.heartbeat(), HEARTBEAT_EVERY_MS);
      try {
        return await mailer.send(mail);
      } finally {
        clearInterval(timer);
      }
    },
  };
}

export function notificationActivities({ db, mailer: smtp, config }: ActivityDeps) {
  const mailer = heartbeatingMailer(smtp);
  const msgId = (key: string) => messageId(mailer, key);
  const mailData = (c: CaseParties): CaseMailData => caseMailData(c, config.publicUrl);

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

  /** Mail the grid operator's own doubt contact group (the case handlers); without one, log and go on. */
  async function mailGridOperator(
    c: CaseParties,
    key: string,
    content: { subject: string; text: string; html: string },
  ): Promise<string | null> {
    const to = await recipients(c.gridOperator.id);
    if (to.length === 0) {
      log.warn('grid operator has no doubt contact group members; nothing mailed', { caseId: c.row.id, key });
      return null;
    }
    const sent = await mailer.send({
      to,
      ...content,
      messageId: msgId(key),
      headers: { 'X-Case-Reference': c.row.reference, 'X-Case-Id': c.row.id },
    });
    return sent.messageId;
  }

  /** GT-3: one attempt of the evidence-request mail, recorded as mailed once SMTP accepted it. */
  async function sendEvidenceRequest(
    req: EvidenceRequest,
    attempt: { attempts: number; lastAttemptAt: Date },
  ): Promise<{ messageId: string; recipients: string[] }> {
    const c = await getCaseWithParties(db, req.caseId);
    const to = await partyRecipients(c.party);
    const content = evidenceRequestMail(mailData(c), { message: req.message, responseDueAt: req.responseDueAt });
    const sent = await mailer.send({
      to,
      ...content,
      messageId: msgId(`case-${c.row.id}-evidence-request-${req.id}`),
      headers: {
        'X-Case-Reference': c.row.reference,
        'X-Case-Id': c.row.id,
        'X-Response-Due': req.responseDueAt.toISOString(),
      },
    });
    const at = new Date();
    await db.transaction(async (tx) => {
      const [row] = await tx
        .update(evidenceRequests)
        .set({ mailedAt: at, messageId: sent.messageId, recipients: sent.accepted, ...attempt })
        .where(and(eq(evidenceRequests.id, req.id), isNull(evidenceRequests.mailedAt)))
        .returning({ id: evidenceRequests.id });
      if (!row) return;
      await recordAudit(tx, {
        ...workflowActor(c.row.id),
        action: 'case.evidence_request_mailed',
        entityType: 'case',
        entityId: c.row.id,
        data: { requestId: req.id, messageId: sent.messageId, recipients: sent.accepted, rule: 'GT-3, GT-10' },
        at,
      });
    });
    return { messageId: sent.messageId, recipients: sent.accepted };
  }

  return {
    /**
     * GT-1 / GT-10: the request to the party's doubt contact group. The mail states the 72-hour deadline
     * from this send (GT-3); the workflow enforces 72 hours from the moment it sees the send completed and
     * never less than the stated deadline, so a party is never cut off before what it was told.
     */
    async sendContactEmail(input: {
      caseId: string;
      contactDueAt: string;
    }): Promise<{ messageId: string; recipients: string[]; statedResponseDueAt: string }> {
      const c = await getCaseWithParties(db, input.caseId);
      const to = await partyRecipients(c.party);
      const sendingAt = new Date(Math.max(Date.now(), Context.current().info.currentAttemptScheduledTimestampMs));
      // GT-3, as stated in the mail: fixed before the first send, so a send repeated after a crash (SMTP
      // accepted, the result not recorded) states the same instant and the party holds one deadline.
      const responseDueAt = await fixStatedResponseDue(db, c.row.id, responseDeadline(sendingAt));
      const content = contactRequestMail(mailData(c), { responseDueAt, evidenceMaxBytes: config.evidenceMaxBytes });
      let sent: SentMail;
      try {
        sent = await mailer.send({
          to,
          ...content,
          messageId: msgId(`case-${c.row.id}-contact`),
          headers: {
            'X-Case-Reference': c.row.reference,
            'X-Case-Id': c.row.id,
            'X-Response-Due': responseDueAt.toISOString(),
          },
        });
      } catch (err) {
        // Reached no one for certain (no connection, every recipient refused): the retry states a fresh
        // 72 hours from its own send. Otherwise the message may have gone out: keep the fixed instant.
        if (certainlyNotSent(err)) await releaseStatedResponseDue(db, c.row.id, responseDueAt);
        log.warn('contact mail not sent; Temporal retries it', {
          caseId: c.row.id,
          error: err instanceof Error ? err.message : String(err),
        });
        throw err;
      }
      return { messageId: sent.messageId, recipients: sent.accepted, statedResponseDueAt: responseDueAt.toISOString() };
    },

    /**
     * GT-3: the handler's request for more or other evidence, to the party's doubt contact group. Retried like
     * the contact mail (an empty group too: the party may fill it); every attempt states the recorded text and
     * reply-by instant under one Message-ID, so a resend after an ambiguous failure is the same message.
     */
    async sendEvidenceRequestEmail(input: {
      caseId: string;
      requestId: string;
    }): Promise<{ messageId: string; recipients: string[] }> {
      const [req] = await db.select().from(evidenceRequests).where(eq(evidenceRequests.id, input.requestId));
      if (!req || req.caseId !== input.caseId)
        throw notFound('evidence_request_not_found', `No evidence request ${input.requestId}`);
      if (req.mailedAt && req.messageId) return { messageId: req.messageId, recipients: req.recipients ?? [] };
      const attemptAt = new Date();
      const attempt = { attempts: Context.current().info.attempt, lastAttemptAt: attemptAt };
      try {
        return await sendEvidenceRequest(req, attempt);
      } catch (err) {
        // No hidden retries: the request shows its attempts and last error while the mail fails.
        const lastError = err instanceof Error ? err.message : String(err);
        await db
          .update(evidenceRequests)
          .set({ ...attempt, lastError })
          .where(and(eq(evidenceRequests.id, req.id), isNull(evidenceRequests.mailedAt)))
          .catch((e: unknown) =>
            log.warn('evidence request attempt not recorded', { requestId: req.id, e: String(e) }),
          );
        throw err;
      }
    },

    /** GT-1: tell the handlers that contact has not succeeded while the deadline nears. */
    async sendContactAlert(input: { caseId: string; contactDueAt: string }): Promise<{ messageId: string | null }> {
      const c = await getCaseWithParties(db, input.caseId);
      const messageId = await mailGridOperator(
        c,
        `case-${c.row.id}-contact-alert`,
        contactAlertMail(mailData(c), { contactDueAt: new Date(input.contactDueAt) }),
      );
      return { messageId };
    },

    /** Evidence in time but not judged after the 72 hours: remind the handlers (recorded). */
    async remindJudgement(input: { caseId: string; at: string }): Promise<{ messageId: string | null }> {
      const c = await getCaseWithParties(db, input.caseId);
      const pending = await db
        .select({ id: caseResponses.id })
        .from(caseResponses)
        .where(and(eq(caseResponses.caseId, c.row.id), eq(caseResponses.status, 'received')));
      const at = new Date(input.at);
      const messageId = await mailGridOperator(
        c,
        `case-${c.row.id}-reminder-${at.getTime()}`,
        judgementReminderMail(mailData(c), { responseDueAt: c.row.responseDueAt, pending: pending.length }),
      );
      await recordAudit(db, {
        ...workflowActor(c.row.id),
        action: 'case.judgement_reminder',
        entityType: 'case',
        entityId: c.row.id,
        data: { messageId },
        at,
      });
      return { messageId };
    },

    /** The outcome, to the party's doubt contact group (GT-4, GT-7, GT-8). */
    async sendOutcomeEmail(input: { caseId: string; outcome: OutcomeKind }): Promise<{ messageId: string | null }> {
      const c = await getCaseWithParties(db, input.caseId);
      const to = await recipients(c.party.id);
      if (to.length === 0) {
        log.warn('party has no doubt contacts; outcome not mailed', { caseId: c.row.id });
        return { messageId: null };
      }
      const content = outcomeMail(mailData(c), {
        outcome: input.outcome as OutcomeMailKind,
        closedAt: c.row.closedAt ?? new Date(),
        reason: c.row.closeReason,
        profileEffectiveFrom: c.row.profileEffectiveFrom,
      });
      const sent = await mailer.send({
        to,
        ...content,
        messageId: msgId(`case-${c.row.id}-outcome`),
        headers: { 'X-Case-Reference': c.row.reference, 'X-Case-Id': c.row.id },
      });
      return { messageId: sent.messageId };
    },

    /** GT-6: a case report to the ACM, recorded once per dedupe key (the same operation the case service runs after the workflow closed). */
    async notifyAcm(input: CaseAcmReportInput): Promise<CaseAcmReportResult> {
      return reportCaseToAcm({ db, mailer, config }, input);
    },

    /** GT-9 / GT-10: inform the grid operator's doubt contact group of a supplier-side report. */
    async sendSupplierReportNotice(input: { reportId: string }): Promise<{ messageId: string | null }> {
      const [r] = await db.select().from(supplierReports).where(eq(supplierReports.id, input.reportId));
      if (!r) throw notFound('supplier_report_not_found', `No supplier report ${input.reportId}`);
      const ps = await db.select().from(parties).where(eq(parties.id, r.partyId));
      const [gop] = await db.select().from(parties).where(eq(parties.id, r.gridOperatorId));
      const party = ps[0];
      if (!party || !gop) throw notFound('party_not_found', 'party of supplier report missing');
      const to = await recipients(gop.id);
      let messageId: string | null = null;
      if (to.length === 0) {
        log.warn('grid operator has no doubt contacts; supplier report not mailed', { reportId: r.id });
      } else {
        const content = supplierReportMail({
          reportId: r.id,
          partyName: party.name,
          partyGln: party.gln,
          gridOperatorName: gop.name,
          connectionEan: r.connectionEan,
          signalReceivedAt: r.signalReceivedAt,
          reportedAt: r.reportedAt,
          reportedWithinOneWorkingDay: r.reportedWithinOneWorkingDay,
          customerSatisfaction: r.customerSatisfaction,
          findings: r.findings,
          actions: r.actions,
          publicUrl: config.publicUrl,
        });
        messageId = (
          await mailer.send({
            to,
            ...content,
            messageId: msgId(`supplier-report-${r.id}`),
            headers: { 'X-Supplier-Report-Id': r.id },
          })
        ).messageId;
      }
      const at = new Date();
      await db.transaction(async (tx) => {
        await tx.update(supplierReports).set({ notifiedAt: at }).where(eq(supplierReports.id, r.id));
        await recordAudit(tx, {
          actor: `workflow:supplier-report:${r.id}`,
          actorRole: 'system',
          action: 'supplier_report.notified',
          entityType: 'supplier_report',
          entityId: r.id,
          data: { messageId, recipients: to, rule: 'GT-9, GT-10' },
          at,
        });
      });
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
