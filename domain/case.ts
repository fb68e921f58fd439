/**
 * The doubt case's rules (DOMAIN.md GT-1..GT-8), each in one place: statuses, channels and outcomes; the
 * due times and their states; what closing a case does; which judgements may be given.
 *
 * Pure: no I/O, no clock (callers pass `now`), no node:*. The workflow imports it (deterministic on replay),
 * and so do the activities, repositories and services. SQL that repeats a rule here names the function it
 * mirrors (db/repositories/case-deadlines-sql.ts) and an agreement test holds both to the same answers.
 */
import { basisOutcome, type MethodPeriod } from './allocation.js';
import { addClockHours, withinOneWorkingDayDeadline } from './working-days.js';

// ---------------------------------------------------------------- statuses, channels, outcomes

export const CASE_STATUSES = [
  'blocked', // GT-2 block in force, party not yet contacted
  'awaiting_response', // GT-3 contacted, 72 hours running
  'awaiting_judgement', // evidence in, handler to judge
  'closed_mandate_accepted', // GT-8
  'closed_mandate_not_demonstrated', // GT-4 / GT-8 last paragraph
  'closed_wrongful_block', // GT-7
  'closed_withdrawn',
] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];

export const OPEN_STATUSES: CaseStatus[] = ['blocked', 'awaiting_response', 'awaiting_judgement'];
export const CLOSED_STATUSES: CaseStatus[] = [
  'closed_mandate_accepted',
  'closed_mandate_not_demonstrated',
  'closed_wrongful_block',
  'closed_withdrawn',
];
export const isClosedStatus = (status: CaseStatus): boolean => CLOSED_STATUSES.includes(status);

/**
 * Channels a signal reaches the grid operator through (seed 000, sections 1 and 3: the customer, ConsuWijzer,
 * the ACM, the AP — Autoriteit Persoonsgegevens, the Dutch data protection authority — and other consumer or
 * government organisations, market parties and branch organisations); supplier_report is GT-9.
 */
export const SIGNAL_CHANNELS = [
  'customer',
  'consuwijzer',
  'acm',
  'ap',
  'consumer_or_government_organisation',
  'market_party',
  'branch_organisation',
  'supplier_report',
] as const;
export type SignalChannel = (typeof SIGNAL_CHANNELS)[number];

/** How a case ends: the handler's judgement, the 72 hours running out, or the handler's action. */
export const OUTCOMES = ['accepted', 'not_demonstrated', 'wrongful_block', 'withdrawn'] as const;
export type OutcomeKind = (typeof OUTCOMES)[number];

/** Why a block ends (blocks.lift_reason). */
export const LIFT_REASONS = ['mandate_accepted', 'wrongful_block', 'case_withdrawn'] as const;
export type LiftReason = (typeof LIFT_REASONS)[number];

/**
 * GT-7: why a handler withdraws a case. Each says what happens to the block and to the data of the blocked
 * period (WITHDRAWALS below); `other` carries its text in the reason.
 */
export const WITHDRAWAL_REASONS = ['not_concerning_party', 'reporter_withdrew', 'duplicate', 'other'] as const;
export type WithdrawalReason = (typeof WITHDRAWAL_REASONS)[number];

export interface WithdrawalEffect {
  reasonCode: WithdrawalReason;
  /** How the case closes: a signal that did not concern the party was a wrongful block (GT-7). */
  outcome: Extract<OutcomeKind, 'wrongful_block' | 'withdrawn'>;
  /** Every withdrawal lifts this case's block. */
  blockLifted: true;
  /** The party may request the data of the blocked period afterwards (GT-7 / GT-8 retroactive release). */
  blockedPeriodReleased: boolean;
  /** GT-7 as GT-8: lifted within 1 working day of the decision; otherwise lifted at the closing itself. */
  unblockDeadline: boolean;
  rule: string;
  /** What the withdrawal does, as the response and the history state it. */
  effect: string;
}

