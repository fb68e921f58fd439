/**
 * The bodies of the doubt case's Updates, each after its validator. A validator refuses through
 * ../refuse.ts with the domain's own check (domain/case.ts), the same check the API makes on the rows, so a
 * refusal reads the same whichever of the two made it. A body changes the case's state (state.ts) and
 * records it through an activity; an Update that decides the case answers once the process has closed it.
 */
import { condition, uuid4 } from '@temporalio/workflow';
import {
  checkCaseOpen,
  checkEvidenceRequest,
  checkJudgement,
  checkManualContact,
  checkResponse,
  judgementOutcome,
  withdrawalEffect,
  WITHDRAWAL_REASONS,
} from '../../domain/case.js';
import { refuse, refuseIf, requireText } from '../refuse.js';
import type {
  AddNoteInput,
  CaseSnapshot,
  EvidenceRequestInput,
  EvidenceRequestResult,
  HandlerActionInput,
  JudgeEvidenceInput,
  ManualContactInput,
  NotifyAcmInput,
  NotifyAcmResult,
  SubmitResponseInput,
  SubmitResponseResult,
  WithdrawCaseInput,
} from '../shared.js';
import { db } from './activities.js';
import { rejectionKeepsResponseWindow } from './patches.js';
import { actorOf, now, signedWithOf, type DoubtCase, type ResponseState } from './state.js';

/** The case as the domain checks see it (domain/case.ts CaseActionFacts). */
const facts = (c: DoubtCase) => ({
  caseId: c.input.caseId,
  reference: c.input.reference,
  status: c.status,
  decided: c.decision !== null,
});

// ---------------------------------------------------------------- GT-3: the party's response

/** GT-8: after the 72 hours (or once the case is decided) evidence no longer reopens the case. */
export function validateResponse(c: DoubtCase, r: SubmitResponseInput): void {
  const responseIds = c.responses.map((x) => x.responseId);
  const { responseDueAt, responseWindowClosed } = c;
  refuseIf(checkResponse({ ...facts(c), responseDueAt, responseWindowClosed, responseIds }, r.responseId, now()));
}

/** GT-3: the party's answer, counted at once, so a 72-hour timer firing while the activity runs still sees the evidence. */
export async function submitResponse(c: DoubtCase, r: SubmitResponseInput): Promise<SubmitResponseResult> {
  const entry: ResponseState = {
    responseId: r.responseId,
    submittedAt: now(),
    hasEvidence: r.hasEvidence,
    judgement: null,
    recorded: false,
  };
  c.responses.push(entry);
  if (r.hasEvidence && !c.isClosed()) c.status = 'awaiting_judgement';
  try {
    await db.acceptResponse({
      caseId: c.input.caseId,
      responseId: r.responseId,
      at: entry.submittedAt.toISOString(),
      status: c.status,
    });
  } catch (err) {
    c.responses.splice(c.responses.indexOf(entry), 1);
    if (c.status === 'awaiting_judgement' && !c.pendingEvidence())
      c.status = c.contactedAt ? 'awaiting_response' : 'blocked';
    throw err;
  }
  entry.recorded = true;
  c.publish();
  return { responseId: r.responseId, receivedAt: entry.submittedAt.toISOString(), snapshot: c.snapshot() };
}

// ---------------------------------------------------------------- GT-4, GT-8: the handler's judgement

/** The same check the API makes on the rows, here on the workflow's own state (GT-4, GT-8). */
export function validateJudgement(c: DoubtCase, j: JudgeEvidenceInput): void {
  const responses = c.responses.map((r) => ({
    responseId: r.responseId,
    status: r.recorded ? ('received' as const) : ('staged' as const),
    hasEvidence: r.hasEvidence,
    judgement: r.judgement,
  }));
  refuseIf(checkJudgement({ ...facts(c), responses }, j));
}

/**
 * The handler's judgement. An acceptance decides the case at once (GT-8); the Update answers once it is
 * closed. A rejection (GT-3, GT-4) decides it only when the 72 hours are over and no other evidence that
 * came in time awaits a judgement; otherwise the party may still send other evidence until they end.
 */
export async function judgeEvidence(c: DoubtCase, j: JudgeEvidenceInput): Promise<CaseSnapshot> {
  if (j.decision === 'reject' && rejectionKeepsResponseWindow()) return rejectEvidence(c, j);
  c.decision = {
    kind: judgementOutcome(j.decision),
    at: now(),
    reason: j.reason ?? null,
    responseId: j.responseId,
    ...actorOf(j),
    ...signedWithOf(j),
  };
  await condition(c.isClosed);
  return c.snapshot();
}

async function rejectEvidence(c: DoubtCase, j: JudgeEvidenceInput): Promise<CaseSnapshot> {
  const at = now();
  const reason = j.reason ?? null;
  const r = c.responses.find((x) => x.responseId === j.responseId)!; // the validator checked it
  if (c.responseWindowClosed && !c.responses.some((x) => x !== r && x.hasEvidence && x.judgement === null)) {
    // The last evidence that came in time, rejected after the 72 hours: the mandate was not demonstrated.
    c.decision = { kind: 'not_demonstrated', at, reason, responseId: r.responseId, ...actorOf(j), ...signedWithOf(j) };
    await condition(c.isClosed);
    return c.snapshot();
  }
  r.judgement = 'rejected';
  c.lastRejection = reason;
  const before = c.status;
  if (!c.pendingEvidence() && !c.responseWindowClosed) c.status = 'awaiting_response';
  c.judging++;
  try {
    await db.recordJudgement({
      caseId: c.input.caseId,
      responseId: r.responseId,
      decision: 'rejected',
      reason,
      at: at.toISOString(),
      actor: actorOf(j),
      ...signedWithOf(j),
      status: c.status,
    });
  } catch (err) {
    r.judgement = null;
    c.status = before;
    throw err;
  } finally {
    c.judging--;
  }
  c.publish();
  return c.snapshot();
}

