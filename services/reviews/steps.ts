/**
 * GT-5: the steps of an improvement review as its workflow records them (workflows/repeat-offender-scan.ts
 * proposes, workflows/improvement-review.ts runs the rest). Each step is one transaction with its audit
 * entry, and idempotent: a retried or repeated step changes nothing and writes no second entry.
 */
import type { Client } from '@temporalio/client';
import type { Db, DbOrTx } from '../../db/client.js';
import { recordAudit } from '../../db/repositories/audit.js';
import { casesCitedByReview, disposeEvidenceOfCases } from '../../db/repositories/evidence.js';
import {
  insertProposedReview,
  insertReviewSignals,
  insertReviewVote,
  openReviewOf,
  partyRoles,
  reviewOperators,
  setReviewCommitment,
  setReviewDecision,
  signalRows,
  transitionReview,
} from '../../db/repositories/reviews.js';
import type { ReviewStatus } from '../../db/schema/index.js';
import { reviewElectorate, similarGroups, type AgreementRule, type ReviewVote } from '../../domain/review.js';
import { DomainError } from '../../lib/errors.js';
import {
  reviewWorkflowId,
  type ImprovementReviewInput,
  type ReviewActor,
  type ReviewDecisionInput,
  type ReviewVoteInput,
} from '../../workflows/shared.js';
import { startWorkflowOnce } from '../workflow-client.js';

const DAY_MS = 86_400_000;

/** Every step of the review, audited on the review: the workflow's own, or a named person's (the key and its holder). */
function audit(
  tx: DbOrTx,
  reviewId: string,
  action: string,
  data: Record<string, unknown>,
  at: Date,
  who?: ReviewActor,
): Promise<void> {
  const actor = who
    ? { actor: who.actor, actorRole: who.actorRole, actorPartyId: who.actorPartyId }
    : { actor: `workflow:review:${reviewId}`, actorRole: 'system', actorPartyId: null };
  return recordAudit(tx, {
    ...actor,
    action,
    entityType: 'improvement_review',
    entityId: reviewId,
    // Issue 19: a signed act's entry says what it was signed with (the step-up, or the key's holder).
    data: {
      ...data,
      ...(who ? { name: who.name } : {}),
      ...(who?.signedWith ? { signedWith: who.signedWith } : {}),
      rule: 'GT-5',
    },
    at,
  });
}

export interface OpenReviewInput {
  reviewId: string;
  partyId: string;
  at: string;
  windowDays: number;
  followUpDays: number;
  threshold: number;
  votingDays: number;
  agreementRule: AgreementRule;
}

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

/**
 * The party's open review, or a new proposal with the signals behind it (at most one open per party:
 * unique partial index).
 */
