/**
 * The case mails (GT-1, GT-3, GT-4, GT-7, GT-8, GT-10) and what every case mail shares, whichever process sends
 * it (the workflow's activities, or the case service for a GT-6 report after the workflow closed): the case's
 * facts for the templates and a stable Message-ID per notification, so a repeated send is recognisable as the
 * same message. A failed SMTP send throws; the workflow's retry policy repeats it. The contact mail itself is
 * services/cases/contact.ts.
 */
import type { Db, DbOrTx } from '../../db/client.js';
import { recordAudit } from '../../db/repositories/audit.js';
import { countResponsesAwaitingJudgement, getCaseWithParties, type CaseParties } from '../../db/repositories/cases.js';
import { doubtContacts } from '../../db/repositories/contacts.js';
import {
  getEvidenceRequest,
  markEvidenceRequestMailed,
  recordEvidenceRequestAttempt,
  type EvidenceRequest,
  type MailAttempt,
} from '../../db/repositories/evidence-requests.js';
import type { OutcomeKind } from '../../domain/case.js';
import { DomainError, notFound } from '../../lib/errors.js';
import type { Mailer } from '../../notifications/mailer.js';
import {
  contactAlertMail,
  evidenceRequestMail,
  judgementReminderMail,
  outcomeMail,
  type CaseMailData,
  type MailContent,
  type OutcomeMailKind,
} from '../../notifications/templates.js';
import type { StepAttempt, StepDeps } from '../step-deps.js';
import { workflowActor } from './steps.js';

/** `<key@sender-domain>`, with the key reduced to the characters a Message-ID may hold. */
export function messageId(mailer: Pick<Mailer, 'from'>, key: string): string {
  const domain = mailer.from.split('@')[1] ?? 'localhost';
  return `<${key.replace(/[^A-Za-z0-9._-]/g, '.')}@${domain}>`;
}

export function caseMailData({ row, party, gridOperator }: CaseParties, publicUrl: string): CaseMailData {
  return {
    caseId: row.id,
    reference: row.reference,
    connectionEan: row.connectionEan,
    partyName: party.name,
    partyGln: party.gln,
    gridOperatorName: gridOperator.name,
    gridOperatorGln: gridOperator.gln,
    channel: row.channel,
    receivedAt: row.receivedAt,
    isma: row.isma,
    publicUrl,
  };
}

// ---------------------------------------------------------------- recipients (GT-10)

/** The error code of a party without anyone in its doubt contact group; its activities retry it (it may fill it). */
export const NO_DOUBT_CONTACTS = 'no_doubt_contacts';

/** The addresses of a party's doubt contact group (GT-10); empty when it has none. */
export async function doubtGroup(db: DbOrTx, partyId: string): Promise<string[]> {
  return (await doubtContacts(db, partyId)).map((c) => c.email);
}

/**
 * The party's doubt contact group (GT-10), or a refusal coded NO_DOUBT_CONTACTS that waiting may mend: the party
 * may add its contacts to the CPR meanwhile, and the GT-1 alert covers the wait.
 */
export async function partyRecipients(db: DbOrTx, party: { id: string; name: string }): Promise<string[]> {
  const to = await doubtGroup(db, party.id);
  if (to.length === 0) {
    throw new DomainError(
      'state',
      NO_DOUBT_CONTACTS,
      `${party.name} has no contacts in the "Gerede twijfel Klantmandaat" group (GT-10)`,
    );
  }
  return to;
}

export const isNoDoubtContacts = (err: unknown): boolean =>
  err instanceof DomainError && err.code === NO_DOUBT_CONTACTS;

type MailDeps = Pick<StepDeps, 'db' | 'mailer' | 'config' | 'log'>;

/** Mail the grid operator's own doubt contact group (the case handlers); without one, log and go on. */
async function mailGridOperator(
  { db, mailer, log }: MailDeps,
  c: CaseParties,
  key: string,
  content: MailContent,
): Promise<string | null> {
  const to = await doubtGroup(db, c.gridOperator.id);
  if (to.length === 0) {
    log.warn('grid operator has no doubt contact group members; nothing mailed', { caseId: c.row.id, key });
    return null;
  }
  const sent = await mailer.send({
    to,
    ...content,
    messageId: messageId(mailer, key),
    headers: { 'X-Case-Reference': c.row.reference, 'X-Case-Id': c.row.id },
  });
  return sent.messageId;
}

// ---------------------------------------------------------------- to the handlers (GT-1, GT-3)

export interface ContactAlertInput {
  caseId: string;
  contactDueAt: string;
}

/** GT-1: tell the handlers that contact has not succeeded while the deadline nears. */
export async function sendContactAlert(
  deps: MailDeps,
  input: ContactAlertInput,
): Promise<{ messageId: string | null }> {
  const c = await getCaseWithParties(deps.db, input.caseId);
  const sent = await mailGridOperator(
    deps,
    c,
    `case-${c.row.id}-contact-alert`,
    contactAlertMail(caseMailData(c, deps.config.publicUrl), { contactDueAt: new Date(input.contactDueAt) }),
  );
  return { messageId: sent };
}

export interface JudgementReminderInput {
  caseId: string;
  at: string;
}

