/**
 * The doubt-case workflow's database steps (steps 1-7). Each records one step the workflow decided, with its
 * audit entry in the same transaction, and is idempotent (activities are retried). Times come from the
 * workflow (`at`), never from this process's clock, so the record matches the workflow's deadlines.
 * Input and result shapes are the activities' payloads, recorded in every case's history: keep them.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.js';
import type { Actor } from '../../db/repositories/actor.js';
import { recordAudit, recordAuditOnce } from '../../db/repositories/audit.js';
import { liftBlock, placeBlock } from '../../db/repositories/blocks.js';
import { endZeroAllocation, startZeroAllocation, switchToProfileAllocation } from '../../db/repositories/allocation.js';
import {
  caseAudit,
  judgeResponse,
  markCaseClosed,
  markCaseJudged,
  markCaseSetUp,
  markContacted,
  markResponseReceived,
  recordContactAlarm,
  requireCase,
} from '../../db/repositories/cases.js';
import { disposeEvidence, lockCase } from '../../db/repositories/evidence.js';
import type { EvidenceDisposal } from '../../domain/evidence.js';
import type { SignedWith } from '../../domain/visibility.js';
import { insertEvidenceRequest } from '../../db/repositories/evidence-requests.js';
import { auditLog, type DoubtCase } from '../../db/schema/index.js';
import {
  closingEffects,
  isClosedStatus,
  judgementRule,
  openingEffects,
  type CaseStatus,
  type ClosingEffects,
  type Judgement,
  type ManualContactMethod,
  type OutcomeKind,
  type WithdrawalEffect,
  type WithdrawalReason,
  withdrawalEffect,
} from '../../domain/case.js';
import { openBreachOnClose } from '../breach/assessments.js';
import type { StepDeps } from '../step-deps.js';

/** The case workflow as the actor of the steps it takes itself. */
export const workflowActor = (caseId: string): Actor => ({
  actor: `workflow:${caseId}`,
  actorRole: 'system',
  actorPartyId: null,
});

// ---------------------------------------------------------------- step 1: set-up (GT-2, GT-4)

export interface SetUpCaseInput {
  caseId: string;
  at: string;
  contactDueAt: string;
}

/** Step 1: the block (placed by intake; idempotent here) and, for iSMA, the '0' allocation (GT-2, GT-4). */
export async function setUpCase(db: Db, input: SetUpCaseInput): Promise<{ zeroAllocation: boolean }> {
  const at = new Date(input.at);
  const row = await requireCase(db, input.caseId);
  const actor = workflowActor(row.id);
  const effects = openingEffects(row);
  await db.transaction(async (tx) => {
    await placeBlock(tx, {
      caseId: row.id,
      partyId: row.partyId,
      connectionEan: row.connectionEan,
      at: row.createdAt,
      ...actor,
    });
    if (effects.zeroAllocation)
      await startZeroAllocation(tx, { caseId: row.id, connectionEan: row.connectionEan, at, ...actor });
    const found = await markCaseSetUp(tx, { caseId: row.id, contactDueAt: new Date(input.contactDueAt), at });
    if (found) {
      await recordAuditOnce(
        tx,
        caseAudit(
          row.id,
          actor,
          'case.workflow_started',
          { contactDueAt: input.contactDueAt, zeroAllocation: effects.zeroAllocation, rule: effects.rule },
          at,
        ),
      );
    }
  });
  return { zeroAllocation: effects.zeroAllocation };
}

// ---------------------------------------------------------------- contact (GT-1, GT-3)

export interface RecordContactInput {
  caseId: string;
  contactedAt: string;
  responseDueAt: string;
  messageId: string | null;
  recipients: string[];
  status: CaseStatus;
  /** GT-1 by telephone, meeting or letter (recorded by the handler) instead of the contact mail. */
  manual?: {
    method: ManualContactMethod;
    contactPerson: string;
    summary: string;
    actor: Actor;
    recordedAt: string;
  };
}