export async function openImprovementReview(db: Db, input: OpenReviewInput): Promise<OpenedReview> {
  const at = new Date(input.at);
  const from = new Date(at.getTime() - input.windowDays * DAY_MS);
  return db.transaction(async (tx) => {
    const signals = await signalRows(tx, from, at, input.partyId);
    // GT-5 jointly: every grid operator in the system judges, fixed with the proposal (reviewElectorate).
    const electorate = reviewElectorate(await partyRoles(tx));
    const row = await insertProposedReview(tx, {
      id: input.reviewId,
      partyId: input.partyId,
      openedAt: at,
      windowDays: input.windowDays,
      followUpDays: input.followUpDays,
      threshold: input.threshold,
      signalsAtOpen: signals.length,
      agreementRule: input.agreementRule,
      votingUntil: new Date(at.getTime() + input.votingDays * DAY_MS),
      electorate,
    });
    const review = row ?? (await openReviewOf(tx, input.partyId));
    if (!review) throw new Error(`review for ${input.partyId} neither inserted nor open`);
    if (row) await insertReviewSignals(tx, row.id, signals);
    // The workflow counts the votes of the electorate (its input's operatorsInvolved).
    const operatorsInvolved = review.electorate;
    if (row)
      await audit(
        tx,
        row.id,
        'review.proposed',
        {
          partyId: row.partyId,
          signalsAtOpen: row.signalsAtOpen,
          similarSignals: similarGroups(signals),
          electorate: operatorsInvolved,
          operatorsWithSignals: await reviewOperators(tx, row.id),
          windowDays: row.windowDays,
          threshold: row.threshold,
          agreementRule: row.agreementRule,
          votingUntil: row.votingUntil?.toISOString(),
        },
        at,
      );
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
}

/** Start the review's own workflow (GT-5); already started counts as done. */
export async function startImprovementReview(
  client: Client | undefined,
  taskQueue: string,
  input: ImprovementReviewInput,
): Promise<{ started: boolean }> {
  if (!client)
    throw new DomainError(
      'unavailable',
      'temporal_client_missing',
      'no Temporal client configured to start improvement reviews',
    );
  const started = await startWorkflowOnce(client, 'improvementReviewWorkflow', {
    workflowId: reviewWorkflowId(input.reviewId),
    taskQueue,
    args: [input],
  });
  return { started };
}

/** A grid operator's vote on the proposal (once per operator; a retried step changes nothing). */
export async function recordReviewVote(db: Db, input: ReviewVoteInput & { reviewId: string; at: string }) {
  const at = new Date(input.at);
  await db.transaction(async (tx) => {
    const row = await insertReviewVote(tx, {
      reviewId: input.reviewId,
      gridOperatorId: input.gridOperatorId,
      agree: input.agree,
      reason: input.reason,
      votedBy: input.actor,
      votedByName: input.name,
      votedByRole: input.actorRole,
      votedAt: at,
    });
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
}

/** The agreement rule is met: the party is contacted next. */
export async function markReviewAgreed(db: Db, input: { reviewId: string; votes: ReviewVote[]; at: string }) {
  const at = new Date(input.at);
  await db.transaction(async (tx) => {
    const row = await transitionReview(tx, input.reviewId, ['proposed'], { status: 'contacting', agreedAt: at });
    if (row) await audit(tx, row.id, 'review.agreed', { agreementRule: row.agreementRule, votes: input.votes }, at);
  });
}

/** The party was contacted: the follow-up period runs. */
export async function startReviewFollowUp(
  db: Db,
  input: { reviewId: string; contactedAt: string; followUpFrom: string; followUpUntil: string },
) {
  await db.transaction(async (tx) => {
    const row = await transitionReview(tx, input.reviewId, ['contacting'], {
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
}

/** The party's improvement commitment, recorded once by a named case handler. */
export async function recordReviewCommitment(
  db: Db,
  input: ReviewActor & { reviewId: string; commitment: string; at: string },
) {
  const at = new Date(input.at);
  await db.transaction(async (tx) => {
    const row = await setReviewCommitment(tx, input.reviewId, { commitment: input.commitment, at, by: input.actor });
    if (row) await audit(tx, row.id, 'review.commitment_recorded', { commitment: input.commitment }, at, input);
  });
}

/** After the follow-up: the figures are put to the grid operators, who decide on the ACM report. */
export async function putReviewFiguresToOperators(
  db: Db,
  input: { reviewId: string; signalsAfterFollowUp: number; decreased: boolean; at: string },
) {
  const at = new Date(input.at);
  await db.transaction(async (tx) => {
    const row = await transitionReview(tx, input.reviewId, ['follow_up'], {
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
}

/** The signed decision on the ACM report (GT-5): who (the key holder's recorded name), what and why. */
export async function recordReviewDecision(db: Db, input: ReviewDecisionInput & { reviewId: string; at: string }) {
  const at = new Date(input.at);
  await db.transaction(async (tx) => {
    const row = await setReviewDecision(tx, input.reviewId, {
      decision: input.decision,
      reason: input.reason,
      by: input.actor,
      byName: input.name,
      byRole: input.actorRole,
      gridOperatorId: input.gridOperatorId,
      at,
    });
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
}

/** The review ends: not agreed (from the proposal), or reported or not (from the decision). */
export async function closeReview(
  db: Db,
  input: { reviewId: string; status: 'not_agreed' | 'reported_to_acm' | 'not_reported'; at: string },
) {
  const at = new Date(input.at);
  await db.transaction(async (tx) => {
    const from: ReviewStatus[] = input.status === 'not_agreed' ? ['proposed'] : ['awaiting_decision'];
    const row = await transitionReview(tx, input.reviewId, from, { status: input.status, closedAt: at });
    if (!row) return;
    await audit(
      tx,
      row.id,
      'review.closed',
      { outcome: input.status, signalsAfterFollowUp: row.signalsAfterFollowUp },
      at,
    );
    // GT-8 / GT-5: the review kept its cases' evidence; closed, free what nothing else keeps.
    const caseIds = await casesCitedByReview(tx, row.id);
    await disposeEvidenceOfCases(tx, {
      caseIds,
      at,
      actor: { actor: `workflow:review:${row.id}`, actorRole: 'system', actorPartyId: null },
    });
  });
}