// ---------------------------------------------------------------- GT-1: contact made another way

export function validateManualContact(c: DoubtCase, m: ManualContactInput): void {
  requireText(m.summary, 'A summary', 'summary');
  requireText(m.contactPerson, 'The contact person', 'contactPerson');
  const at = m.contactedAt ? new Date(m.contactedAt) : now();
  if (Number.isNaN(at.getTime()))
    refuse({
      kind: 'validation',
      code: 'invalid_request',
      message: 'contactedAt is not an instant',
      field: 'contactedAt',
    });
  const contactedAt = c.contactedAt ?? c.manualContact?.at ?? null;
  refuseIf(checkManualContact({ ...facts(c), contactedAt, receivedAt: new Date(c.input.receivedAt) }, at, now()));
}

/** Taken by contactParty (the mail attempt is cancelled); answers once the contact is recorded. */
export async function recordManualContact(c: DoubtCase, m: ManualContactInput): Promise<CaseSnapshot> {
  c.manualContact = { ...m, at: m.contactedAt ? new Date(m.contactedAt) : now() };
  // Answers once the contact is in the case row (or the mail got there first, or the case was decided).
  await condition(
    () =>
      c.manualContactRecorded ||
      (c.contactedAt !== null && c.contactedAt !== c.manualContact?.at) ||
      c.decision !== null,
  );
  return c.snapshot();
}

// ---------------------------------------------------------------- GT-7: wrongful block, withdrawal

export function validateHandlerClose(c: DoubtCase, a: HandlerActionInput): void {
  refuseIf(checkCaseOpen(facts(c)));
  requireText(a.reason, 'A reason', 'reason');
}

/** Wrongful block (GT-7) or withdrawal: decides the case at any moment; answers once it is closed. */
export async function closeByHandler(
  c: DoubtCase,
  kind: 'wrongful_block' | 'withdrawn',
  a: HandlerActionInput,
): Promise<CaseSnapshot> {
  c.decision = { kind, at: now(), reason: a.reason, ...actorOf(a) };
  await condition(c.isClosed);
  return c.snapshot();
}

export function validateWithdrawal(c: DoubtCase, a: WithdrawCaseInput): void {
  validateHandlerClose(c, a);
  if (a.reasonCode != null && !WITHDRAWAL_REASONS.includes(a.reasonCode))
    refuse({
      kind: 'validation',
      code: 'invalid_request',
      message: `Unknown withdrawal reason ${a.reasonCode}`,
      field: 'reasonCode',
    });
}

/**
 * GT-7: a withdrawal closes with its reason's effect (domain withdrawalEffect): not concerning the party is
 * a wrongful block (lifted within 1 working day, the period released); without a code it is `other`, as
 * before codes existed (histories from then replay as they ran).
 */
export async function withdraw(c: DoubtCase, a: WithdrawCaseInput): Promise<CaseSnapshot> {
  if (a.reasonCode == null) return closeByHandler(c, 'withdrawn', a);
  const effect = withdrawalEffect(a.reasonCode);
  c.decision = {
    kind: effect.outcome,
    at: now(),
    reason: a.reason,
    withdrawalReason: a.reasonCode,
    ...actorOf(a),
  };
  await condition(c.isClosed);
  return c.snapshot();
}

// ---------------------------------------------------------------- GT-3: more or other evidence

export function validateEvidenceRequest(c: DoubtCase, r: EvidenceRequestInput): void {
  requireText(r.message, 'A message', 'message');
  const { responseDueAt, responseWindowClosed } = c;
  refuseIf(checkEvidenceRequest({ ...facts(c), responseDueAt, responseWindowClosed }, now()));
}

/**
 * GT-3: recorded first (the Update answers then); the mail follows in the background, retried without a
 * limit like the contact mail, stating the text recorded here and the unchanged reply-by instant.
 */
export async function requestEvidence(c: DoubtCase, r: EvidenceRequestInput): Promise<EvidenceRequestResult> {
  const requestedAt = now();
  const requestId = uuid4();
  const responseDueAt = c.responseDueAt!; // the validator checked the window runs
  await db.recordEvidenceRequest({
    caseId: c.input.caseId,
    requestId,
    at: requestedAt.toISOString(),
    message: r.message,
    responseDueAt: responseDueAt.toISOString(),
    actor: actorOf(r),
  });
  c.mailEvidenceRequest(requestId);
  return { requestId, requestedAt: requestedAt.toISOString(), responseDueAt: responseDueAt.toISOString() };
}

// ---------------------------------------------------------------- GT-6 and notes: at any moment

export function validateAcmReport(_c: DoubtCase, n: NotifyAcmInput): void {
  requireText(n.message, 'A message', 'message');
}

export async function notifyAcm(c: DoubtCase, n: NotifyAcmInput): Promise<NotifyAcmResult> {
  const at = now();
  return db.notifyAcm({
    caseId: c.input.caseId,
    at: at.toISOString(),
    message: n.message,
    actor: actorOf(n),
    dedupeKey: c.nextAcmDedupeKey(),
  });
}

export function validateNote(_c: DoubtCase, n: AddNoteInput): void {
  requireText(n.text, 'A note text', 'text');
}

export async function addNote(c: DoubtCase, n: AddNoteInput): Promise<{ at: string }> {
  const at = now();
  await db.recordNote({ caseId: c.input.caseId, at: at.toISOString(), text: n.text, actor: actorOf(n) });
  return { at: at.toISOString() };
}