/** GT-1 met (or late): the moment of contact and the 72-hour deadline that runs from it. */
export async function recordContact(db: Db, input: RecordContactInput): Promise<void> {
  const contactedAt = new Date(input.contactedAt);
  const { manual } = input;
  await db.transaction(async (tx) => {
    const row = await markContacted(tx, {
      caseId: input.caseId,
      contactedAt,
      responseDueAt: new Date(input.responseDueAt),
      messageId: input.messageId,
      method: manual?.method ?? 'email',
      status: input.status,
    });
    if (!row) return; // recorded by an earlier attempt
    await recordAudit(
      tx,
      caseAudit(
        input.caseId,
        manual?.actor ?? workflowActor(input.caseId),
        'case.contacted',
        {
          method: manual?.method ?? 'email',
          messageId: input.messageId,
          recipients: input.recipients,
          ...(manual
            ? { contactPerson: manual.contactPerson, summary: manual.summary, recordedAt: manual.recordedAt }
            : {}),
          contactDueAt: row.contactDueAt.toISOString(),
          met: contactedAt < row.contactDueAt,
          responseDueAt: input.responseDueAt,
          rule: manual ? 'GT-1, GT-3' : 'GT-1, GT-3, GT-10',
        },
        contactedAt,
      ),
    );
  });
}

export interface ContactAlarmInput {
  caseId: string;
  at: string;
  contactDueAt: string;
}

/**
 * GT-1 without contact: one step for "the deadline nears" (`at_risk`: recorded first, the alert mail follows
 * separately) and "it has passed" (`missed`: recorded, never silently dropped). Every run tells the log.
 */
export async function contactAlarm(
  { db, log }: Pick<StepDeps, 'db' | 'log'>,
  alarm: 'at_risk' | 'missed',
  input: ContactAlarmInput,
): Promise<void> {
  await recordContactAlarm(db, {
    ...workflowActor(input.caseId),
    caseId: input.caseId,
    at: new Date(input.at),
    contactDueAt: input.contactDueAt,
    alarm,
  });
  const fields = { caseId: input.caseId, contactDueAt: input.contactDueAt };
  if (alarm === 'at_risk') log.warn('contact with the party not achieved while the GT-1 deadline nears', fields);
  else log.error('GT-1 contact deadline missed', fields);
}

// ---------------------------------------------------------------- the response and its judgement (GT-3, GT-8)

export interface AcceptResponseInput {
  caseId: string;
  responseId: string;
  at: string;
  status: CaseStatus;
}

/** GT-3: the workflow counted a staged response within the 72 hours. */
export async function acceptResponse(db: Db, input: AcceptResponseInput): Promise<{ hasEvidence: boolean }> {
  const resp = await markResponseReceived(db, {
    ...workflowActor(input.caseId),
    caseId: input.caseId,
    responseId: input.responseId,
    at: new Date(input.at),
    status: input.status,
  });
  return { hasEvidence: resp.evidenceSha256 !== null };
}

export interface ResponseWindowClosedInput {
  caseId: string;
  at: string;
  responded: boolean;
  pendingEvidence: boolean;
}

/** GT-3: the 72 hours ended; without a response, the missed deadline is recorded too. Once per case. */
export async function recordResponseWindowClosed(db: Db, input: ResponseWindowClosedInput): Promise<void> {
  const at = new Date(input.at);
  const actor = workflowActor(input.caseId);
  await db.transaction(async (tx) => {
    const first = await recordAuditOnce(
      tx,
      caseAudit(
        input.caseId,
        actor,
        'case.response_window_closed',
        { responded: input.responded, pendingEvidence: input.pendingEvidence, rule: 'GT-3' },
        at,
      ),
    );
    if (first && !input.responded)
      await recordAudit(
        tx,
        caseAudit(input.caseId, actor, 'case.deadline_missed', { deadline: 'response', rule: 'GT-3' }, at),
      );
  });
}

