/**
 * The facts the work queue is decided on (domain/work-items.ts workQueue), for one grid operator or all: every
 * case that can still wait for a person (open, or closed with a block to lift or a legal hold), the undecided
 * GT-11 assessments and the GT-5 reviews waiting for votes or the ACM decision. The rule is domain/work-items.ts;
 * the case statement repeats its "waits at all" part in SQL (waitsForPersonSql, held to it by an agreement test)
 * so a queue over thousands of open cases reads only the rows that carry an item.
 */
import { and, eq, inArray, isNotNull, isNull, lte, not, or, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { breachAssessments, caseResponses, doubtCases, improvementReviews, reviewVotes } from '../schema/index.js';
import { OPEN_STATUSES } from '../../domain/case.js';
import type { BreachWorkFacts, CaseWorkFacts, ReviewWorkFacts } from '../../domain/work-items.js';

/** Responses counted within the 72 hours and not yet judged (GT-3, GT-8), per case. */
// The outer row named in full: drizzle leaves a lone table's columns unqualified, and "id" alone is the response's.
const awaitingJudgement = sql<number>`(select count(*)::int from ${caseResponses} r
  where r.case_id = "doubt_cases"."id" and r.status = 'received' and r.judgement is null)`;

/**
 * SQL mirror of domain/work-items.ts `caseWorkItems(facts, now, horizonHours).length > 0`: the cases that wait
 * for a person, so the queue reads those rows only. Each branch names the item it mirrors;
 * test/reports/work-items-agreement.test.ts holds both to the same cases on random facts.
 */
export function waitsForPersonSql(now: Date, horizonHours: number): SQL {
  const open = inArray(doubtCases.status, OPEN_STATUSES);
  const horizon = new Date(now.getTime() + horizonHours * 3_600_000);
  return or(
    // judge_evidence: open, a counted response unjudged.
    and(open, sql`${awaitingJudgement} > 0`),
    // contact_group_empty / contact_failing: open, not yet contacted, the group empty or the mail failed.
    and(
      open,
      isNull(doubtCases.contactedAt),
      or(
        isNotNull(doubtCases.contactGroupEmptyAt),
        and(sql`${doubtCases.contactAttempts} > 0`, isNotNull(doubtCases.contactLastError)),
      ),
    ),
    // deadline_due: a deadline not done within the horizon (or passed) is exactly next_due_at (nextDueAt) up to it.
    lte(doubtCases.nextDueAt, horizon),
    // release_hold: decided, its evidence kept by a legal hold.
    and(not(open), isNotNull(doubtCases.legalHoldSince)),
  )!;
}

/** The facts of the cases that wait for a person (waitsForPersonSql; `all`: every case of the scope, for tests). */
export async function caseWorkFacts(
  db: DbOrTx,
  gridOperatorId: string | undefined,
  at: { now: Date; horizonHours: number } | 'all',
): Promise<CaseWorkFacts[]> {
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
      responsesAwaitingJudgement: awaitingJudgement,
    })
    .from(doubtCases)
    .where(
      and(
        gridOperatorId === undefined ? undefined : eq(doubtCases.gridOperatorId, gridOperatorId),
        at === 'all' ? undefined : waitsForPersonSql(at.now, at.horizonHours),
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
