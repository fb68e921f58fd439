/**
 * The people around a case (domain/case-notices.ts): the reporter's acknowledgement and outcome, the grid
 * user's block and lift notices. One notice per call: decide the address, send (a stable Message-ID per
 * notice), record what was sent and to whom. Without an address nothing is sent and that is recorded.
 * Throws DomainErrors for what retrying cannot mend.
 */
import type { Db } from '../../db/client.js';
import { getBlockByCase } from '../../db/repositories/blocks.js';
import { getCaseWithParties, type CaseParties } from '../../db/repositories/cases.js';
import { noticeEntries, recordNoticeOnce } from '../../db/repositories/case-notices.js';
import { getConnection, getGridUser } from '../../db/repositories/connections.js';
import { closingStatus, OUTCOMES, type OutcomeKind } from '../../domain/case.js';
import {
  gridUserBlockedFrom,
  noticeRecipient,
  reporterMailAddress,
  type CaseNotice,
} from '../../domain/case-notices.js';
import { invalidState } from '../../lib/errors.js';
import type { Mailer } from '../../notifications/mailer.js';
import {
  gridUserBlockMail,
  gridUserLiftMail,
  reporterAcknowledgementMail,
  reporterOutcomeMail,
} from '../../notifications/case-notices.js';
import type { MailContent } from '../../notifications/templates.js';
import { caseMailData, messageId } from './mail.js';

export interface CaseNoticeDeps {
  db: Db;
  mailer: Mailer;
  config: { publicUrl: string };
}

export type CaseNoticeResult =
  { status: 'sent'; to: string[]; messageId: string } | { status: 'not_sent'; reason: NotSentReason };

export type NotSentReason =
  'no_reporter_contact' | 'reporter_contact_not_an_email_address' | 'no_grid_user' | 'grid_user_without_email';

const system = (caseId: string) => ({ actor: `workflow:${caseId}`, actorRole: 'system', actorPartyId: null });

type Planned =
  | { to: string; content: MailContent; facts: Record<string, unknown>; rule: string }
  | { notSent: NotSentReason; facts: Record<string, unknown> };

function outcomeOf(c: CaseParties): OutcomeKind {
  const outcome = OUTCOMES.find((o) => closingStatus(o) === c.row.status);
  if (!outcome || !c.row.closedAt)
    throw invalidState('case_not_closed', `Case ${c.row.reference} is not closed: no outcome to tell the reporter`);
  return outcome;
}

/** The reporter: mailed only at an e-mail address (the contact is free text). */
function planReporter(c: CaseParties, notice: CaseNotice, publicUrl: string): Planned {
  const to = reporterMailAddress(c.row.reporterContact);
  if (!to)
    return {
      notSent: c.row.reporterContact ? 'reporter_contact_not_an_email_address' : 'no_reporter_contact',
      facts: {},
    };
  const data = caseMailData(c, publicUrl);
  const reporter = { reporterName: c.row.reporterName, reporterReference: c.row.reporterReference };
  const facts = { reporterReference: c.row.reporterReference };
  if (notice === 'reporter_acknowledgement')
    return { to, content: reporterAcknowledgementMail(data, reporter), facts, rule: 'GT-1, GT-2' };
  const outcome = outcomeOf(c);
  const blockLifted = c.row.unblockedAt !== null;
  return {
    to,
    content: reporterOutcomeMail(data, reporter, {
      outcome,
      closedAt: c.row.closedAt!,
      blockLifted,
      reason: c.row.closeReason,
    }),
    facts: { ...facts, outcome, blockLifted },
    rule: outcome === 'accepted' ? 'GT-8' : outcome === 'not_demonstrated' ? 'GT-4' : 'GT-7',
  };
}

/**
 * The grid user of the connection now, at their own e-mail address. Names the party and the period (from when
 * they became the grid user at the earliest, DC-7), never the reporter.
 */
