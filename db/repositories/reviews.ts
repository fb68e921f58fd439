/** GT-5 improvement reviews as the API reads them: the proposal's signals and the grid operators' votes. */
import { and, asc, count, desc, eq, inArray, isNull, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import {
  auditLog,
  doubtCases,
  improvementReviews,
  reviewSignals,
  reviewVotes,
  type AuditEntry,
  type ImprovementReview,
  type ReviewSignal,
  type ReviewStatus,
  type ReviewVoteRow,
} from '../schema/index.js';
import type { SignalClass } from '../../domain/review.js';
import { recordAudit } from './audit.js';
import { auditActor, type Actor } from './actor.js';

/** Reviews whose electorate holds the grid operator (GT-5: it judges them); all without one. */
const involving = (gridOperatorId: string | undefined): SQL | undefined =>
  gridOperatorId === undefined ? undefined : sql`${gridOperatorId}::uuid = any(${improvementReviews.electorate})`;

export async function listReviews(
  db: DbOrTx,
  q: { gridOperatorId?: string; partyId?: string; status?: ReviewStatus; limit: number; offset: number },
): Promise<{ items: ImprovementReview[]; total: number }> {
  const where = and(
    involving(q.gridOperatorId),
    q.partyId ? eq(improvementReviews.partyId, q.partyId) : undefined,
    q.status ? eq(improvementReviews.status, q.status) : undefined,
  );
  const items = await db
    .select()
    .from(improvementReviews)
    .where(where)
    .orderBy(desc(improvementReviews.openedAt), asc(improvementReviews.id))
    .limit(q.limit)
    .offset(q.offset);
  const [t] = await db.select({ n: count() }).from(improvementReviews).where(where);
  return { items, total: Number(t?.n ?? 0) };
}

export async function getReview(
  db: DbOrTx,
  id: string,
  gridOperatorId?: string,
): Promise<
  { review: ImprovementReview; signals: ReviewSignal[]; votes: ReviewVoteRow[]; history: AuditEntry[] } | undefined
> {
  const [review] = await db
    .select()
    .from(improvementReviews)
    .where(and(eq(improvementReviews.id, id), involving(gridOperatorId)));
  if (!review) return undefined;
  const signals = await db
    .select()
    .from(reviewSignals)
    .where(eq(reviewSignals.reviewId, id))
    .orderBy(asc(reviewSignals.receivedAt), asc(reviewSignals.signalId));
  const votes = await db
    .select()
    .from(reviewVotes)
    .where(eq(reviewVotes.reviewId, id))
    .orderBy(asc(reviewVotes.votedAt));
  // Every step of the review, as audited (GT-5): proposal, votes, agreement, contact, commitment, decision.
  const history = await db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.entityType, 'improvement_review'), eq(auditLog.entityId, id)))
    .orderBy(asc(auditLog.id));
  return { review, signals, votes, history };
}

export async function reviewsOfParties(db: DbOrTx, ids: string[]): Promise<ImprovementReview[]> {
  if (ids.length === 0) return [];
  return db.select().from(improvementReviews).where(inArray(improvementReviews.partyId, ids));
}

/**
 * The handler classifies a case's signal (GT-5); the proposals still open show the new classification.
 * Returns undefined when the case is not the grid operator's.
 */
export async function classifySignal(
  db: DbOrTx,
  by: Actor & { gridOperatorId?: string },
  caseId: string,
  signalClass: SignalClass,
  at: Date,
): Promise<{ caseId: string; signalClass: SignalClass; previous: SignalClass | null } | undefined> {
  return db.transaction(async (tx) => {
    const [before] = await tx
      .select({ signalClass: doubtCases.signalClass })
      .from(doubtCases)
      .where(
        and(
          eq(doubtCases.id, caseId),
          by.gridOperatorId ? eq(doubtCases.gridOperatorId, by.gridOperatorId) : undefined,
        ),
      )
      .for('update');
    if (!before) return undefined;
    await tx.update(doubtCases).set({ signalClass }).where(eq(doubtCases.id, caseId));
    const open = tx
      .select({ id: improvementReviews.id })
      .from(improvementReviews)
      .where(isNull(improvementReviews.closedAt));
    await tx
      .update(reviewSignals)
      .set({ signalClass })
      .where(
        and(eq(reviewSignals.kind, 'case'), eq(reviewSignals.signalId, caseId), inArray(reviewSignals.reviewId, open)),
      );
    await recordAudit(tx, {
      ...auditActor(by),
      action: 'case.signal_classified',
      entityType: 'case',
      entityId: caseId,
      data: { signalClass, previous: before.signalClass, rule: 'GT-5' },
      at,
    });
    return { caseId, signalClass, previous: before.signalClass };
  });
}
