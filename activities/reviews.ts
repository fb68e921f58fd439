/**
 * GT-5 repeat offenders: the signals per party across ALL grid operators, the proposal and the steps of the
 * improvement review as the workflow records them. A signal is a doubt case about the party (except those in
 * which it demonstrated its mandate, wrongful blocks and withdrawn cases: domain/review.ts
 * NOT_SIGNAL_STATUSES) plus a supplier-side report (GT-9) that did not become a case (nothing counts twice).
 */
import { Context } from '@temporalio/activity';
import { startWorkflowOnce } from '../lib/infra/start-workflow-once.js';
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { recordAudit } from '../db/repositories/audit.js';
import { improvementReviews, parties, reviewSignals, reviewVotes, type ReviewStatus } from '../db/schema/index.js';
import {
  NOT_SIGNAL_STATUSES,
  proposes,
  reviewElectorate,
  similarGroups,
  type AgreementRule,
  type ReviewVote,
  type SignalClass,
} from '../domain/review.js';
import { DomainError, notFound } from '../lib/errors.js';
import {
  reviewWorkflowId,
  type ImprovementReviewInput,
  type ReviewActor,
  type ReviewDecisionInput,
  type ReviewVoteInput,
} from '../workflows/shared.js';
import type { ActivityDeps } from './deps.js';

const DAY_MS = 86_400_000;

export interface SignalRow {
  partyId: string;
  kind: 'case' | 'supplier_report';
  signalId: string;
  reference: string | null;
  gridOperatorId: string;
  receivedAt: Date;
  signalClass: SignalClass | null;
  status: string | null;
}

/** The signals about a party (or all parties) received in [from, to). */
export async function signalRows(db: DbOrTx, from: Date, to: Date, partyId?: string): Promise<SignalRow[]> {
  const party = partyId ? sql`and party_id = ${partyId}` : sql``;
  const rows = await db.execute(sql`
    select party_id, 'case' as kind, id as signal_id, reference, grid_operator_id, received_at, signal_class, status
      from doubt_cases
     where received_at >= ${from.toISOString()}::timestamptz and received_at < ${to.toISOString()}::timestamptz
       and status not in ${[...NOT_SIGNAL_STATUSES]} ${party}
    union all
    select party_id, 'supplier_report', id, null, grid_operator_id, signal_received_at, signal_class, null
      from supplier_reports
     where signal_received_at >= ${from.toISOString()}::timestamptz and signal_received_at < ${to.toISOString()}::timestamptz
       and case_id is null ${party}
     order by 6, 3`);
  return (rows as unknown as Record<string, unknown>[]).map((r) => ({
    partyId: r['party_id'] as string,
    kind: r['kind'] as SignalRow['kind'],
    signalId: r['signal_id'] as string,
    reference: (r['reference'] as string | null) ?? null,
    gridOperatorId: r['grid_operator_id'] as string,
    receivedAt: new Date(r['received_at'] as string),
    signalClass: (r['signal_class'] as SignalClass | null) ?? null,
    status: (r['status'] as string | null) ?? null,
  }));
}

const byParty = (rows: SignalRow[]) => {
  const m = new Map<string, SignalRow[]>();
  for (const r of rows) m.set(r.partyId, [...(m.get(r.partyId) ?? []), r]);
  return m;
};

export interface OpenedReview {
  reviewId: string;
  created: boolean;
  signalsAtOpen: number;
  windowDays: number;
  followUpDays: number;
  threshold: number;
  operatorsInvolved: string[];
  agreementRule: AgreementRule;
  votingUntil: string;
}