const WITHDRAWALS: Record<WithdrawalReason, Omit<WithdrawalEffect, 'reasonCode' | 'blockLifted'>> = {
  // GT-7: the party was blocked for a signal about someone else: restored as in GT-8, retroactively.
  not_concerning_party: {
    outcome: 'wrongful_block',
    blockedPeriodReleased: true,
    unblockDeadline: true,
    rule: 'GT-7, GT-8',
    effect:
      'Wrongful block (GT-7): the block is lifted within 1 working day and the blocked period is released, so the party may request its data retroactively (as on acceptance, GT-8).',
  },
  // The doubt is gone, but nothing was demonstrated: GT-8 releases a period only on demonstrated consent.
  reporter_withdrew: {
    outcome: 'withdrawn',
    blockedPeriodReleased: false,
    unblockDeadline: false,
    rule: 'GT-7, GT-8',
    effect:
      'The reporter withdrew the signal: the block is lifted now; the blocked period stays closed, because consent for it was not demonstrated (GT-8) and the block was not wrongful (GT-7).',
  },
  // The same signal is handled in another case: its block stays and its outcome decides the period (the P4
  // gate refuses any period under an open or unreleased block), so this case's own period adds nothing.
  duplicate: {
    outcome: 'withdrawn',
    blockedPeriodReleased: true,
    unblockDeadline: false,
    rule: 'GT-2, GT-8',
    effect:
      "Duplicate signal: this case's block is lifted now and its own period released; the case about the same signal keeps its block and its outcome decides the blocked period (GT-2, GT-8).",
  },
  other: {
    outcome: 'withdrawn',
    blockedPeriodReleased: false,
    unblockDeadline: false,
    rule: 'GT-7, GT-8',
    effect:
      'Withdrawn (see the reason): the block is lifted now; the blocked period stays closed, because consent for it was not demonstrated (GT-8).',
  },
};

/** GT-7: what withdrawing a case for `reasonCode` does. A withdrawal without a code (older callers) is `other`. */
export function withdrawalEffect(reasonCode: WithdrawalReason | null | undefined): WithdrawalEffect {
  const code = reasonCode ?? 'other';
  return { reasonCode: code, blockLifted: true, ...WITHDRAWALS[code] };
}

/**
 * Who a case went to, so its evidence is kept beyond the decision (GT-8's destruction postponed by a legal
 * hold): the ACM (GT-6), the AP (privacy breach) or the disputes committee (geschillencommissie).
 */
export const LEGAL_HOLD_AUTHORITIES = ['acm', 'ap', 'disputes_committee'] as const;
export type LegalHoldAuthority = (typeof LEGAL_HOLD_AUTHORITIES)[number];

/** GT-1: contact made another way than the contact mail; it counts as the contact and starts the 72 hours. */
export const MANUAL_CONTACT_METHODS = ['telephone', 'meeting', 'letter'] as const;
export type ManualContactMethod = (typeof MANUAL_CONTACT_METHODS)[number];
export type ContactMethod = 'email' | ManualContactMethod;

export type JudgementDecision = 'accept' | 'reject';
export type Judgement = 'accepted' | 'rejected';

/** The outcome a judgement decides: evidence accepted (GT-8) or the mandate not demonstrated (GT-4). */
export const judgementOutcome = (decision: JudgementDecision): OutcomeKind =>
  decision === 'accept' ? 'accepted' : 'not_demonstrated';
export const judgementOf = (decision: JudgementDecision): Judgement =>
  decision === 'accept' ? 'accepted' : 'rejected';
/** The rules a judgement applies, as cited in its audit entry. */
export const judgementRule = (judgement: Judgement): string => (judgement === 'accepted' ? 'GT-8' : 'GT-4, GT-8');

// ---------------------------------------------------------------- due times

/** GT-3: the party has 72 clock hours (not working hours) from contact to answer. */
export const RESPONSE_WINDOW_HOURS = 72;

/** GT-1: contact the party within 1 working day of the signal (24:00 Amsterdam of the next working day). */
export const contactDeadline = (receivedAt: Date): Date => withinOneWorkingDayDeadline(receivedAt);

/**
 * GT-3: 72 hours from the moment of contact, never shorter than the deadline the contact mail stated (the
 * mail is sent a moment before the workflow sees it sent, and the party must never be cut off early).
 */
export function responseDeadline(contactedAt: Date, stated?: Date | null): Date {
  const enforced = addClockHours(contactedAt, RESPONSE_WINDOW_HOURS);
  return stated && stated > enforced ? stated : enforced;
}

/**
 * GT-3 after a contact by telephone, meeting or letter: the 72 hours run from when the party could know the
 * deadline, and recording the contact later never shortens them. So they run from the later of the stated
 * contact moment and the moment it is recorded (docs/rules.md "Readings we chose"); never shorter than a
 * deadline a contact mail stated either.
 */
