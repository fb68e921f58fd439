/**
 * GT-5 improvement reviews between the routes and the review workflow: the grid operators of the review's
 * electorate (every grid operator in the system at the proposal) read the proposal, vote, record the party's
 * commitment and decide on the ACM report, each act signed by the key's recorded holder; each step is an Update of the review's workflow, which records it (with its
 * audit entry) and answers with the new state. Throws DomainErrors only.
 */
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import type { Db } from '../../db/client.js';
import type { Actor } from '../../db/repositories/actor.js';
import { classifySignal, getReview } from '../../db/repositories/reviews.js';
import type { SignalClass } from '../../domain/review.js';
import { DomainError, invalidState, notFound, validationError } from '../../lib/errors.js';
import {
  ReviewErrors,
  reviewCommitmentUpdate,
  reviewDecisionUpdate,
  reviewVoteUpdate,
  reviewWorkflowId,
  type ReviewSnapshot,
} from '../../workflows/shared.js';

export interface ReviewServiceDeps {
  db: Db;
  temporal: Client | undefined;
}

/** Who acts: the key (audit), its holder's recorded name (the signature) and the grid operator it acts for. */
export interface ReviewPerson extends Actor {
  name: string;
  /** The case handler's grid operator; undefined for compliance and admin (they read, they do not vote). */
  gridOperatorId?: string;
}

export async function requireReview(db: Db, id: string, gridOperatorId?: string) {
  const r = await getReview(db, id, gridOperatorId);
  // A review the grid operator is not involved in is not theirs to know: 404, as for cases.
  if (!r) throw notFound('review_not_found', `No improvement review ${id}`, 'params.id');
  return r;
}

function failureOf(err: unknown): ApplicationFailure | undefined {
  for (let e = err as { cause?: unknown } | undefined; e; e = e.cause as typeof e)
    if (e instanceof ApplicationFailure) return e;
  return undefined;
}

async function update(
  deps: ReviewServiceDeps,
  id: string,
  who: ReviewPerson,
  run: (h: ReturnType<Client['workflow']['getHandle']>, gridOperatorId: string) => Promise<ReviewSnapshot>,
): Promise<ReviewSnapshot> {
  if (!who.gridOperatorId)
    throw new DomainError(
      'forbidden',
      'grid_operator_key_required',
      'Only a grid operator’s case handler acts on a review',
    );
  if (!deps.temporal)
    throw new DomainError('unavailable', 'temporal_unavailable', 'The review workflow engine is not configured');
  const { review } = await requireReview(deps.db, id, who.gridOperatorId);
  try {
    return await run(deps.temporal.workflow.getHandle(reviewWorkflowId(review.id)), who.gridOperatorId);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || (err as { name?: string })?.name === 'WorkflowNotFoundError') {
      if (review.closedAt) throw invalidState('review_closed', `Review ${review.id} is closed (${review.status})`);
      throw new DomainError(
        'unavailable',
        'review_workflow_not_started',
        `The workflow of review ${review.id} has not started yet; repeat the request shortly`,
        undefined,
        undefined,
        { cause: err },
      );
    }
    const f = err instanceof WorkflowUpdateFailedError ? failureOf(err) : undefined;
    switch (f?.type) {
      case ReviewErrors.WrongState:
        throw invalidState('review_wrong_state', f.message, { reviewId: review.id, status: review.status });
      case ReviewErrors.AlreadyDone:
        throw invalidState('review_step_done', f.message, { reviewId: review.id });
      case ReviewErrors.NotInvolved:
        throw notFound('review_not_found', f.message, 'params.id');
      case ReviewErrors.InvalidRequest:
        throw validationError('invalid_request', f.message);
      default:
        throw err;
    }
  }
}

const actorOf = (who: ReviewPerson) => ({
  actor: who.actor,
  actorRole: who.actorRole ?? null,
  actorPartyId: who.actorPartyId ?? null,
  name: who.name,
});

/** A grid operator's agree/disagree on the proposal, with its reason (once per operator). */
export function voteOnReview(
  deps: ReviewServiceDeps,
  id: string,
  who: ReviewPerson,
  v: { agree: boolean; reason: string },
): Promise<ReviewSnapshot> {
  return update(deps, id, who, (h, gridOperatorId) =>
    h.executeUpdate(reviewVoteUpdate, {
      args: [{ ...actorOf(who), gridOperatorId, agree: v.agree, reason: v.reason }],
    }),
  );
}

/** The party's improvement commitment, while it is contacted or followed. */
export function recordCommitment(
  deps: ReviewServiceDeps,
  id: string,
  who: ReviewPerson,
  c: { commitment: string },
): Promise<ReviewSnapshot> {
  return update(deps, id, who, (h) =>
    h.executeUpdate(reviewCommitmentUpdate, { args: [{ ...actorOf(who), commitment: c.commitment }] }),
  );
}

/** The signed decision on the ACM report after the follow-up: report (the workflow sends it) or not, with why. */
export function decideAcmReport(
  deps: ReviewServiceDeps,
  id: string,
  who: ReviewPerson,
  d: { decision: 'report' | 'do_not_report'; reason: string },
): Promise<ReviewSnapshot> {
  return update(deps, id, who, (h, gridOperatorId) =>
    h.executeUpdate(reviewDecisionUpdate, {
      args: [{ ...actorOf(who), gridOperatorId, decision: d.decision, reason: d.reason }],
    }),
  );
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