export interface RecordJudgementInput {
  caseId: string;
  responseId: string;
  decision: Judgement;
  reason: string | null;
  at: string;
  actor: Actor;
  /** A rejection ("not demonstrated") is signed (issue 19): the step-up or key holder it was signed with. */
  signedWith?: SignedWith;
  /** The case's status after a judgement that leaves it open (a rejection within the 72 hours, GT-3). */
  status?: CaseStatus;
}

export async function recordJudgement(db: Db, input: RecordJudgementInput): Promise<void> {
  const at = new Date(input.at);
  await db.transaction(async (tx) => {
    const judged = await judgeResponse(tx, {
      caseId: input.caseId,
      responseId: input.responseId,
      judgement: input.decision,
      reason: input.reason,
      at,
      by: input.actor.actor,
      byRole: input.actor.actorRole ?? null,
    });
    if (!judged) return;
    await markCaseJudged(tx, { caseId: input.caseId, at, ...(input.status ? { status: input.status } : {}) });
    // A rejection that leaves the case open: the party keeps the rest of its 72 hours (GT-3).
    const keptOpen = input.decision === 'rejected' && Boolean(input.status);
    await recordAudit(
      tx,
      caseAudit(
        input.caseId,
        input.actor,
        'case.evidence_judged',
        {
          responseId: input.responseId,
          decision: input.decision,
          reason: input.reason,
          ...(input.status ? { caseOpen: true, status: input.status } : {}),
          ...(input.signedWith ? { signedWith: input.signedWith } : {}),
          rule: keptOpen ? 'GT-3, GT-4' : judgementRule(input.decision),
        },
        at,
      ),
    );
  });
}

// ---------------------------------------------------------------- steps 5-7: closing (GT-4, GT-7, GT-8, GT-11)

export interface CloseCaseInput {
  caseId: string;
  outcome: OutcomeKind;
  at: string;
  reason: string | null;
  actor: Actor;
  unblockDueAt: string | null;
  profileEffectiveFrom: string | null;
  /** GT-7: the handler withdrew the case for this reason (null: without a code, as `other`). */
  withdrawalReason?: WithdrawalReason | null;
}

export interface CloseCaseResult {
  status: CaseStatus;
  unblockedAt: string | null;
  evidenceDestroyed: number;
}

/**
 * Steps 5-7: apply the outcome (domain closingEffects) in one transaction: lift the block (GT-7, GT-8) or
 * keep it; end the '0' allocation and, for a negative iSMA outcome, switch to profile allocation (GT-4,
 * AL-6); destroy the evidence copies (GT-8); close the row. The instants come from the workflow. After the
 * commit, a case closed "mandate not demonstrated" gets its breach assessment (GT-11).
 */
export async function closeCase(
  { db, temporalClient }: Pick<StepDeps, 'db' | 'temporalClient'>,
  input: CloseCaseInput,
  taskQueue: string,
): Promise<CloseCaseResult> {
  const closed = await db.transaction((tx) => closeInTransaction(tx, input));
  await openBreachOnClose(temporalClient, taskQueue, input.caseId, closed.status); // GT-11
  return closed;
}

/** What the closing does to this case: the domain's effects, and a withdrawal's reason and effect (GT-7). */
interface ClosingPlan {
  at: Date;
  effects: ClosingEffects;
  withdrawal: WithdrawalEffect | null;
}

/** What the closing did, for the row and the audit entry. */
interface ClosingDone {
  unblockedAt: Date | null;
  profileFrom: Date | null;
  destroyed: number;
  disposal: EvidenceDisposal;
}

