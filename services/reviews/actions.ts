/**
 * GT-5 improvement reviews between the routes and the review workflow: the grid operators of the review's
 * electorate (every grid operator in the system at the proposal) read the proposal, vote, record the party's
 * commitment and decide on the ACM report, each act signed by the key's recorded holder; each step is an Update of the review's workflow, which records it (with its
 * audit entry) and answers with the new state. Throws DomainErrors only.
 */
import type { Client } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import type { Db } from '../../db/client.js';
import type { Actor } from '../../db/repositories/actor.js';
import { classifySignal, getReview } from '../../db/repositories/reviews.js';
import type { SignalClass } from '../../domain/review.js';
import { DomainError, invalidState, notFound } from '../../lib/errors.js';
import { executeUpdate, requireTemporal } from '../workflow-client.js';
import {
  reviewCommitmentUpdate,
  reviewDecisionUpdate,
  reviewVoteUpdate,
  reviewWorkflowId,
  type ReviewActor,
  type ReviewSnapshot,
} from '../../workflows/shared.js';

export interface ReviewServiceDeps {
  db: Db;
  temporal: Client | undefined;
}

/** Who acts: the key (audit), its holder's recorded name (the signature) and the grid operator it acts for. */
export interface ReviewPerson extends Actor {
  name: string;
  /** Issue 19: the step-up (a person) or the key holder (a key) the act is signed with, for its audit entry. */
  signedWith?: ReviewActor['signedWith'];
  /** The case handler's grid operator; undefined for compliance and admin (they read, they do not vote). */
  gridOperatorId?: string;
}

export async function requireReview(db: Db, id: string, gridOperatorId?: string) {
  const r = await getReview(db, id, gridOperatorId);
  // A review the grid operator is not involved in is not theirs to know: 404, as for cases.
  if (!r) throw notFound('review_not_found', `No improvement review ${id}`, 'params.id');
  return r;
}

/**
 * An Update of the review's workflow by a grid operator's case handler; the workflow's refusals and
 * failures are answered by services/workflow-client.ts. No running workflow: a closed review's run has
 * completed (409 review_closed); an open one's has not started yet (503, to be repeated).
 */
async function update<Args extends [unknown, ...unknown[]], Name extends string>(
  deps: ReviewServiceDeps,
  id: string,
  who: ReviewPerson,
  def: UpdateDefinition<ReviewSnapshot, Args, Name>,
  args: (gridOperatorId: string) => Args,
): Promise<ReviewSnapshot> {
  if (!who.gridOperatorId)
    throw new DomainError(
      'forbidden',
      'grid_operator_key_required',
      'Only a grid operator’s case handler acts on a review',
    );
  const client = requireTemporal(deps.temporal);
  const { review } = await requireReview(deps.db, id, who.gridOperatorId);
  return executeUpdate(
    client,
    reviewWorkflowId(review.id),
    def,
    { args: args(who.gridOperatorId) },
    {
      ifNotRunning(err) {
        if (review.closedAt) throw invalidState('review_closed', `Review ${review.id} is closed (${review.status})`);
        throw new DomainError(
          'unavailable',
          'review_workflow_not_started',
          `The workflow of review ${review.id} has not started yet; repeat the request shortly`,
          undefined,
          undefined,
          { cause: err },
        );
      },
    },
  );
}

const actorOf = (who: ReviewPerson): ReviewActor => ({
  actor: who.actor,
  actorRole: who.actorRole ?? null,
  actorPartyId: who.actorPartyId ?? null,
  name: who.name,
  ...(who.signedWith ? { signedWith: who.signedWith } : {}),
});

/** A grid operator's agree/disagree on the proposal, with its reason (once per operator). */
export function voteOnReview(
  deps: ReviewServiceDeps,
  id: string,
  who: ReviewPerson,
  v: { agree: boolean; reason: string },
): Promise<ReviewSnapshot> {
  return update(deps, id, who, reviewVoteUpdate, (gridOperatorId) => [
    { ...actorOf(who), gridOperatorId, agree: v.agree, reason: v.reason },
  ]);
}

/** The party's improvement commitment, while it is contacted or followed. */
export function recordCommitment(
  deps: ReviewServiceDeps,
  id: string,
  who: ReviewPerson,
  c: { commitment: string },
): Promise<ReviewSnapshot> {
  return update(deps, id, who, reviewCommitmentUpdate, () => [{ ...actorOf(who), commitment: c.commitment }]);
}

/** The signed decision on the ACM report after the follow-up: report (the workflow sends it) or not, with why. */
export function decideAcmReport(
  deps: ReviewServiceDeps,
  id: string,
  who: ReviewPerson,
  d: { decision: 'report' | 'do_not_report'; reason: string },
): Promise<ReviewSnapshot> {
  return update(deps, id, who, reviewDecisionUpdate, (gridOperatorId) => [
    { ...actorOf(who), gridOperatorId, decision: d.decision, reason: d.reason },
  ]);
}

/** The handler records what a signal was about (GT-5); another grid operator's case answers 404. */
export async function classifyCaseSignal(
  deps: Pick<ReviewServiceDeps, 'db'>,
  who: Actor & { gridOperatorId?: string },
  caseId: string,
  signalClass: SignalClass,
) {
  const r = await classifySignal(deps.db, who, caseId, signalClass, new Date());
  if (!r) throw notFound('case_not_found', `No case ${caseId}`, 'params.id');
  return r;
}
