/**
 * GT-5 improvement reviews: the signals per party, the proposal and the steps of the review as its workflow
 * records them (services/reviews/steps.ts), and the reads of the API. Every function takes the database or
 * the transaction it runs in first.
 */
import { and, asc, count, desc, eq, gte, inArray, isNull, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import {
  acmNotifications,
  auditLog,
  doubtCases,
  improvementReviews,
  parties,
  reviewSignals,
  reviewVotes,
  type AcmNotification,
  type AuditEntry,
  type ImprovementReview,
  type ReviewSignal,
  type ReviewStatus,
  type ReviewVoteRow,
} from '../schema/index.js';
import { NOT_SIGNAL_STATUSES, type SignalClass } from '../../domain/review.js';
import { notFound } from '../../lib/errors.js';
import { recordAudit } from './audit.js';
import { auditActor, type Actor } from './actor.js';

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

/**
 * The signals about a party (or all parties) received in [from, to), across ALL grid operators: its doubt
 * cases except those that are no signal against it (domain/review.ts NOT_SIGNAL_STATUSES, countsAsSignal),
 * and the supplier-side reports (GT-9) that did not become a case (nothing counts twice).
 */
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

/** Parties whose proposal the grid operators did not agree on, closed at or after `since`. */
export async function partiesRefusedSince(db: DbOrTx, since: Date): Promise<Set<string>> {
  const rows = await db
    .select({ partyId: improvementReviews.partyId })
    .from(improvementReviews)
    .where(and(eq(improvementReviews.status, 'not_agreed'), gte(improvementReviews.closedAt, since)));
  return new Set(rows.map((r) => r.partyId));
}

export type NewReview = Pick<
  typeof improvementReviews.$inferInsert,
  | 'id'
  | 'partyId'
  | 'openedAt'
  | 'windowDays'
  | 'followUpDays'
  | 'threshold'
  | 'signalsAtOpen'
  | 'agreementRule'
  | 'electorate'
> & { votingUntil: Date };

/** A new proposal; undefined when the party already has an open review (unique partial index) or the id exists. */
export async function insertProposedReview(tx: DbOrTx, review: NewReview): Promise<ImprovementReview | undefined> {
  const [row] = await tx
    .insert(improvementReviews)
    .values({ ...review, status: 'proposed' })
    .onConflictDoNothing()
    .returning();
  return row;
}

/** The party's open review (at most one). */
export async function openReviewOf(tx: DbOrTx, partyId: string): Promise<ImprovementReview | undefined> {
  const [open] = await tx
    .select()
    .from(improvementReviews)
    .where(and(eq(improvementReviews.partyId, partyId), isNull(improvementReviews.closedAt)));
  return open;
}

/** The signals behind a proposal, as they stood when it was made. */
export async function insertReviewSignals(tx: DbOrTx, reviewId: string, signals: SignalRow[]): Promise<void> {
  if (signals.length === 0) return;
  await tx.insert(reviewSignals).values(
    signals.map((s) => ({
      reviewId,
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

/** The grid operators involved in a review: those with signals in its proposal, sorted. */
export async function reviewOperators(tx: DbOrTx, reviewId: string): Promise<string[]> {
  const rows = await tx
    .selectDistinct({ id: reviewSignals.gridOperatorId })
    .from(reviewSignals)
    .where(eq(reviewSignals.reviewId, reviewId));
  return rows.map((r) => r.id).sort();
}

export async function requireReviewRow(db: DbOrTx, id: string): Promise<ImprovementReview> {
  const [row] = await db.select().from(improvementReviews).where(eq(improvementReviews.id, id));
  if (!row) throw notFound('review_not_found', `No improvement review ${id}`);
  return row;
}

/**
 * Move the review from one of `from` to another status (with `set`); undefined when it was not in `from`
 * (a retried step). An unknown review is a DomainError.
 */
export async function transitionReview(
  tx: DbOrTx,
  reviewId: string,
  from: ReviewStatus[],
  set: Partial<typeof improvementReviews.$inferInsert>,
): Promise<ImprovementReview | undefined> {
  const [row] = await tx
    .update(improvementReviews)
    .set(set)
    .where(and(eq(improvementReviews.id, reviewId), inArray(improvementReviews.status, from)))
    .returning();
  if (row) return row;
  await requireReviewRow(tx, reviewId);
  return undefined;
}

/** A grid operator's vote, once per operator: undefined when it had voted (a retried step). */
export async function insertReviewVote(
  tx: DbOrTx,
  vote: typeof reviewVotes.$inferInsert,
): Promise<ReviewVoteRow | undefined> {
  const [row] = await tx.insert(reviewVotes).values(vote).onConflictDoNothing().returning();
  return row;
}

/** The party's commitment, once: undefined when one is recorded already. */
export async function setReviewCommitment(
  tx: DbOrTx,
  reviewId: string,
  c: { commitment: string; at: Date; by: string },
): Promise<ImprovementReview | undefined> {
  const [row] = await tx
    .update(improvementReviews)
    .set({ commitment: c.commitment, commitmentRecordedAt: c.at, commitmentRecordedBy: c.by })
    .where(and(eq(improvementReviews.id, reviewId), isNull(improvementReviews.commitment)))
    .returning();
  return row;
}

/** The signed decision on the ACM report, once and only while awaiting it: undefined otherwise. */
export async function setReviewDecision(
  tx: DbOrTx,
  reviewId: string,
  d: {
    decision: 'report' | 'do_not_report';
    reason: string;
    by: string;
    byName: string;
    byRole: string | null;
    gridOperatorId: string;
    at: Date;
  },
): Promise<ImprovementReview | undefined> {
  const [row] = await tx
    .update(improvementReviews)
    .set({
      decision: d.decision,
      decisionReason: d.reason,
      decidedBy: d.by,
      decidedByName: d.byName,
      decidedByRole: d.byRole,
      decidedByGridOperatorId: d.gridOperatorId,
      decidedAt: d.at,
    })
    .where(
      and(
        eq(improvementReviews.id, reviewId),
        eq(improvementReviews.status, 'awaiting_decision'),
        isNull(improvementReviews.decision),
      ),
    )
    .returning();
  return row;
}

/** The signals of a review's proposal, oldest first. */
export async function reviewSignalsOf(db: DbOrTx, reviewId: string): Promise<ReviewSignal[]> {
  return db
    .select()
    .from(reviewSignals)
    .where(eq(reviewSignals.reviewId, reviewId))
    .orderBy(asc(reviewSignals.receivedAt), asc(reviewSignals.signalId));
}

export async function acmNotificationByKey(db: DbOrTx, dedupeKey: string): Promise<AcmNotification | undefined> {
  const [row] = await db.select().from(acmNotifications).where(eq(acmNotifications.dedupeKey, dedupeKey));
  return row;
}

/** A review's ACM report as sent, once per dedupe key: undefined when another attempt recorded it first. */
export async function insertReviewAcmNotification(
  tx: DbOrTx,
  n: Pick<
    typeof acmNotifications.$inferInsert,
    'reviewId' | 'sentAt' | 'sentBy' | 'report' | 'messageId' | 'dedupeKey' | 'signalCount'
  >,
): Promise<AcmNotification | undefined> {
  const [row] = await tx
    .insert(acmNotifications)
    .values(n)
    .onConflictDoNothing({ target: acmNotifications.dedupeKey })
    .returning();
  return row;
}

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
  const signals = await reviewSignalsOf(db, id);
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

/** Every party with its roles: the GT-5 electorate is drawn from them (domain/review.ts reviewElectorate). */
export async function partyRoles(db: DbOrTx): Promise<{ id: string; roles: string[] }[]> {
  return db.select({ id: parties.id, roles: parties.roles }).from(parties);
}
