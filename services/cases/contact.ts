/**
 * GT-1 / GT-10: the contact mail to the party's doubt contact group, and the contact while it fails: no hidden
 * retries. Every attempt is counted on the case with its last error; a party without anyone in its doubt
 * contact group alerts the grid operator's handlers at once (once per case) and shows on the case.
 */
import { recordAuditOnce } from '../../db/repositories/audit.js';
import {
  caseAudit,
  fixStatedResponseDue,
  getCaseWithParties,
  markContactGroupEmpty,
  recordContactAttempt,
  releaseStatedResponseDue,
} from '../../db/repositories/cases.js';
import { responseDeadline } from '../../domain/case.js';
import { certainlyNotSent, type SentMail } from '../../notifications/mailer.js';
import { contactGroupEmptyMail, contactRequestMail } from '../../notifications/templates.js';
import type { StepAttempt, StepDeps } from '../step-deps.js';
import { caseMailData, doubtGroup, isNoDoubtContacts, messageId, partyRecipients } from './mail.js';
import { workflowActor } from './steps.js';

type ContactDeps = Pick<StepDeps, 'db' | 'mailer' | 'config' | 'log'>;

export interface ContactMailInput {
  caseId: string;
  contactDueAt: string;
}

export interface ContactMailResult {
  messageId: string;
  recipients: string[];
  statedResponseDueAt: string;
}

/**
 * GT-1 / GT-10: the request to the party's doubt contact group, this attempt counted on the case. A party
 * without doubt contacts is refused with NO_DOUBT_CONTACTS (retried: it may fill its group) and, the first
 * time, the handlers are alerted. Recording an attempt is best effort: the send's own outcome is what counts.
 */
export async function sendContactEmail(
  deps: ContactDeps,
  input: ContactMailInput,
  run: Pick<StepAttempt, 'attempt' | 'scheduledAt'>,
): Promise<ContactMailResult> {
  const { db, log } = deps;
  const at = new Date();
  try {
    const result = await mailContactRequest(deps, input, run.scheduledAt);
    await recordContactAttempt(db, input.caseId, { attempts: run.attempt, lastAttemptAt: at }).catch((err: unknown) =>
      log.warn('contact attempt not recorded', { caseId: input.caseId, err: String(err) }),
    );
    return result;
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    try {
      await recordContactAttempt(db, input.caseId, { attempts: run.attempt, lastAttemptAt: at, lastError: error });
      if (isNoDoubtContacts(err)) await alertContactGroupEmpty(deps, input, at);
    } catch (recordErr) {
      // The send's own failure is what Temporal retries on; recording it is best effort.
      log.warn('contact attempt failure not recorded', { caseId: input.caseId, err: String(recordErr) });
    }
    throw err;
  }
}

/**
 * The mail states the 72-hour deadline from this send (GT-3); the workflow enforces 72 hours from the moment
 * it sees the send completed and never less than the stated deadline, so a party is never cut off before what
 * it was told. `scheduledAt`: when this attempt was scheduled (a retry states its own 72 hours, see below).
 */
async function mailContactRequest(
  { db, mailer, config, log }: ContactDeps,
  input: ContactMailInput,
  scheduledAt: Date,
): Promise<ContactMailResult> {
  const c = await getCaseWithParties(db, input.caseId);
  const to = await partyRecipients(db, c.party);
  const sendingAt = new Date(Math.max(Date.now(), scheduledAt.getTime()));
  // GT-3, as stated in the mail: fixed before the first send, so a send repeated after a crash (SMTP
  // accepted, the result not recorded) states the same instant and the party holds one deadline.
  const responseDueAt = await fixStatedResponseDue(db, c.row.id, responseDeadline(sendingAt));
  const content = contactRequestMail(caseMailData(c, config.publicUrl), {
    responseDueAt,
    evidenceMaxBytes: config.evidenceMaxBytes,
  });
  let sent: SentMail;
  try {
    sent = await mailer.send({
      to,
      ...content,
      messageId: messageId(mailer, `case-${c.row.id}-contact`),
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
}

/** GT-1 / GT-10: the party's doubt contact group is empty: shown on the case and, once, mailed to the handlers. */
async function alertContactGroupEmpty(
  { db, mailer, config, log }: ContactDeps,
  input: ContactMailInput,
  at: Date,
): Promise<void> {
  const first = await db.transaction(async (tx) => {
    await markContactGroupEmpty(tx, input.caseId, at);
    return recordAuditOnce(
      tx,
      caseAudit(
        input.caseId,
        workflowActor(input.caseId),
        'case.contact_group_empty',
        { contactDueAt: input.contactDueAt, rule: 'GT-1, GT-10' },
        at,
      ),
    );
  });
  if (!first) return;
  const c = await getCaseWithParties(db, input.caseId);
  const to = await doubtGroup(db, c.gridOperator.id);
  if (to.length === 0) {
    log.error('party and grid operator both without doubt contact group members', { caseId: input.caseId });
    return;
  }
  await mailer.send({
    to,
    ...contactGroupEmptyMail(caseMailData(c, config.publicUrl), { contactDueAt: new Date(input.contactDueAt) }),
    messageId: messageId(mailer, `case-${c.row.id}-contact-group-empty`),
    headers: { 'X-Case-Reference': c.row.reference, 'X-Case-Id': c.row.id },
  });
}
