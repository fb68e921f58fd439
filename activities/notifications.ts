/**
 * Mail activities of the cases and supplier reports (GT-1, GT-3, GT-6, GT-9, GT-10), one service call each. A
 * failed SMTP send throws and Temporal retries it with backoff (MAIL_RETRY). Message-IDs are stable per
 * notification, so a send that is repeated after an ambiguous failure can be recognised as the same message.
 * The review mails (GT-5) are activities/reviews.ts.
 */
import { sendContactEmail, type ContactMailInput } from '../services/cases/contact.js';
import { reportCaseToAcm, type CaseAcmReportInput, type CaseAcmReportResult } from '../services/cases/acm-report.js';
import * as caseMail from '../services/cases/mail.js';
import * as supplierReports from '../services/supplier-reports/notice.js';
import { currentAttempt, stepDeps, type ActivityDeps } from './deps.js';
import { retriedWithoutContacts } from './failures.js';

export function notificationActivities({ db, mailer, config }: ActivityDeps) {
  const deps = stepDeps({ db, mailer, config });

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