export function manualContactResponseDeadline(contactedAt: Date, recordedAt: Date, stated?: Date | null): Date {
  return responseDeadline(recordedAt > contactedAt ? recordedAt : contactedAt, stated);
}

/** GT-8 (and GT-7 for a wrongful block): lift the block within 1 working day of the decision. */
export const unblockDeadline = (decidedAt: Date): Date => withinOneWorkingDayDeadline(decidedAt);

/** Start of the quarter-hour containing `d`: allocation works in quarter-hours (AL-1), so does GT-4's switch. */
export function quarterHourFloor(d: Date): Date {
  const q = 15 * 60_000;
  return new Date(Math.floor(d.getTime() / q) * q);
}

// ---------------------------------------------------------------- deadline states

export const DEADLINE_NAMES = ['contact', 'response', 'unblock'] as const;
export type DeadlineName = (typeof DEADLINE_NAMES)[number];
export const DEADLINE_STATES = ['pending', 'met', 'missed', 'not_applicable'] as const;
export type DeadlineState = (typeof DEADLINE_STATES)[number];

export interface CaseDeadline {
  /** null while it cannot be known yet (the 72 hours start at contact). */
  dueAt: Date | null;
  doneAt: Date | null;
  state: DeadlineState;
  /** The rule that sets the deadline. */
  rule: 'GT-1' | 'GT-3' | 'GT-7' | 'GT-8';
}

/**
 * One deadline: met when done strictly before the due instant (due instants are 24:00 Amsterdam, exclusive,
 * or 72 clock hours); done at or after it, or not done once it has passed, is missed; otherwise pending.
 * A due time not known yet is pending.
 */
export function deadlineState(dueAt: Date | null, doneAt: Date | null, now: Date, applicable = true): DeadlineState {
  if (!applicable) return 'not_applicable';
  if (!dueAt) return 'pending';
  if (doneAt) return doneAt < dueAt ? 'met' : 'missed';
  return now >= dueAt ? 'missed' : 'pending';
}

/** What the deadlines of a case depend on; a doubt_cases row has exactly these fields. */
export interface CaseDeadlineFacts {
  /** A decided case counts as closed with the status it closes to (the workflow, between decision and close). */
  status: CaseStatus;
  /** When the case was closed (the workflow: decided). */
  closedAt: Date | null;
  contactDueAt: Date;
  contactedAt: Date | null;
  responseDueAt: Date | null;
  /** The first answer counted within the 72 hours. */
  respondedAt: Date | null;
  unblockDueAt: Date | null;
  unblockedAt: Date | null;
}

/**
 * Every deadline of a case with its due time and state: the case view, the workflow's own view, the
 * `breached` filter and the signal report all mean this. A closed case that never reached a deadline
 * (closed before contact was due, decided before the 72 hours ran out without an answer, no acceptance or
 * wrongful block to unblock after) has it not applicable; closed after a contact that never came, missed.
 */
export function caseDeadlines(f: CaseDeadlineFacts, now: Date): Record<DeadlineName, CaseDeadline> {
  const closed = isClosedStatus(f.status);
  const contactState =
    closed && !f.contactedAt
      ? f.closedAt && f.closedAt >= f.contactDueAt
        ? 'missed'
        : 'not_applicable'
      : deadlineState(f.contactDueAt, f.contactedAt, now);
  const responseApplicable = f.responseDueAt
    ? !(closed && !f.respondedAt && f.closedAt && f.closedAt < f.responseDueAt) // decided before the 72 hours ran out
    : !closed;
  return {
    contact: { dueAt: f.contactDueAt, doneAt: f.contactedAt, state: contactState, rule: 'GT-1' },
    response: {
      dueAt: f.responseDueAt,
      doneAt: f.respondedAt,
      state: deadlineState(f.responseDueAt, f.respondedAt, now, responseApplicable),
      rule: 'GT-3',
    },
    unblock: {
      dueAt: f.unblockDueAt,
      doneAt: f.unblockedAt,
      state: deadlineState(f.unblockDueAt, f.unblockedAt, now, f.unblockDueAt !== null || !closed),
      rule: f.status === 'closed_wrongful_block' ? 'GT-7' : 'GT-8',
    },
  };
}

