/**
 * Database activities of the doubt-case workflow. Each records one step the workflow decided, with its
 * audit entry in the same transaction, and is idempotent (activities are retried). Times come from the
 * workflow (`at`), never from this process's clock, so the record matches the workflow's deadlines.
 */
import { Context, log } from '@temporalio/activity';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Actor } from '../db/repositories/actor.js';
import { recordAudit, recordAuditOnce } from '../db/repositories/audit.js';
import { liftBlock, placeBlock } from '../db/repositories/blocks.js';
import { endZeroAllocation, startZeroAllocation, switchToProfileAllocation } from '../db/repositories/allocation.js';
import { caseAudit, markResponseReceived, recordContactAlarm, requireCase } from '../db/repositories/cases.js';
import { destroyEvidenceCopies, lockCase } from '../db/repositories/evidence.js';
import { caseResponses, doubtCases, evidenceRequests } from '../db/schema/index.js';
import {
  closingEffects,
  isClosedStatus,
  judgementRule,
  openingEffects,
  type CaseStatus,
  type Judgement,
  type ManualContactMethod,
  type OutcomeKind,
  type WithdrawalReason,
  withdrawalEffect,
} from '../domain/case.js';
import { openBreachOnClose } from '../services/breach/assessments.js';
import type { ActivityDeps } from './deps.js';

export const workflowActor = (caseId: string): Actor => ({
  actor: `workflow:${caseId}`,
  actorRole: 'system',
  actorPartyId: null,
});

