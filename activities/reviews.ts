/**
 * GT-5 repeat offenders: counting signals per party across ALL grid operators, and the improvement
 * review rows. A signal is a doubt case about the party (except those closed as a wrongful block or
 * withdrawn: they turned out not to be about the party's mandate) plus a supplier-side report (GT-9)
 * that did not become a case (so nothing counts twice).
 */
import { Context } from '@temporalio/activity';
import { startWorkflowOnce } from '../lib/infra/start-workflow-once.js';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { recordAudit } from '../db/repositories/audit.js';
import { improvementReviews, parties, type ReviewStatus } from '../db/schema/index.js';
import { DomainError, notFound } from '../lib/errors.js';
import { reviewWorkflowId, type ImprovementReviewInput, type ReviewOutcome } from '../workflows/shared.js';
import type { ActivityDeps } from './deps.js';

const DAY_MS = 86_400_000;

/** Signals per party in [from, to). */
export async function signalCounts(
  db: DbOrTx,
  from: Date,
  to: Date,
  partyId?: string,
): Promise<{ partyId: string; signals: number }[]> {
  const party = partyId ? sql`and party_id = ${partyId}` : sql``;
  const rows = await db.execute(sql`
    select party_id, count(*)::int as signals from (
      select party_id from doubt_cases
       where received_at >= ${from.toISOString()}::timestamptz and received_at < ${to.toISOString()}::timestamptz
         and status not in ('closed_wrongful_block', 'closed_withdrawn') ${party}
      union all
      select party_id from supplier_reports
       where signal_received_at >= ${from.toISOString()}::timestamptz and signal_received_at < ${to.toISOString()}::timestamptz and case_id is null ${party}
    ) s group by party_id`);
  return (rows as unknown as { party_id: string; signals: number }[]).map((r) => ({
    partyId: r.party_id,
    signals: Number(r.signals),
  }));
}