async function closeInTransaction(tx: DbOrTx, input: CloseCaseInput): Promise<CloseCaseResult> {
  const row = await lockCase(tx, input.caseId); // a legal hold set meanwhile waits, or is seen
  if (isClosedStatus(row.status)) {
    return {
      status: row.status,
      unblockedAt: row.unblockedAt ? row.unblockedAt.toISOString() : null,
      evidenceDestroyed: 0,
    };
  }
  const plan = closingPlan(row, input);
  const unblockedAt = await liftOnClose(tx, row, input.actor, plan);
  const profileFrom = await switchToProfileOnClose(tx, row, input, plan);
  await markCaseClosed(tx, {
    caseId: row.id,
    status: plan.effects.status,
    at: plan.at,
    closedBy: input.actor.actor,
    closeReason: input.reason,
    ...(plan.withdrawal ? { withdrawalReason: plan.withdrawal.reasonCode } : {}),
    unblockDueAt: input.unblockDueAt ? new Date(input.unblockDueAt) : null,
    unblockedAt,
    profileEffectiveFrom: profileFrom,
  });
  // GT-8: the copies go now after an acceptance or when the party was not at fault; after "not demonstrated"
  // they are kept for the GT-11 assessment and GT-5 reviews; a legal hold keeps them until its release.
  const closedRow: DoubtCase = {
    ...row,
    status: plan.effects.status,
    withdrawalReason: plan.withdrawal?.reasonCode ?? row.withdrawalReason,
  };
  const { disposal, destroyed } = await disposeEvidence(tx, {
    caseId: row.id,
    at: plan.at,
    actor: input.actor,
    row: closedRow,
  });
  const done: ClosingDone = { unblockedAt, profileFrom, destroyed, disposal };
  await recordAudit(tx, closedAudit(row, input, plan, done));
  return {
    status: plan.effects.status,
    unblockedAt: unblockedAt ? unblockedAt.toISOString() : null,
    evidenceDestroyed: destroyed,
  };
}

function closingPlan(row: DoubtCase, input: CloseCaseInput): ClosingPlan {
  const at = new Date(input.at);
  // A withdrawal without a code (before codes existed) is `other`: the same effect as then, now recorded.
  const withdrawn = input.withdrawalReason !== undefined || input.outcome === 'withdrawn';
  const withdrawal = withdrawn ? withdrawalEffect(input.withdrawalReason) : null;
  const effects = closingEffects(input.outcome, {
    isma: row.isma,
    decidedAt: at,
    closedAt: at,
    withdrawalReason: withdrawal?.reasonCode ?? null,
  });
  return { at, effects, withdrawal };
}

/** GT-7 / GT-8: lift the block (and end an iSMA case's '0' allocation with it); its end, or null when it stays. */
async function liftOnClose(tx: DbOrTx, row: DoubtCase, actor: Actor, plan: ClosingPlan): Promise<Date | null> {
  const { lift } = plan.effects;
  if (!lift) return null;
  const { block } = await liftBlock(tx, {
    caseId: row.id,
    at: plan.at,
    reason: lift.reason,
    retroactive: lift.retroactive,
    ...actor,
  });
  if (row.isma)
    await endZeroAllocation(tx, { caseId: row.id, at: plan.at, reason: lift.reason, ...workflowActor(row.id) });
  return block.endedAt;
}

/** GT-4 / AL-6: a negative iSMA outcome switches to profile allocation; its quarter-hour, or null. */
async function switchToProfileOnClose(
  tx: DbOrTx,
  row: DoubtCase,
  input: CloseCaseInput,
  plan: ClosingPlan,
): Promise<Date | null> {
  if (!plan.effects.profileEffectiveFrom) return null;
  // The workflow's quarter-hour (its clock); the row's own only if the workflow sent none.
  const profileFrom = input.profileEffectiveFrom
    ? new Date(input.profileEffectiveFrom)
    : plan.effects.profileEffectiveFrom;
  const sys = workflowActor(row.id);
  await switchToProfileAllocation(tx, {
    caseId: row.id,
    connectionEan: row.connectionEan,
    effectiveFrom: profileFrom,
    ...sys,
  });
  await endZeroAllocation(tx, { caseId: row.id, at: profileFrom, reason: 'profile_allocation', ...sys });
  return profileFrom;
}