async function planGridUser(db: Db, c: CaseParties, notice: CaseNotice, publicUrl: string): Promise<Planned> {
  const conn = await getConnection(db, c.row.connectionEan);
  const user = conn?.gridUserId ? await getGridUser(db, conn.gridUserId) : undefined;
  if (!user) return { notSent: 'no_grid_user', facts: {} };
  if (!user.email) return { notSent: 'grid_user_without_email', facts: { gridUserId: user.id } };
  const block = await getBlockByCase(db, c.row.id);
  if (!block) throw invalidState('block_not_found', `Case ${c.row.reference} has no block`);
  const data = caseMailData(c, publicUrl);
  const g = { gridUserName: user.name, blockedFrom: gridUserBlockedFrom(block.startedAt, conn!.gridUserSince) };
  if (notice === 'grid_user_block')
    return {
      to: user.email,
      content: gridUserBlockMail(data, g),
      facts: { gridUserId: user.id, blockedFrom: g.blockedFrom.toISOString() },
      rule: 'GT-2',
    };
  if (!block.endedAt) throw invalidState('block_not_lifted', `The block of case ${c.row.reference} is not lifted`);
  return {
    to: user.email,
    content: gridUserLiftMail(data, { ...g, liftedAt: block.endedAt, retroactive: block.retroactive }),
    facts: {
      gridUserId: user.id,
      blockedFrom: g.blockedFrom.toISOString(),
      blockedUntil: block.endedAt.toISOString(),
      retroactive: block.retroactive,
    },
    rule: block.liftReason === 'mandate_accepted' ? 'GT-8' : 'GT-7',
  };
}

/**
 * Send one notice of a case, or record why it cannot be sent; `at` is the workflow's moment (the entry's time).
 * Idempotent: a notice already sent (or found without address) is not sent again.
 */
export async function sendCaseNotice(
  deps: CaseNoticeDeps,
  input: { caseId: string; notice: CaseNotice; at: Date },
): Promise<CaseNoticeResult> {
  const { db, mailer } = deps;
  const { caseId, notice, at } = input;
  const [done] = await noticeEntries(db, caseId, notice, ['case.notice_sent', 'case.notice_not_sent']);
  if (done) {
    const d = done.data as { to?: string[]; messageId?: string; reason?: NotSentReason };
    return done.action === 'case.notice_sent'
      ? { status: 'sent', to: d.to ?? [], messageId: d.messageId ?? '' }
      : { status: 'not_sent', reason: d.reason ?? 'no_reporter_contact' };
  }
  const c = await getCaseWithParties(db, caseId);
  const recipient = noticeRecipient(notice);
  const plan =
    recipient === 'reporter'
      ? planReporter(c, notice, deps.config.publicUrl)
      : await planGridUser(db, c, notice, deps.config.publicUrl);
  if ('notSent' in plan) {
    await recordNoticeOnce(db, {
      ...system(caseId),
      caseId,
      notice,
      action: 'case.notice_not_sent',
      at,
      data: { recipient, reason: plan.notSent, ...plan.facts },
    });
    return { status: 'not_sent', reason: plan.notSent };
  }
  const sent = await mailer.send({
    to: [plan.to],
    ...plan.content,
    messageId: messageId(mailer, `case-${caseId}-${notice}`),
    headers: { 'X-Case-Reference': c.row.reference, 'X-Case-Id': caseId },
  });
  await recordNoticeOnce(db, {
    ...system(caseId),
    caseId,
    notice,
    action: 'case.notice_sent',
    at,
    data: {
      recipient,
      to: [plan.to],
      subject: plan.content.subject,
      text: plan.content.text,
      messageId: sent.messageId,
      ...plan.facts,
      rule: plan.rule,
    },
  });
  return { status: 'sent', to: [plan.to], messageId: sent.messageId };
}

/** Its bounded retries spent: the notice is recorded as failed, with the last error; the case goes on. */
export async function recordCaseNoticeFailed(
  db: Db,
  input: { caseId: string; notice: CaseNotice; at: Date; error: string },
): Promise<void> {
  await recordNoticeOnce(db, {
    ...system(input.caseId),
    caseId: input.caseId,
    notice: input.notice,
    action: 'case.notice_failed',
    at: input.at,
    data: { recipient: noticeRecipient(input.notice), error: input.error },
  });
}