/**
 * The instant the case's next deadline expires, for sorting a list by what is due (GET /cases?sort=due): the
 * earliest of — while the case is open — the contact (GT-1) until it is made, and the end of the party's 72 hours
 * (GT-3) until the case is decided, answered or not; and the unblock (GT-7, GT-8) until the block is lifted.
 * An answer does not end the 72 hours' instant: evidence that came in waits for the handler's judgement by then
 * (the party may add to it until they end, GT-3, and the workflow reminds the handler from then on), and a case
 * whose evidence was rejected is decided at that instant (GT-4). So an answered, unjudged case sorts by it, and
 * once it has passed, with the overdue ones (docs/rules.md "Readings we chose": an answered case waits behind no
 * unanswered one). Overdue ones count too (they sort first); null when nothing is due. It does not depend on
 * `now`, so a page boundary does not move while the list is read.
 * SQL mirror: the generated column doubt_cases.next_due_at (db/schema/cases.ts), held to this by
 * test/reports/case-deadlines-agreement.test.ts.
 */
export function nextDueAt(
  f: Pick<
    CaseDeadlineFacts,
    'status' | 'contactDueAt' | 'contactedAt' | 'responseDueAt' | 'unblockDueAt' | 'unblockedAt'
  >,
): Date | null {
  const open = !isClosedStatus(f.status);
  const due = [
    open && !f.contactedAt ? f.contactDueAt : null,
    open ? f.responseDueAt : null,
    !f.unblockedAt ? f.unblockDueAt : null,
  ].filter((d): d is Date => d !== null);
  return due.length === 0 ? null : new Date(Math.min(...due.map((d) => d.getTime())));
}

/** A case is breached when at least one of its deadlines was missed. */
export const isBreached = (deadlines: Record<DeadlineName, Pick<CaseDeadline, 'state'>>): boolean =>
  DEADLINE_NAMES.some((n) => deadlines[n].state === 'missed');

// ---------------------------------------------------------------- opening and closing

/** The facts GT-4 is judged on, as they were at the signal. */
export interface IsmaFacts {
  /** The party the case is about. */
  partyId: string;
  /** The connection's supplier of record at the signal (null: none). */
  supplierOfRecordId: string | null;
  /** The connection's allocation basis period in force at the signal (null: none recorded). */
  basis: Pick<MethodPeriod, 'method' | 'basis' | 'basisPartyId'> | null;
  /** AL-5: no remote reading, so no quarter-hour reading for a signal to concern. */
  remoteReadingOptOut: boolean;
}

/**
 * Whether the connection is allocated from its readings (iSMA) at a moment: iSMA on a basis in force then
 * (basisOutcome; none recorded is profile, AL-4) and not opted out of remote reading (AL-5).
 */
export function onIsmaAt(f: Omit<IsmaFacts, 'partyId'>): boolean {
  return basisOutcome(f.basis, f.supplierOfRecordId) === 'isma' && !f.remoteReadingOptOut;
}

/** Why GT-4 does not apply to a case (or that it does). */
export type Gt4Verdict =
  { applies: true } | { applies: false; why: 'party_not_supplier' | 'not_on_isma' | 'basis_not_supplier_request' };

/**
 * GT-4 concerns the supplier's iSMA reading (seed 000 §3.4: "indien de leverancier niet binnen 72 uur
 * reageert"): it applies only when the case's party is the connection's supplier of record at the signal,
 * the connection is on iSMA then on a recorded basis (onIsmaAt), and that iSMA rests on this supplier's
 * mandate — its iSMA request. A case against a service provider or a supplier that does not supply the
 * connection, or on a connection whose iSMA rests on the customer's consent or a legal provision, blocks
 * the party's P4 requests (GT-2) and touches nobody's allocation.
 */
export function gt4Applies(f: IsmaFacts): Gt4Verdict {
  if (f.supplierOfRecordId === null || f.partyId !== f.supplierOfRecordId)
    return { applies: false, why: 'party_not_supplier' };
  if (!onIsmaAt(f)) return { applies: false, why: 'not_on_isma' };
  if (f.basis?.basis !== 'supplier_isma_request') return { applies: false, why: 'basis_not_supplier_request' };
  return { applies: true };
}

/**
 * GT-4: the case's iSMA variant. Not given, it is gt4Applies at the signal; the handler may say the signal
 * concerns P4 requests only (false), or that it concerns the iSMA reading (true), refused when GT-4 cannot
 * apply: the party is not the supplier of record, the connection was not on iSMA, or its iSMA did not rest
 * on the supplier's request.
 */
