/**
 * The facts the work queue is decided on (domain/work-items.ts workQueue), for one grid operator or all: every
 * case that can still wait for a person (open, or closed with a block to lift or a legal hold), the undecided
 * GT-11 assessments and the GT-5 reviews waiting for votes or the ACM decision. The rule itself is not here: these
 * statements only narrow to the rows it can say yes to.
 */
import { and, eq, inArray, isNotNull, isNull, or, sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { breachAssessments, caseResponses, doubtCases, improvementReviews, reviewVotes } from '../schema/index.js';
import { OPEN_STATUSES } from '../../domain/case.js';
import type { BreachWorkFacts, CaseWorkFacts, ReviewWorkFacts } from '../../domain/work-items.js';

export async function caseWorkFacts(db: DbOrTx, gridOperatorId: string | undefined): Promise<CaseWorkFacts[]> {
  const awaiting = db
    .select({ caseId: caseResponses.caseId, n: sql<number>`count(*)::int`.as('n') })
    .from(caseResponses)
    .where(and(eq(caseResponses.status, 'received'), isNull(caseResponses.judgement)))
    .groupBy(caseResponses.caseId)
    .as('awaiting');
  const rows = await db
    .select({
      caseId: doubtCases.id,
      reference: doubtCases.reference,
      status: doubtCases.status,
      closedAt: doubtCases.closedAt,
      contactDueAt: doubtCases.contactDueAt,
      contactedAt: doubtCases.contactedAt,
      responseDueAt: doubtCases.responseDueAt,
      respondedAt: doubtCases.respondedAt,
      unblockDueAt: doubtCases.unblockDueAt,
      unblockedAt: doubtCases.unblockedAt,
      contactAttempts: doubtCases.contactAttempts,
      contactLastError: doubtCases.contactLastError,
      contactGroupEmptyAt: doubtCases.contactGroupEmptyAt,
      legalHoldSince: doubtCases.legalHoldSince,
      responsesAwaitingJudgement: sql<number>`coalesce(${awaiting.n}, 0)`,
    })
    .from(doubtCases)
    .leftJoin(awaiting, eq(awaiting.caseId, doubtCases.id))
    .where(
      and(
        gridOperatorId === undefined ? undefined : eq(doubtCases.gridOperatorId, gridOperatorId),
        or(
          inArray(doubtCases.status, OPEN_STATUSES),
          and(isNotNull(doubtCases.unblockDueAt), isNull(doubtCases.unblockedAt)),
          isNotNull(doubtCases.legalHoldSince),
        ),
      ),
    );
  return rows.map(({ legalHoldSince, ...r }) => ({
    ...r,
    responsesAwaitingJudgement: Number(r.responsesAwaitingJudgement),
    legalHold: legalHoldSince !== null,
  }));
}

export async function breachWorkFacts(db: DbOrTx, gridOperatorId: string | undefined): Promise<BreachWorkFacts[]> {
  return db
    .select({
      assessmentId: breachAssessments.id,
      caseId: breachAssessments.caseId,
      reference: doubtCases.reference,
      dueAt: breachAssessments.dueAt,
      decidedAt: breachAssessments.decidedAt,
    })
    .from(breachAssessments)
    .innerJoin(doubtCases, eq(doubtCases.id, breachAssessments.caseId))
    .where(
      and(
        isNull(breachAssessments.decidedAt),
        gridOperatorId === undefined ? undefined : eq(breachAssessments.gridOperatorId, gridOperatorId),
      ),
    );
}

export async function reviewWorkFacts(db: DbOrTx, gridOperatorId: string | undefined): Promise<ReviewWorkFacts[]> {
  const rows = await db
    .select({
      reviewId: improvementReviews.id,
      status: improvementReviews.status,
      electorate: improvementReviews.electorate,
      votingUntil: improvementReviews.votingUntil,
    })
    .from(improvementReviews)
    .where(
      and(
        inArray(improvementReviews.status, ['proposed', 'awaiting_decision']),
        // GT-5: a review is judged by its electorate (db/repositories/reviews.ts `involving`).
        gridOperatorId === undefined ? undefined : sql`${gridOperatorId}::uuid = any(${improvementReviews.electorate})`,
      ),
    );
  if (rows.length === 0) return [];
  const votes = await db
    .select({ reviewId: reviewVotes.reviewId, gridOperatorId: reviewVotes.gridOperatorId })
    .from(reviewVotes)
    .where(
      inArray(
        reviewVotes.reviewId,
        rows.map((r) => r.reviewId),
      ),
    );
  return rows.map((r) => ({
    ...r,
    votedGridOperatorIds: votes.filter((v) => v.reviewId === r.reviewId).map((v) => v.gridOperatorId),
  }));
}
