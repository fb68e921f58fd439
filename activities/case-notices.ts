/**
 * The notices to the people around a case (domain/case-notices.ts): the reporter and the grid user. Thin
 * wrappers over services/cases/notices.ts; the workflow runs them aside with bounded retries (NOTICE_ACTIVITY)
 * and records a notice whose retries are spent.
 */
import type { CaseNotice } from '../domain/case-notices.js';
import { recordCaseNoticeFailed, sendCaseNotice, type CaseNoticeResult } from '../services/cases/notices.js';
import { heartbeatingMailer, type ActivityDeps } from './deps.js';

export function caseNoticeActivities({ db, mailer, config }: ActivityDeps) {
  const deps = { db, mailer: heartbeatingMailer(mailer), config };
  return {
    /** Send one notice (or record that there is no address for it); `at` is the workflow's moment. */
    async sendCaseNotice(input: { caseId: string; notice: CaseNotice; at: string }): Promise<CaseNoticeResult> {
      return sendCaseNotice(deps, { ...input, at: new Date(input.at) });
    },

    /** The notice's bounded retries are spent: record it with the last error. */
    async recordCaseNoticeFailed(input: { caseId: string; notice: CaseNotice; at: string; error: string }) {
      await recordCaseNoticeFailed(db, { ...input, at: new Date(input.at) });
    },
  };
}