export function reviewActivities({ db, temporalClient }: ActivityDeps) {
  const actor = (id: string) => ({ actor: `workflow:review:${id}`, actorRole: 'system', actorPartyId: null });
  return {
    async findRepeatOffenders(input: {
      at: string;
      windowDays: number;
      threshold: number;
    }): Promise<{ partyId: string; partyGln: string; signals: number }[]> {
      const to = new Date(input.at);
      const from = new Date(to.getTime() - input.windowDays * DAY_MS);
      const counts = (await signalCounts(db, from, to)).filter((c) => c.signals >= input.threshold);
      if (counts.length === 0) return [];
      const ps = await db.select({ id: parties.id, gln: parties.gln }).from(parties);
      const gln = new Map(ps.map((p) => [p.id, p.gln]));
      return counts
        .map((c) => ({ ...c, partyGln: gln.get(c.partyId) ?? '' }))
        .sort((a, b) => b.signals - a.signals || a.partyId.localeCompare(b.partyId));
    },

    /** The party's open review, or a new one (at most one open per party: unique partial index). */
    async openImprovementReview(input: {
      reviewId: string;
      partyId: string;
      at: string;
      windowDays: number;
      followUpDays: number;
      threshold: number;
      signalsAtOpen: number;
    }): Promise<{
      reviewId: string;
      created: boolean;
      signalsAtOpen: number;
      windowDays: number;
      followUpDays: number;
      threshold: number;
    }> {
      const at = new Date(input.at);
      return db.transaction(async (tx) => {
        const [row] = await tx
          .insert(improvementReviews)
          .values({
            id: input.reviewId,
            partyId: input.partyId,
            openedAt: at,
            windowDays: input.windowDays,
            followUpDays: input.followUpDays,
            threshold: input.threshold,
            signalsAtOpen: input.signalsAtOpen,
            status: 'contacting',
          })
          .onConflictDoNothing()
          .returning();
        if (row) {
          await recordAudit(tx, {
            ...actor(row.id),
            action: 'review.opened',
            entityType: 'improvement_review',
            entityId: row.id,
            data: {
              partyId: row.partyId,
              signalsAtOpen: row.signalsAtOpen,
              windowDays: row.windowDays,
              threshold: row.threshold,
              rule: 'GT-5',
            },
            at,
          });
          return {
            reviewId: row.id,
            created: true,
            signalsAtOpen: row.signalsAtOpen,
            windowDays: row.windowDays,
            followUpDays: row.followUpDays,
            threshold: row.threshold,
          };
        }
        const [open] = await tx
          .select()
          .from(improvementReviews)
          .where(and(eq(improvementReviews.partyId, input.partyId), isNull(improvementReviews.closedAt)));
        if (!open) throw new Error(`review for ${input.partyId} neither inserted nor open`);
        return {
          reviewId: open.id,
          created: false,
          signalsAtOpen: open.signalsAtOpen,
          windowDays: open.windowDays,
          followUpDays: open.followUpDays,
          threshold: open.threshold,
        };
      });
    },

    /** Start the review's own workflow (GT-5); already started counts as done. */
    async startImprovementReview(input: ImprovementReviewInput): Promise<{ started: boolean }> {
      if (!temporalClient)
        throw new DomainError(
          'unavailable',
          'temporal_client_missing',
          'no Temporal client configured to start improvement reviews',
        );
      const started = await startWorkflowOnce(temporalClient, 'improvementReviewWorkflow', {
        workflowId: reviewWorkflowId(input.reviewId),
        taskQueue: Context.current().info.taskQueue,
        args: [input],
      });
      return { started };
    },

    async startReviewFollowUp(input: {
      reviewId: string;
      contactedAt: string;
      followUpFrom: string;
      followUpUntil: string;
    }): Promise<void> {
      await db.transaction(async (tx) => {
        const [row] = await tx
          .update(improvementReviews)
          .set({
            status: 'follow_up',
            contactedAt: new Date(input.contactedAt),
            followUpFrom: new Date(input.followUpFrom),
            followUpUntil: new Date(input.followUpUntil),
          })
          .where(and(eq(improvementReviews.id, input.reviewId), eq(improvementReviews.status, 'contacting')))
          .returning();
        if (row) {
          await recordAudit(tx, {
            ...actor(row.id),
            action: 'review.follow_up_started',
            entityType: 'improvement_review',
            entityId: row.id,
            data: { followUpUntil: input.followUpUntil, rule: 'GT-5' },
            at: new Date(input.followUpFrom),
          });
        }
      });
    },

    async countPartySignals(input: { partyId: string; from: string; to: string }): Promise<number> {
      const [c] = await signalCounts(db, new Date(input.from), new Date(input.to), input.partyId);
      return c?.signals ?? 0;
    },

    async closeReview(input: {
      reviewId: string;
      outcome: ReviewOutcome;
      signalsAfterFollowUp: number;
      at: string;
    }): Promise<void> {
      const at = new Date(input.at);
      await db.transaction(async (tx) => {
        const [row] = await tx
          .update(improvementReviews)
          .set({
            status: input.outcome satisfies ReviewStatus,
            signalsAfterFollowUp: input.signalsAfterFollowUp,
            closedAt: at,
          })
          .where(and(eq(improvementReviews.id, input.reviewId), isNull(improvementReviews.closedAt)))
          .returning();
        if (!row) {
          const [exists] = await tx
            .select({ id: improvementReviews.id })
            .from(improvementReviews)
            .where(eq(improvementReviews.id, input.reviewId));
          if (!exists) throw notFound('review_not_found', `No improvement review ${input.reviewId}`);
          return;
        }
        await recordAudit(tx, {
          ...actor(row.id),
          action: 'review.closed',
          entityType: 'improvement_review',
          entityId: row.id,
          data: { outcome: input.outcome, signalsAfterFollowUp: input.signalsAfterFollowUp, rule: 'GT-5' },
          at,
        });
      });
    },
  };
}