function closedAudit(row: DoubtCase, input: CloseCaseInput, plan: ClosingPlan, done: ClosingDone) {
  const { effects, withdrawal } = plan;
  return caseAudit(
    row.id,
    input.actor,
    'case.closed',
    {
      outcome: input.outcome,
      status: effects.status,
      reason: input.reason,
      blockLifted: done.unblockedAt !== null,
      retroactive: effects.lift?.retroactive ?? false,
      unblockDueAt: input.unblockDueAt,
      profileEffectiveFrom: done.profileFrom ? done.profileFrom.toISOString() : null,
      evidenceDestroyed: done.destroyed,
      // GT-8: the automatic hold, recorded: since the close, why, and what it waits for.
      ...(done.disposal.destroy
        ? { evidenceDestroyedReason: done.disposal.reason }
        : {
            evidenceHold: {
              since: plan.at.toISOString(),
              reason: done.disposal.waitsFor.includes('legal_hold')
                ? 'legal hold'
                : 'mandate not demonstrated: kept for the procedures that may need it (GT-8, GT-11, GT-5)',
              waitsFor: done.disposal.waitsFor,
            },
          }),
      ...(row.legalHoldSince ? { evidenceKeptUnderLegalHold: true, legalHoldAuthority: row.legalHoldAuthority } : {}),
      // GT-7: the withdrawal's reason and what it did to the block and the blocked period.
      ...(withdrawal
        ? {
            withdrawalReason: withdrawal.reasonCode,
            blockedPeriodReleased: withdrawal.blockedPeriodReleased,
            effect: withdrawal.effect,
          }
        : {}),
      rule: withdrawal ? withdrawal.rule : effects.rule,
    },
    plan.at,
  );
}

// ---------------------------------------------------------------- evidence requests and notes (GT-3, step 7)

export interface RecordEvidenceRequestInput {
  caseId: string;
  requestId: string;
  at: string;
  message: string;
  responseDueAt: string;
  actor: Actor;
}

/**
 * GT-3: the handler's request for more or other evidence, with what is asked and the unchanged reply-by
 * instant; the mail (sendEvidenceRequestEmail) states this row's text. Idempotent on the request id.
 */
export async function recordEvidenceRequest(db: Db, input: RecordEvidenceRequestInput): Promise<void> {
  const at = new Date(input.at);
  await db.transaction(async (tx) => {
    const inserted = await insertEvidenceRequest(tx, {
      id: input.requestId,
      caseId: input.caseId,
      message: input.message,
      requestedAt: at,
      requestedBy: input.actor.actor,
      responseDueAt: new Date(input.responseDueAt),
    });
    if (!inserted) return; // recorded by an earlier attempt
    await recordAudit(
      tx,
      caseAudit(
        input.caseId,
        input.actor,
        'case.evidence_requested',
        { requestId: input.requestId, message: input.message, responseDueAt: input.responseDueAt, rule: 'GT-3' },
        at,
      ),
    );
  });
}

export interface NoteInput {
  caseId: string;
  at: string;
  text: string;
  actor: Actor;
}

/**
 * Step 7: a handler's note, recorded with who and when, once. An attempt that timed out while PostgreSQL hung
 * (a freeze longer than the activity's start-to-close timeout) still writes when it answers again, beside the
 * retry's attempt: the note — its case, actor, workflow instant and text, the same on every attempt — is
 * written only when not there yet, one attempt at a time (issue 20: each action in the case once).
 */
export async function recordNote(db: Db, input: NoteInput): Promise<void> {
  const at = new Date(input.at);
  await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`case.note:${input.caseId}`}))`);
    const [seen] = await tx
      .select({ id: auditLog.id })
      .from(auditLog)
      .where(
        and(
          eq(auditLog.entityType, 'case'),
          eq(auditLog.entityId, input.caseId),
          eq(auditLog.action, 'case.note'),
          eq(auditLog.at, at),
          eq(auditLog.actor, input.actor.actor),
          sql`${auditLog.data}->>'text' = ${input.text}`,
        ),
      )
      .limit(1);
    if (!seen) await recordAudit(tx, caseAudit(input.caseId, input.actor, 'case.note', { text: input.text }, at));
  });
}