export function ismaVariant(
  stated: boolean | undefined,
  verdict: Gt4Verdict,
  facts: { connectionEan: string; at: Date },
): { isma: boolean; derived: boolean } | CaseRefusal {
  if (stated === undefined) return { isma: verdict.applies, derived: true };
  if (!stated || verdict.applies) return { isma: stated, derived: false };
  const at = facts.at.toISOString();
  const details = { connectionEan: facts.connectionEan, at };
  switch (verdict.why) {
    case 'party_not_supplier':
      return {
        kind: 'state',
        code: 'isma_party_not_supplier',
        message: `The party is not the supplier of record of connection ${facts.connectionEan} at the signal (${at}): GT-4 concerns the supplier's iSMA reading, so this case blocks the party's P4 requests and touches no allocation`,
        field: 'isma',
        details,
      };
    case 'not_on_isma':
      return {
        kind: 'state',
        code: 'connection_not_on_isma',
        message: `Connection ${facts.connectionEan} was not on iSMA on a recorded basis at the signal (${at}): the signal cannot concern the iSMA reading (GT-4)`,
        field: 'isma',
        details,
      };
    case 'basis_not_supplier_request':
      return {
        kind: 'state',
        code: 'isma_not_supplier_request',
        message: `Connection ${facts.connectionEan}'s iSMA at the signal (${at}) rests on the customer's consent or a legal provision, not on the supplier's iSMA request: GT-4 does not apply`,
        field: 'isma',
        details,
      };
  }
}

/**
 * What opening a case does besides the block (GT-2, placed at intake): an iSMA connection stays on iSMA but
 * is allocated with '0' values while the case is open (GT-4, AL-6).
 */
export function openingEffects(c: { isma: boolean }): { zeroAllocation: boolean; rule: string } {
  return { zeroAllocation: c.isma, rule: c.isma ? 'GT-2, GT-4' : 'GT-2' };
}

export interface BlockLift {
  reason: LiftReason;
  /** GT-8: the party may request the data of the blocked period afterwards. */
  retroactive: boolean;
  rule: 'GT-7' | 'GT-8';
}

export interface ClosingEffects {
  status: CaseStatus;
  /** The block is lifted (GT-7, GT-8), or it stays (null). */
  lift: BlockLift | null;
  /** GT-4: the connection goes from iSMA to profile allocation, from this quarter-hour; null: no switch. */
  profileEffectiveFrom: Date | null;
  /** GT-8 / GT-7: the block must be lifted before this; null when there is nothing to unblock by a deadline. */
  unblockDueAt: Date | null;
  /** The rules applied, as cited in the closing audit entry. */
  rule: string;
}

const CLOSING: Record<OutcomeKind, { status: CaseStatus; lift: BlockLift | null; unblockDeadline: boolean }> = {
  accepted: {
    status: 'closed_mandate_accepted',
    lift: { reason: 'mandate_accepted', retroactive: true, rule: liftRule('mandate_accepted') },
    unblockDeadline: true,
  },
  not_demonstrated: { status: 'closed_mandate_not_demonstrated', lift: null, unblockDeadline: false },
  // GT-7: a wrongful block is restored as in GT-8, retroactively and within the same deadline.
  wrongful_block: {
    status: 'closed_wrongful_block',
    lift: { reason: 'wrongful_block', retroactive: true, rule: liftRule('wrongful_block') },
    unblockDeadline: true,
  },
  // GT-7: withdrawn (the reason's effect: withdrawalEffect); the block goes at the closing, without a deadline.
  withdrawn: {
    status: 'closed_withdrawn',
    lift: { reason: 'case_withdrawn', retroactive: false, rule: liftRule('case_withdrawn') },
    unblockDeadline: false,
  },
};

/** The rule a lift of the block applies, by its reason (the case's closing lift, or a handler's lift of a block). */
export function liftRule(reason: LiftReason): BlockLift['rule'] {
  return reason === 'mandate_accepted' ? 'GT-8' : 'GT-7';
}

/** The status a case closes with. */
export const closingStatus = (outcome: OutcomeKind): CaseStatus => CLOSING[outcome].status;

