/**
 * GT-5 improvement reviews: the grid operators' joint judgement on a repeat offender. A case handler sees the
 * reviews whose electorate holds its grid operator (every grid operator in the system when proposed; others:
 * 404) and acts on them: votes on the proposal, records the party's commitment, decides (signs) the ACM report,
 * each signed with the key holder's recorded name (a key without one: 403 key_holder_required); compliance
 * reads those of its own grid operator, admin all. The handler also classifies a case's signal (what it was
 * about), so similar signals can be grouped.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireRole, type Principal } from '../plugins/auth.js';
import { ACTION_ERRORS, ActionHeaders, caseAction } from '../plugins/case-action.js';
import { errorFieldsForRoutes } from '../plugins/errors.js';
import {
  actorFrom,
  BODY_ERRORS,
  errorResponses,
  jsonBodiesOnly,
  ownFilter,
  READ_ERRORS,
  signerOf,
} from '../plugins/core-access.js';
import {
  CaseIdParams,
  ClassifyBody,
  ClassifyResult,
  CommitmentBody,
  DecisionBody,
  ReviewList,
  ReviewParams,
  ReviewQuery,
  ReviewSchema,
  ReviewStateSchema,
  toReviewDto,
  toReviewSummary,
  VoteBody,
} from '../schemas/reviews.js';
import { partiesByIds, requirePartyByGln } from '../../db/repositories/parties.js';
import { listReviews } from '../../db/repositories/reviews.js';
import {
  classifyCaseSignal,
  decideAcmReport,
  recordCommitment,
  requireReview,
  voteOnReview,
  type ReviewPerson,
} from '../../services/reviews/actions.js';

/**
 * The key's recorded holder signs what it does (never the key's label); a key without one cannot sign. The act's
 * audit entry says what it was signed with (issue 19: a person's step-up, or the key's holder).
 */
const signer = (p: Principal): ReviewPerson => {
  const { name, signedWith } = signerOf(p);
  return { ...actorFrom(p), name, signedWith, gridOperatorId: ownFilter(p).gridOperatorId };
};

// long: a route plugin: one short handler per route with its schemas; the length is the list of routes
const reviewRoutes: FastifyPluginAsyncTypebox = async (app) => {
  jsonBodiesOnly(app);
  // The review workflow names the review it refuses for (a grid operator not involved: 404) as reviewId.
  errorFieldsForRoutes(app, { reviewId: 'params.id' });
  const { db, temporal } = app.deps;
  const readers = requireRole('case-handler', 'compliance', 'admin');
  // GT-5 signatures: the key's recorded holder (signerOf) signs votes, commitments and the ACM decision.
  const handlers = requireRole('case-handler');
  const deps = { db, temporal };
  const stepErrors = errorResponses(...BODY_ERRORS, 404, ...ACTION_ERRORS);

  app.get(
    '/reviews',
    {
      preHandler: readers,
      schema: {
        tags: ['reviews'],
        summary:
          'Improvement reviews (GT-5), newest first: a case handler and compliance those whose electorate holds their grid operator',
        querystring: ReviewQuery,
        response: { 200: ReviewList, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const q = req.query;
      const partyId = q.partyGln ? (await requirePartyByGln(db, q.partyGln, 'query.partyGln')).id : undefined;
      const { items, total } = await listReviews(db, {
        gridOperatorId: ownFilter(req.principal).gridOperatorId,
        partyId,
        status: q.status,
        limit: q.limit,
        offset: q.offset,
      });
      const ps = await partiesByIds(
        db,
        items.map((r) => r.partyId),
      );
      return { items: items.map((r) => toReviewSummary(r, ps)), total, limit: q.limit, offset: q.offset };
    },
  );

  app.get(
    '/reviews/:id',
    {
      preHandler: readers,
      schema: {
        tags: ['reviews'],
        summary: 'One review: the proposal’s signals (with their classification), the votes, commitment and decision',
        params: ReviewParams,
        response: { 200: ReviewSchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const r = await requireReview(db, req.params.id, ownFilter(req.principal).gridOperatorId);
      const ps = await partiesByIds(db, [
        r.review.partyId,
        ...r.signals.map((s) => s.gridOperatorId),
        ...r.review.electorate,
        ...r.votes.map((v) => v.gridOperatorId),
      ]);
      return toReviewDto(r, ps);
    },
  );

  app.post(
    '/reviews/:id/votes',
    {
      preHandler: handlers,
      schema: {
        tags: ['reviews'],
        summary: 'The grid operator’s vote on the proposal: agree or disagree, with a reason (once per grid operator)',
        description:
          'The grid operators of the review’s electorate vote: every grid operator in the system when the proposal was made, signals or not (GT-5: jointly, on behalf of all). The review starts (the party is contacted on behalf of all grid operators) when the agreement rule is met: ' +
          'majority (default) = more than half of the electorate; unanimous = all of it. One grid operator decides alone only when it is the only one in the system. It closes not_agreed when the rule can no longer be met or the voting period ends. ' +
          'The vote is signed with the key holder’s recorded name and role (403 key_holder_required for a key without one). 409 review_step_done: this grid operator has voted; 409 review_wrong_state: voting has closed.',
        params: ReviewParams,
        headers: ActionHeaders,
        body: VoteBody,
        response: { 200: ReviewStateSchema, ...stepErrors },
      },
    },
    async (req, reply) =>
      caseAction(req, reply, {}, () => voteOnReview(deps, req.params.id, signer(req.principal), req.body)),
  );

  app.put(
    '/reviews/:id/commitment',
    {
      preHandler: handlers,
      schema: {
        tags: ['reviews'],
        summary: 'Record the party’s improvement commitment (while it is contacted or followed)',
        params: ReviewParams,
        headers: ActionHeaders,
        body: CommitmentBody,
        response: { 200: ReviewStateSchema, ...stepErrors },
      },
    },
    async (req, reply) =>
      caseAction(req, reply, {}, () => recordCommitment(deps, req.params.id, signer(req.principal), req.body)),
  );

  app.post(
    '/reviews/:id/decision',
    {
      preHandler: handlers,
      schema: {
        tags: ['reviews'],
        summary:
          'Decide the ACM report after the follow-up: report (signed with the key holder’s name, then sent) or not, with the reason',
        description:
          'Only after the follow-up (status awaiting_decision), once. decision=report: the report to the ACM carries the signer’s name and reason and is sent by the review workflow; do_not_report: recorded with its reason, nothing is sent. ' +
          'Signed with the key holder’s recorded name and role (403 key_holder_required for a key without one).',
        params: ReviewParams,
        headers: ActionHeaders,
        body: DecisionBody,
        response: { 200: ReviewStateSchema, ...stepErrors },
      },
    },
    async (req, reply) =>
      caseAction(req, reply, {}, () => decideAcmReport(deps, req.params.id, signer(req.principal), req.body)),
  );

  app.put(
    '/cases/:id/signal-class',
    {
      preHandler: requireRole('case-handler', 'admin'),
      schema: {
        tags: ['cases', 'reviews'],
        summary: 'Classify what the case’s signal was about (GT-5: similar signals); open proposals show it',
        params: CaseIdParams,
        body: ClassifyBody,
        response: { 200: ClassifyResult, ...errorResponses(...BODY_ERRORS, 404) },
      },
    },
    async (req) =>
      classifyCaseSignal(
        deps,
        { ...actorFrom(req.principal), gridOperatorId: ownFilter(req.principal).gridOperatorId },
        req.params.id,
        req.body.signalClass,
      ),
  );
};

export default reviewRoutes;
