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
import { mailAttemptsTotal, mailFailuresTotal } from '../lib/observability/metrics.js';

/** Issue 20: every attempt of a mail activity counted, and its failures (gt_mail_attempts_total, gt_mail_failures_total). */
function counted<A extends unknown[], R>(mail: string, send: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  const attempts = mailAttemptsTotal.labels(mail);
  const failures = mailFailuresTotal.labels(mail);
  return async (...args) => {
    attempts.inc();
    try {
      return await send(...args);
    } catch (err) {
      failures.inc();
      throw err;
    }
  };
}

export function notificationActivities({ db, mailer, config }: ActivityDeps) {
  const deps = stepDeps({ db, mailer, config });

  return {
    /**
     * GT-1 / GT-10 (services/cases/contact.ts): every attempt counted on the case, the stated reply-by instant
     * fixed before the first send (GT-3); retried by MAIL_RETRY, a party without doubt contacts included.
     */
    sendContactEmail: counted(
      'contact',
      retriedWithoutContacts((input: ContactMailInput) => sendContactEmail(deps, input, currentAttempt())),
    ),
    /** GT-3: the handler's request for more or other evidence; retried like the contact mail. */
    sendEvidenceRequestEmail: counted(
      'evidence_request',
      retriedWithoutContacts((input: caseMail.EvidenceRequestMailInput) =>
        caseMail.sendEvidenceRequestEmail(deps, input, currentAttempt()),
      ),
    ),
    sendContactAlert: counted('contact_alert', (input: caseMail.ContactAlertInput) =>
      caseMail.sendContactAlert(deps, input),
    ),
    remindJudgement: counted('judgement_reminder', (input: caseMail.JudgementReminderInput) =>
      caseMail.remindJudgement(deps, input),
    ),
    sendOutcomeEmail: counted('outcome', (input: caseMail.OutcomeMailInput) => caseMail.sendOutcomeEmail(deps, input)),
    /** GT-6: a case report to the ACM, recorded once per dedupe key (the same operation the case service runs after the workflow closed). */
    notifyAcm: (input: CaseAcmReportInput): Promise<CaseAcmReportResult> => reportCaseToAcm(deps, input),

    /** GT-9 / GT-10 (services/supplier-reports/notice.ts); the result is the recorded payload, exactly. */
    async sendSupplierReportNotice(input: { reportId: string }): Promise<{ messageId: string | null }> {
      const { messageId } = await supplierReports.sendSupplierReportNotice(deps, input);
      return { messageId };
    },
  };
}