/**
 * What closing a case with `outcome` does. `decidedAt` starts the unblock deadline (the acceptance or the
 * wrongful-block decision); `closedAt` is when the effects take hold, the GT-4 profile switch from its
 * quarter-hour. The workflow computes the instants; the closing activity applies status, lift and switch.
 */
export function closingEffects(
  outcome: OutcomeKind,
  c: { isma: boolean; decidedAt: Date; closedAt: Date; withdrawalReason?: WithdrawalReason | null },
): ClosingEffects {
  const closing = CLOSING[outcome];
  const { status, unblockDeadline: unblocks } = closing;
  // GT-7: a withdrawal's reason decides whether the blocked period is released (withdrawalEffect).
  const lift =
    outcome === 'withdrawn' && closing.lift && c.withdrawalReason
      ? { ...closing.lift, retroactive: withdrawalEffect(c.withdrawalReason).blockedPeriodReleased }
      : closing.lift;
  const profileSwitch = outcome === 'not_demonstrated' && c.isma; // GT-4
  return {
    status,
    lift,
    profileEffectiveFrom: profileSwitch ? quarterHourFloor(c.closedAt) : null,
    unblockDueAt: unblocks ? unblockDeadline(c.decidedAt) : null,
    rule: lift ? lift.rule : profileSwitch ? 'GT-4, GT-8' : 'GT-8',
  };
}

// ---------------------------------------------------------------- refusals

/** Why an action on a case is refused: a stable code, the kind of refusal (lib/errors DomainErrorKind) and the input at fault. */
export interface CaseRefusal {
  kind: 'validation' | 'not_found' | 'state';
  code:
    | 'reason_required'
    | 'case_closed'
    | 'nothing_to_judge'
    | 'response_not_found'
    | 'already_judged'
    | 'response_refused'
    | 'response_without_evidence'
    | 'already_contacted'
    | 'contact_time_invalid'
    | 'connection_not_on_isma'
    | 'isma_party_not_supplier'
    | 'isma_not_supplier_request'
    | 'response_window_not_open'
    | 'response_window_closed'
    | 'duplicate_response';
  message: string;
  /** The domain input at fault ('reason', 'responseId'); api/ maps it to the request path. */
  field?: string;
  details?: Record<string, unknown>;
}

export interface CaseActionFacts {
  caseId: string;
  reference: string;
  status: CaseStatus;
  /** The workflow has decided and is closing (its status does not show it yet). */
  decided?: boolean;
}

/** A case takes no further decisions once it is decided or closed. */
export function checkCaseOpen(c: CaseActionFacts): CaseRefusal | null {
  if (c.decided && !isClosedStatus(c.status))
    return {
      kind: 'state',
      code: 'case_closed',
      message: `Case ${c.reference} is being closed`,
      details: { caseId: c.caseId, status: c.status },
    };
  if (isClosedStatus(c.status))
    return {
      kind: 'state',
      code: 'case_closed',
      message: `Case ${c.reference} is closed (${c.status})`,
      details: { caseId: c.caseId, status: c.status },
    };
  return null;
}

export interface JudgedResponse {
  responseId: string;
  /** staged: stored, not yet counted by the workflow; received: counted within the 72 hours; refused: late. */
  status: 'staged' | 'received' | 'refused';
  hasEvidence: boolean;
  judgement: Judgement | null;
}

export interface JudgementRequest {
  responseId: string;
  decision: JudgementDecision;
  reason?: string | null;
}

/**
 * Whether the handler may judge this response now (GT-4, GT-8): a rejection needs a reason; the case must
 * be open with a counted, unjudged response; only a response with mandate evidence can be accepted. The API
 * asks it first (on the rows), the workflow's validator again (on its own state): one rule, one answer.
 */