export function caseActivities({ db, temporalClient }: ActivityDeps) {
  /** GT-1 without contact: one step for "the deadline nears" and "it has passed"; two activity names, as recorded histories call them. */
  const contactAlarm =
    (alarm: 'at_risk' | 'missed') =>
    async (input: { caseId: string; at: string; contactDueAt: string }): Promise<void> => {
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
    };

  return {
    /** Step 1: the block (placed by intake; idempotent here) and, for iSMA, the '0' allocation (GT-2, GT-4). */
    async setUpCase(input: { caseId: string; at: string; contactDueAt: string }): Promise<{ zeroAllocation: boolean }> {
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
        const [first] = await tx
          .update(doubtCases)
          .set({
            contactDueAt: new Date(input.contactDueAt),
            workflowStartedAt: sql`coalesce(${doubtCases.workflowStartedAt}, ${at.toISOString()}::timestamptz)`,
            updatedAt: at,
          })
          .where(eq(doubtCases.id, row.id))
          .returning({ id: doubtCases.id });
        if (first) {
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
    },

    /** GT-1 met (or late): the moment of contact and the 72-hour deadline that runs from it. */
    async recordContact(input: {
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
    }): Promise<void> {
      const contactedAt = new Date(input.contactedAt);
      const { manual } = input;
      await db.transaction(async (tx) => {
        const [row] = await tx
          .update(doubtCases)
          .set({
            contactedAt,
            responseDueAt: new Date(input.responseDueAt),
            contactMessageId: input.messageId,
            contactMethod: manual?.method ?? 'email',
            status: sql`case when ${doubtCases.status} = 'blocked' then ${input.status} else ${doubtCases.status} end`,
            updatedAt: contactedAt,
          })
          .where(and(eq(doubtCases.id, input.caseId), isNull(doubtCases.contactedAt)))
          .returning();
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
    },

    /** GT-1: the deadline nears without contact. Recorded first; the alert mail follows separately. */
    recordContactAtRisk: contactAlarm('at_risk'),
    /** GT-1 missed: recorded, never silently dropped. */
    recordContactMissed: contactAlarm('missed'),

    /** GT-3: the workflow counted a staged response within the 72 hours. */
    async acceptResponse(input: {
      caseId: string;
      responseId: string;
      at: string;
      status: CaseStatus;
    }): Promise<{ hasEvidence: boolean }> {
      const resp = await markResponseReceived(db, {
        ...workflowActor(input.caseId),
        caseId: input.caseId,
        responseId: input.responseId,
        at: new Date(input.at),
        status: input.status,
      });
      return { hasEvidence: resp.evidenceSha256 !== null };
    },

    async recordResponseWindowClosed(input: {
      caseId: string;
      at: string;
      responded: boolean;
      pendingEvidence: boolean;
    }): Promise<void> {
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
    },

    async recordJudgement(input: {
      caseId: string;
      responseId: string;
      decision: Judgement;
      reason: string | null;
      at: string;
      actor: Actor;
      /** The case's status after a judgement that leaves it open (a rejection within the 72 hours, GT-3). */
      status?: CaseStatus;
    }): Promise<void> {
      const at = new Date(input.at);
      await db.transaction(async (tx) => {
        const [resp] = await tx
          .update(caseResponses)
          .set({
            judgement: input.decision,
            judgementReason: input.reason,
            judgedAt: at,
            judgedBy: input.actor.actor,
            // The signature: the key's recorded holder (the route refuses a rejection by a key without one).
            judgedByName: sql`(select k.holder_name from api_keys k where 'api-key:' || k.id::text = ${input.actor.actor})`,
            judgedByRole: input.actor.actorRole ?? null,
          })
          .where(
            and(
              eq(caseResponses.id, input.responseId),
              eq(caseResponses.caseId, input.caseId),
              isNull(caseResponses.judgement),
            ),
          )
          .returning({ id: caseResponses.id });
        if (!resp) return;
        await tx
          .update(doubtCases)
          .set({
            judgedAt: at,
            updatedAt: at,
            ...(input.status
              ? {
                  status: sql`case when ${doubtCases.closedAt} is null then ${input.status} else ${doubtCases.status} end`,
                }
              : {}),
          })
          .where(eq(doubtCases.id, input.caseId));
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
              // A rejection that leaves the case open: the party keeps the rest of its 72 hours (GT-3).
              ...(input.status ? { caseOpen: true, status: input.status } : {}),
              rule: input.decision === 'accepted' ? 'GT-8' : input.status ? 'GT-3, GT-4' : 'GT-4, GT-8',
            },
            at,
          ),
        );
      });
    },

    /**
     * Steps 5-7: apply the outcome (domain closingEffects) in one transaction: lift the block (GT-7, GT-8) or
     * keep it; end the '0' allocation and, for a negative iSMA outcome, switch to profile allocation (GT-4,
     * AL-6); destroy the evidence copies (GT-8); close the row. The instants come from the workflow.
     */
    async closeCase(input: {
      caseId: string;
      outcome: OutcomeKind;
      at: string;
      reason: string | null;
      actor: Actor;
      unblockDueAt: string | null;
      profileEffectiveFrom: string | null;
      /** GT-7: the handler withdrew the case for this reason (null: without a code, as `other`). */
      withdrawalReason?: WithdrawalReason | null;
    }): Promise<{ status: CaseStatus; unblockedAt: string | null; evidenceDestroyed: number }> {
      const at = new Date(input.at);
      const closed = await db.transaction(async (tx) => {
        const row = await lockCase(tx, input.caseId); // a legal hold set meanwhile waits, or is seen
        if (isClosedStatus(row.status)) {
          return {
            status: row.status,
            unblockedAt: row.unblockedAt ? row.unblockedAt.toISOString() : null,
            evidenceDestroyed: 0,
          };
        }
        // A withdrawal without a code (before codes existed) is `other`: the same effect as then, now recorded.
        const withdrawn = input.withdrawalReason !== undefined || input.outcome === 'withdrawn';
        const withdrawal = withdrawn ? withdrawalEffect(input.withdrawalReason) : null;
        const effects = closingEffects(input.outcome, {
          isma: row.isma,
          decidedAt: at,
          closedAt: at,
          withdrawalReason: withdrawal?.reasonCode ?? null,
        });
        const sys = workflowActor(row.id);
        let unblockedAt: Date | null = null;
        const { lift } = effects;
        if (lift) {
          const { block } = await liftBlock(tx, {
            caseId: row.id,
            at,
            reason: lift.reason,
            retroactive: lift.retroactive,
            ...input.actor,
          });
          unblockedAt = block.endedAt;
          if (row.isma) await endZeroAllocation(tx, { caseId: row.id, at, reason: lift.reason, ...sys });
        }
        let profileFrom: Date | null = null;
        if (effects.profileEffectiveFrom) {
          // The workflow's quarter-hour (its clock); the row's own only if the workflow sent none.
          profileFrom = input.profileEffectiveFrom
            ? new Date(input.profileEffectiveFrom)
            : effects.profileEffectiveFrom;
          await switchToProfileAllocation(tx, {
            caseId: row.id,
            connectionEan: row.connectionEan,
            effectiveFrom: profileFrom,
            ...sys,
          });
          await endZeroAllocation(tx, { caseId: row.id, at: profileFrom, reason: 'profile_allocation', ...sys });
        }
        // GT-8: the copies go now, unless a legal hold postpones it until its release.
        const legalHold = row.legalHoldSince !== null;
        const destroyed = legalHold ? 0 : await destroyEvidenceCopies(tx, row.id, at);
        await tx
          .update(doubtCases)
          .set({
            status: effects.status,
            closedAt: at,
            closedBy: input.actor.actor,
            closeReason: input.reason,
            ...(withdrawal ? { withdrawalReason: withdrawal.reasonCode } : {}),
            unblockDueAt: input.unblockDueAt ? new Date(input.unblockDueAt) : null,
            unblockedAt,
            ...(profileFrom ? { allocationRevertedAt: at, profileEffectiveFrom: profileFrom } : {}),
            updatedAt: at,
          })
          .where(eq(doubtCases.id, row.id));
        await recordAudit(
          tx,
          caseAudit(
            row.id,
            input.actor,
            'case.closed',
            {
              outcome: input.outcome,
              status: effects.status,
              reason: input.reason,
              blockLifted: unblockedAt !== null,
              retroactive: lift?.retroactive ?? false,
              unblockDueAt: input.unblockDueAt,
              profileEffectiveFrom: profileFrom ? profileFrom.toISOString() : null,
              evidenceDestroyed: destroyed,
              ...(legalHold ? { evidenceKeptUnderLegalHold: true, legalHoldAuthority: row.legalHoldAuthority } : {}),
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
            at,
          ),
        );
        return {
          status: effects.status,
          unblockedAt: unblockedAt ? unblockedAt.toISOString() : null,
          evidenceDestroyed: destroyed,
        };
      });
      await openBreachOnClose(temporalClient, Context.current().info.taskQueue, input.caseId, closed.status); // GT-11
      return closed;
    },

    /**
     * GT-3: the handler's request for more or other evidence, with what is asked and the unchanged reply-by
     * instant; the mail (sendEvidenceRequestEmail) states this row's text. Idempotent on the request id.
     */
    async recordEvidenceRequest(input: {
      caseId: string;
      requestId: string;
      at: string;
      message: string;
      responseDueAt: string;
      actor: Actor;
    }): Promise<void> {
      const at = new Date(input.at);
      await db.transaction(async (tx) => {
        const [row] = await tx
          .insert(evidenceRequests)
          .values({
            id: input.requestId,
            caseId: input.caseId,
            message: input.message,
            requestedAt: at,
            requestedBy: input.actor.actor,
            responseDueAt: new Date(input.responseDueAt),
          })
          .onConflictDoNothing({ target: evidenceRequests.id })
          .returning({ id: evidenceRequests.id });
        if (!row) return; // recorded by an earlier attempt
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
    },

    /** Step 7: a handler's note, recorded with who and when. */
    async recordNote(input: { caseId: string; at: string; text: string; actor: Actor }): Promise<void> {
      await recordAudit(
        db,
        caseAudit(input.caseId, input.actor, 'case.note', { text: input.text }, new Date(input.at)),
      );
    },
  };
}