/** Evidence in time but not judged after the 72 hours: remind the handlers (recorded). */
export async function remindJudgement(
  deps: MailDeps,
  input: JudgementReminderInput,
): Promise<{ messageId: string | null }> {
  const { db } = deps;
  const c = await getCaseWithParties(db, input.caseId);
  const pending = await countResponsesAwaitingJudgement(db, c.row.id);
  const at = new Date(input.at);
  const sent = await mailGridOperator(
    deps,
    c,
    `case-${c.row.id}-reminder-${at.getTime()}`,
    judgementReminderMail(caseMailData(c, deps.config.publicUrl), { responseDueAt: c.row.responseDueAt, pending }),
  );
  await recordAudit(db, {
    ...workflowActor(c.row.id),
    action: 'case.judgement_reminder',
    entityType: 'case',
    entityId: c.row.id,
    data: { messageId: sent },
    at,
  });
  return { messageId: sent };
}

// ---------------------------------------------------------------- to the party (GT-3, GT-4, GT-7, GT-8)

export interface OutcomeMailInput {
  caseId: string;
  outcome: OutcomeKind;
}

/** The outcome, to the party's doubt contact group (GT-4, GT-7, GT-8); without one, logged and not mailed. */
export async function sendOutcomeEmail(
  { db, mailer, config, log }: MailDeps,
  input: OutcomeMailInput,
): Promise<{ messageId: string | null }> {
  const c = await getCaseWithParties(db, input.caseId);
  const to = await doubtGroup(db, c.party.id);
  if (to.length === 0) {
    log.warn('party has no doubt contacts; outcome not mailed', { caseId: c.row.id });
    return { messageId: null };
  }
  const content = outcomeMail(caseMailData(c, config.publicUrl), {
    outcome: input.outcome as OutcomeMailKind,
    closedAt: c.row.closedAt ?? new Date(),
    reason: c.row.closeReason,
    profileEffectiveFrom: c.row.profileEffectiveFrom,
  });
  const sent = await mailer.send({
    to,
    ...content,
    messageId: messageId(mailer, `case-${c.row.id}-outcome`),
    headers: { 'X-Case-Reference': c.row.reference, 'X-Case-Id': c.row.id },
  });
  return { messageId: sent.messageId };
}

export interface EvidenceRequestMailInput {
  caseId: string;
  requestId: string;
}

/**
 * GT-3: the handler's request for more or other evidence, to the party's doubt contact group. Retried like
 * the contact mail (an empty group too: the party may fill it); every attempt states the recorded text and
 * reply-by instant under one Message-ID, so a resend after an ambiguous failure is the same message.
 */
export async function sendEvidenceRequestEmail(
  deps: MailDeps,
  input: EvidenceRequestMailInput,
  run: Pick<StepAttempt, 'attempt'>,
): Promise<{ messageId: string; recipients: string[] }> {
  const { db, log } = deps;
  const req = await getEvidenceRequest(db, input.requestId);
  if (!req || req.caseId !== input.caseId)
    throw notFound('evidence_request_not_found', `No evidence request ${input.requestId}`);
  if (req.mailedAt && req.messageId) return { messageId: req.messageId, recipients: req.recipients ?? [] };
  const attempt: MailAttempt = { attempts: run.attempt, lastAttemptAt: new Date() };
  try {
    return await mailEvidenceRequest(deps, req, attempt);
  } catch (err) {
    // No hidden retries: the request shows its attempts and last error while the mail fails.
    const lastError = err instanceof Error ? err.message : String(err);
    await recordEvidenceRequestAttempt(db, req.id, { ...attempt, lastError }).catch((e: unknown) =>
      log.warn('evidence request attempt not recorded', { requestId: req.id, e: String(e) }),
    );
    throw err;
  }
}

/** GT-3: one attempt of the evidence-request mail, recorded as mailed once SMTP accepted it. */
async function mailEvidenceRequest(
  { db, mailer, config }: MailDeps,
  req: EvidenceRequest,
  attempt: MailAttempt,
): Promise<{ messageId: string; recipients: string[] }> {
  const c = await getCaseWithParties(db, req.caseId);
  const to = await partyRecipients(db, c.party);
  const content = evidenceRequestMail(caseMailData(c, config.publicUrl), {
    message: req.message,
    responseDueAt: req.responseDueAt,
  });
  const sent = await mailer.send({
    to,
    ...content,
    messageId: messageId(mailer, `case-${c.row.id}-evidence-request-${req.id}`),
    headers: {
      'X-Case-Reference': c.row.reference,
      'X-Case-Id': c.row.id,
      'X-Response-Due': req.responseDueAt.toISOString(),
    },
  });
  const at = new Date();
  await recordMailed(db, c, req, { ...attempt, mailedAt: at, messageId: sent.messageId, recipients: sent.accepted });
  return { messageId: sent.messageId, recipients: sent.accepted };
}

async function recordMailed(
  db: Db,
  c: CaseParties,
  req: EvidenceRequest,
  mailed: MailAttempt & { mailedAt: Date; messageId: string; recipients: string[] },
): Promise<void> {
  await db.transaction(async (tx) => {
    if (!(await markEvidenceRequestMailed(tx, req.id, mailed))) return;
    await recordAudit(tx, {
      ...workflowActor(c.row.id),
      action: 'case.evidence_request_mailed',
      entityType: 'case',
      entityId: c.row.id,
      data: { requestId: req.id, messageId: mailed.messageId, recipients: mailed.recipients, rule: 'GT-3, GT-10' },
      at: mailed.mailedAt,
    });
  });
}