export function checkJudgement(
  c: CaseActionFacts & { responses: readonly JudgedResponse[] },
  j: JudgementRequest,
): CaseRefusal | null {
  if (j.decision === 'reject' && !j.reason?.trim())
    return { kind: 'validation', code: 'reason_required', message: 'A rejection needs a reason', field: 'reason' };
  const closed = checkCaseOpen(c);
  if (closed) return closed;
  if (!c.responses.some((r) => r.status === 'received' && r.judgement === null)) {
    return {
      kind: 'state',
      code: 'nothing_to_judge',
      message: `No response of case ${c.reference} awaits a judgement`,
      details: { caseId: c.caseId, status: c.status },
    };
  }
  const target = c.responses.find((r) => r.responseId === j.responseId);
  if (!target)
    return {
      kind: 'not_found',
      code: 'response_not_found',
      message: `No response ${j.responseId} in case ${c.reference}`,
      field: 'responseId',
    };
  if (target.judgement)
    return {
      kind: 'state',
      code: 'already_judged',
      message: `Response ${j.responseId} was already judged (${target.judgement})`,
    };
  if (target.status !== 'received')
    return {
      kind: 'state',
      code: 'response_refused',
      message: `Response ${j.responseId} was not counted (${target.status})`,
    };
  if (j.decision === 'accept' && !target.hasEvidence) {
    return {
      kind: 'state',
      code: 'response_without_evidence',
      message: 'A response without mandate evidence cannot be accepted',
    };
  }
  return null;
}

/**
 * GT-1: whether the handler may record contact made another way, at `contactedAt`: the case open, not yet
 * contacted, and the moment between the signal and now (the 72 hours run from it, GT-3).
 */
export function checkManualContact(
  c: CaseActionFacts & { contactedAt: Date | null; receivedAt: Date },
  contactedAt: Date,
  now: Date,
): CaseRefusal | null {
  const closed = checkCaseOpen(c);
  if (closed) return closed;
  if (c.contactedAt)
    return {
      kind: 'state',
      code: 'already_contacted',
      message: `The party of case ${c.reference} was already contacted at ${c.contactedAt.toISOString()}`,
      details: { contactedAt: c.contactedAt.toISOString() },
    };
  if (contactedAt.getTime() > now.getTime() || contactedAt.getTime() < c.receivedAt.getTime())
    return {
      kind: 'validation',
      code: 'contact_time_invalid',
      message: 'The contact must lie between the signal and now',
      field: 'contactedAt',
      details: { receivedAt: c.receivedAt.toISOString(), now: now.toISOString() },
    };
  return null;
}

/**
 * GT-3: the handler may ask the party for more or other evidence only while its 72 hours run: after contact
 * (before it they have not started) and before they end (the request does not restart them).
 */
export function checkEvidenceRequest(
  c: CaseActionFacts & { responseDueAt: Date | null; responseWindowClosed?: boolean },
  now: Date,
): CaseRefusal | null {
  const closed = checkCaseOpen(c);
  if (closed) return closed;
  if (!c.responseDueAt)
    return {
      kind: 'state',
      code: 'response_window_not_open',
      message: `The party of case ${c.reference} has not been contacted yet: its 72 hours have not started (GT-1, GT-3)`,
      details: { caseId: c.caseId, status: c.status },
    };
  if (c.responseWindowClosed || now.getTime() >= c.responseDueAt.getTime())
    return {
      kind: 'state',
      code: 'response_window_closed',
      message: `The 72 hours of case ${c.reference} ended at ${c.responseDueAt.toISOString()}: more evidence can no longer be asked for (GT-3, GT-8)`,
      details: { caseId: c.caseId, responseDueAt: c.responseDueAt.toISOString() },
    };
  return null;
}

/** GT-8 explanation given with every refusal of late evidence (by the API on the rows, by the workflow on its state). */
export const WINDOW_CLOSED_MESSAGE =
  'The 72-hour window to demonstrate the mandate has closed (GT-3, GT-8). Late evidence does not reopen the case: ' +
  'restart access through the regular processes (the P4 request process, or iSMA).';

/**
 * GT-3 / GT-8: whether the party's response still counts: not once the case is decided or closed, nor once
 * its 72 hours are over (late evidence never reopens the case); each response counts once.
 */
export function checkResponse(
  c: CaseActionFacts & {
    responseDueAt: Date | null;
    responseWindowClosed: boolean;
    responseIds: readonly string[];
  },
  responseId: string,
  now: Date,
): CaseRefusal | null {
  if (
    c.decided ||
    isClosedStatus(c.status) ||
    c.responseWindowClosed ||
    (c.responseDueAt && now.getTime() >= c.responseDueAt.getTime())
  )
    return {
      kind: 'state',
      code: 'response_window_closed',
      message: WINDOW_CLOSED_MESSAGE,
      details: { caseId: c.caseId },
    };
  if (c.responseIds.includes(responseId))
    return { kind: 'state', code: 'duplicate_response', message: `Response ${responseId} was already submitted` };
  return null;
}
