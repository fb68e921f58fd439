/**
 * Mail activities (GT-1, GT-5, GT-6, GT-9, GT-10). A failed SMTP send throws and Temporal retries it
 * with backoff (policy in the workflows). Message-IDs are stable per notification, so a send that is
 * repeated after an ambiguous failure can be recognised as the same message by the recipient.
 */
import { ApplicationFailure } from '@temporalio/common';
import { and, eq, isNull } from 'drizzle-orm';
import { recordAudit } from '../db/repositories/audit.js';
import { doubtContacts } from '../db/repositories/contacts.js';
import {
  caseResponses,
  doubtCases,
  evidenceRequests,
  parties,
} from '../db/schema/index.js';
import { notFound } from '../lib/errors.js';
import { responseDeadline, type OutcomeKind } from '../domain/case.js';
import {
  contactAlertMail,
  contactRequestMail,
  evidenceRequestMail,
  judgementReminderMail,
  outcomeMail,
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
  };
}