export function reviewActivities({ db, temporalClient }: ActivityDeps) {
  const system = (id: string) => ({ actor: `workflow:review:${id}`, actorRole: 'system', actorPartyId: null });
  const person = (a: ReviewActor) => ({ actor: a.actor, actorRole: a.actorRole, actorPartyId: a.actorPartyId });
  const audit = (
    tx: DbOrTx,
    reviewId: string,
    action: string,
    data: Record<string, unknown>,
    at: Date,
    who?: ReviewActor,
  ) =>
    recordAudit(tx, {
      ...(who ? person(who) : system(reviewId)),
      action,
      entityType: 'improvement_review',
      entityId: reviewId,
      data: { ...data, ...(who ? { name: who.name } : {}), rule: 'GT-5' },
      at,
    });

  async function operatorsOf(tx: DbOrTx, reviewId: string): Promise<string[]> {
    const rows = await tx
      .selectDistinct({ id: reviewSignals.gridOperatorId })
      .from(reviewSignals)
      .where(eq(reviewSignals.reviewId, reviewId));
    return rows.map((r) => r.id).sort();
  }

  /** Move the review from one of `from` to `to`; false when it was not in `from` (a retried step). */
  async function transition(tx: DbOrTx, reviewId: string, from: ReviewStatus[], set: Record<string, unknown>) {
    const [row] = await tx
      .update(improvementReviews)
      .set(set)
      .where(and(eq(improvementReviews.id, reviewId), inArray(improvementReviews.status, from)))
      .returning();
    if (row) return row;
    const [exists] = await tx
      .select({ id: improvementReviews.id })
      .from(improvementReviews)
      .where(eq(improvementReviews.id, reviewId));
    if (!exists) throw notFound('review_not_found', `No improvement review ${reviewId}`);
    return undefined;
  }

  return {
    /** Parties with a group of similar signals at the threshold, not refused by the operators in this window. */
    async findRepeatOffenders(input: {
      at: string;
      windowDays: number;
      threshold: number;
    }): Promise<{ partyId: string; partyGln: string; signals: number; groups: Record<string, number> }[]> {
      const to = new Date(input.at);
      const from = new Date(to.getTime() - input.windowDays * DAY_MS);
      const rows = await signalRows(db, from, to);
      const candidates = [...byParty(rows)].filter(([, s]) => proposes(s, input.threshold));
      if (candidates.length === 0) return [];
      // A proposal the grid operators did not agree on is not put to them again within the same window.
      const refused = await db
        .select({ partyId: improvementReviews.partyId })
        .from(improvementReviews)
        .where(
          and(
            eq(improvementReviews.status, 'not_agreed'),
            sql`${improvementReviews.closedAt} >= ${from.toISOString()}::timestamptz`,
          ),
        );
      const skip = new Set(refused.map((r) => r.partyId));
      const ps = await db.select({ id: parties.id, gln: parties.gln }).from(parties);
      const gln = new Map(ps.map((p) => [p.id, p.gln]));
      return candidates
        .filter(([partyId]) => !skip.has(partyId))
        .map(([partyId, s]) => ({
          partyId,
          partyGln: gln.get(partyId) ?? '',
          signals: s.length,
          groups: similarGroups(s),
        }))
        .sort((a, b) => b.signals - a.signals || a.partyId.localeCompare(b.partyId));
    },

    /**
     * The party's open review, or a new proposal with the signals behind it (at most one open per party:
     * unique partial index).
     */
    async openImprovementReview(input: {
      reviewId: string;
      partyId: string;
      at: string;
      windowDays: number;
      followUpDays: number;
      threshold: number;
      votingDays: number;
      agreementRule: AgreementRule;
    }): Promise<OpenedReview> {
      const at = new Date(input.at);
      const from = new Date(at.getTime() - input.windowDays * DAY_MS);
      return db.transaction(async (tx) => {
        const signals = await signalRows(tx, from, at, input.partyId);
        // GT-5 jointly: every grid operator in the system judges, fixed with the proposal (reviewElectorate).
        const electorate = reviewElectorate(await tx.select({ id: parties.id, roles: parties.roles }).from(parties));
        const [row] = await tx
          .insert(improvementReviews)
          .values({
            id: input.reviewId,
            partyId: input.partyId,
            openedAt: at,
            windowDays: input.windowDays,
            followUpDays: input.followUpDays,
            threshold: input.threshold,
            signalsAtOpen: signals.length,
            status: 'proposed',
            agreementRule: input.agreementRule,
            votingUntil: new Date(at.getTime() + input.votingDays * DAY_MS),
            electorate,
          })
          .onConflictDoNothing()
          .returning();
        const review = row ?? (await openReviewOf(tx, input.partyId));
        if (row && signals.length > 0) {
          await tx.insert(reviewSignals).values(
            signals.map((s) => ({
              reviewId: row.id,
              kind: s.kind,
              signalId: s.signalId,
              reference: s.reference,
              gridOperatorId: s.gridOperatorId,
              receivedAt: s.receivedAt,
              signalClass: s.signalClass,
              status: s.status,
            })),
          );
        }
        // The workflow counts the votes of the electorate (its input's operatorsInvolved).
        const operatorsInvolved = review.electorate;
        if (row) {
          await audit(
            tx,
            row.id,
            'review.proposed',
            {
              partyId: row.partyId,
              signalsAtOpen: row.signalsAtOpen,
              similarSignals: similarGroups(signals),
              electorate: operatorsInvolved,
              operatorsWithSignals: await operatorsOf(tx, row.id),
              windowDays: row.windowDays,
              threshold: row.threshold,
              agreementRule: row.agreementRule,
              votingUntil: row.votingUntil?.toISOString(),
            },
            at,
          );
        }
        return {
          reviewId: review.id,
          created: row !== undefined,
          signalsAtOpen: review.signalsAtOpen,
          windowDays: review.windowDays,
          followUpDays: review.followUpDays,
          threshold: review.threshold,
          operatorsInvolved,
          agreementRule: review.agreementRule,
          votingUntil: (review.votingUntil ?? review.openedAt).toISOString(),
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

    /** A grid operator's vote on the proposal (once per operator; a retried step changes nothing). */
    async recordReviewVote(input: ReviewVoteInput & { reviewId: string; at: string }): Promise<void> {
      const at = new Date(input.at);
      await db.transaction(async (tx) => {
        const [row] = await tx
          .insert(reviewVotes)
          .values({
            reviewId: input.reviewId,
            gridOperatorId: input.gridOperatorId,
            agree: input.agree,
            reason: input.reason,
            votedBy: input.actor,
            votedByName: input.name,
            votedByRole: input.actorRole,
            votedAt: at,
          })
          .onConflictDoNothing()
          .returning();
        if (row)
          await audit(
            tx,
            input.reviewId,
            'review.vote_recorded',
            { gridOperatorId: input.gridOperatorId, agree: input.agree, reason: input.reason },
            at,
            input,
          );
      });
    },

    async markReviewAgreed(input: { reviewId: string; votes: ReviewVote[]; at: string }): Promise<void> {
      const at = new Date(input.at);
      await db.transaction(async (tx) => {
        const row = await transition(tx, input.reviewId, ['proposed'], { status: 'contacting', agreedAt: at });
        if (row) await audit(tx, row.id, 'review.agreed', { agreementRule: row.agreementRule, votes: input.votes }, at);
      });
    },

    async startReviewFollowUp(input: {
      reviewId: string;
      contactedAt: string;
      followUpFrom: string;
      followUpUntil: string;
    }): Promise<void> {
      await db.transaction(async (tx) => {
        const row = await transition(tx, input.reviewId, ['contacting'], {
          status: 'follow_up',
          contactedAt: new Date(input.contactedAt),
          followUpFrom: new Date(input.followUpFrom),
          followUpUntil: new Date(input.followUpUntil),
        });
        if (row)
          await audit(
            tx,
            row.id,
            'review.follow_up_started',
            { contactedAt: input.contactedAt, followUpUntil: input.followUpUntil },
            new Date(input.followUpFrom),
          );
      });
    },

    async recordReviewCommitment(input: ReviewActor & { reviewId: string; commitment: string; at: string }) {
      const at = new Date(input.at);
      await db.transaction(async (tx) => {
        const [row] = await tx
          .update(improvementReviews)
          .set({ commitment: input.commitment, commitmentRecordedAt: at, commitmentRecordedBy: input.actor })
          .where(and(eq(improvementReviews.id, input.reviewId), isNull(improvementReviews.commitment)))
          .returning();
        if (row) await audit(tx, row.id, 'review.commitment_recorded', { commitment: input.commitment }, at, input);
      });
    },

    async countPartySignals(input: { partyId: string; from: string; to: string }): Promise<number> {
      return (await signalRows(db, new Date(input.from), new Date(input.to), input.partyId)).length;
    },

    async putReviewFiguresToOperators(input: {
      reviewId: string;
      signalsAfterFollowUp: number;
      decreased: boolean;
      at: string;
    }): Promise<void> {
      const at = new Date(input.at);
      await db.transaction(async (tx) => {
        const row = await transition(tx, input.reviewId, ['follow_up'], {
          status: 'awaiting_decision',
          signalsAfterFollowUp: input.signalsAfterFollowUp,
        });
        if (row)
          await audit(
            tx,
            row.id,
            'review.figures_put_to_operators',
            {
              signalsAtOpen: row.signalsAtOpen,
              windowDays: row.windowDays,
              signalsAfterFollowUp: input.signalsAfterFollowUp,
              followUpDays: row.followUpDays,
              signalRateDecreased: input.decreased,
            },
            at,
          );
      });
    },

    /** The signed decision on the ACM report (GT-5): who (the key holder's recorded name), what and why. */
    async recordReviewDecision(input: ReviewDecisionInput & { reviewId: string; at: string }): Promise<void> {
      const at = new Date(input.at);
      await db.transaction(async (tx) => {
        const [row] = await tx
          .update(improvementReviews)
          .set({
            decision: input.decision,
            decisionReason: input.reason,
            decidedBy: input.actor,
            decidedByName: input.name,
            decidedByRole: input.actorRole,
            decidedByGridOperatorId: input.gridOperatorId,
            decidedAt: at,
          })
          .where(
            and(
              eq(improvementReviews.id, input.reviewId),
              eq(improvementReviews.status, 'awaiting_decision'),
              isNull(improvementReviews.decision),
            ),
          )
          .returning();
        if (row)
          await audit(
            tx,
            row.id,
            input.decision === 'report' ? 'review.acm_report_signed' : 'review.decided_not_to_report',
            { decision: input.decision, reason: input.reason, gridOperatorId: input.gridOperatorId },
            at,
            input,
          );
      });
    },

    async closeReview(input: {
      reviewId: string;
      status: 'not_agreed' | 'reported_to_acm' | 'not_reported';
      at: string;
    }): Promise<void> {
      const at = new Date(input.at);
      await db.transaction(async (tx) => {
        const from: ReviewStatus[] = input.status === 'not_agreed' ? ['proposed'] : ['awaiting_decision'];
        const row = await transition(tx, input.reviewId, from, { status: input.status, closedAt: at });
        if (row)
          await audit(
            tx,
            row.id,
            'review.closed',
            { outcome: input.status, signalsAfterFollowUp: row.signalsAfterFollowUp },
            at,
          );
      });
    },
  };
}

async function openReviewOf(tx: DbOrTx, partyId: string) {
  const [open] = await tx
    .select()
    .from(improvementReviews)
    .where(and(eq(improvementReviews.partyId, partyId), isNull(improvementReviews.closedAt)));
  if (!open) throw new Error(`review for ${partyId} neither inserted nor open`);
  return open;
}
