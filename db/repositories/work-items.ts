/**
 * The facts the work queue is decided on (domain/work-items.ts workQueue), for one grid operator or all: the cases
 * that carry an item, the undecided GT-11 assessments and the GT-5 reviews waiting for votes or the ACM decision.
 * The rule is domain/work-items.ts. Cases are the many (thousands open), so their statement repeats caseWorkItems
 * in SQL item by item (caseItemsSql: which items a case carries and when each expires) and orders and bounds them
 * there: it returns only the cases the first page can hold, with the queue's total, and the domain orders those
 * (caseWorkPage). test/reports/work-items-agreement.test.ts holds both to the same answers on random facts.
 */
import { and, eq, inArray, isNull, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { breachAssessments, caseResponses, doubtCases, improvementReviews, reviewVotes } from '../schema/index.js';
import { OPEN_STATUSES, type DeadlineName } from '../../domain/case.js';
import type { BreachWorkFacts, CaseWorkFacts, ReviewWorkFacts, WorkItemKind } from '../../domain/work-items.js';

const HOUR_MS = 3_600_000;
const OPEN_LIST = sql.raw(OPEN_STATUSES.map((st) => `'${st}'`).join(', '));

/** One item a case can carry, over the row `c` of caseWorkPage's statement: whether it does, and its expiresAt. */
export interface CaseItemSql {
  kind: WorkItemKind;
  deadline: DeadlineName | null;
  present: SQL;
  /** The column of its expiresAt (unqualified: read from the row that carries the conditions); null: never expires. */
  expiresAt: SQL | null;
}

/**
 * SQL mirror of domain/work-items.ts `caseWorkItems(facts, now, horizonHours)`, item by item, in its order and with
 * its conditions, over a row `c` of doubt_cases with `c.open` (not isClosedStatus) and `c.awaiting`
 * (responsesAwaitingJudgement). Every condition is never null (a null due instant is tested first), so `not` is safe.
 */
export function caseItemsSql(now: Date, horizonHours: number): CaseItemSql[] {
  const open = sql`c.open`;
  const horizon = sql`${new Date(now.getTime() + horizonHours * HOUR_MS).toISOString()}::timestamptz`;
  const notContacted = sql`(${open} and c.contacted_at is null)`;
  // contact_group_empty before contact_failing: an empty group is the one listed when both hold.
  const groupEmpty = sql`(${notContacted} and c.contact_group_empty_at is not null)`;
  const failing = sql`(${notContacted} and c.contact_group_empty_at is null and c.contact_attempts > 0 and c.contact_last_error is not null)`;
  const judge = sql`(${open} and c.awaiting > 0)`;
  return [
    // judge_evidence: open, a counted response unjudged; the 72 hours' end.
    { kind: 'judge_evidence', deadline: null, present: judge, expiresAt: sql`response_due_at` },
    { kind: 'contact_group_empty', deadline: null, present: groupEmpty, expiresAt: sql`contact_due_at` },
    { kind: 'contact_failing', deadline: null, present: failing, expiresAt: sql`contact_due_at` },
    // deadline_due, each not done and within the horizon (or passed), unless an item above already carries it;
    // a closed case's contact and answer are over (caseDeadlines: applicable, not done).
    {
      kind: 'deadline_due',
      deadline: 'contact',
      present: sql`(${notContacted} and not ${groupEmpty} and not ${failing} and c.contact_due_at <= ${horizon})`,
      expiresAt: sql`contact_due_at`,
    },
    {
      kind: 'deadline_due',
      deadline: 'response',
      present: sql`(${open} and not ${judge} and c.response_due_at is not null and c.responded_at is null and c.response_due_at <= ${horizon})`,
      expiresAt: sql`response_due_at`,
    },
    {
      kind: 'deadline_due',
      deadline: 'unblock',
      present: sql`(c.unblock_due_at is not null and c.unblocked_at is null and c.unblock_due_at <= ${horizon})`,
      expiresAt: sql`unblock_due_at`,
    },
    // release_hold: decided, its evidence kept by a legal hold; nothing expires.
    {
      kind: 'release_hold',
      deadline: null,
      present: sql`(not ${open} and c.legal_hold_since is not null)`,
      expiresAt: null,
    },
  ];
}

/** Responses counted within the 72 hours and not yet judged (GT-3, GT-8), per case. */
const awaitingOf = (caseId: SQL) => sql`(select count(*)::int from ${caseResponses} r
  where r.case_id = ${caseId} and r.status = 'received' and r.judgement is null)`;

const toDate = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(v as string));

export interface CaseWorkPage {
  /** The facts of the cases the first `first` items can come from, in no particular order (the domain orders). */
  facts: CaseWorkFacts[];
  /** The number of items of those kinds over every case of the scope (the queue's case part, whole). */
  total: number;
  /** Per case read: the number of its items and the instant its first expires (the statement's sort key). */
  keys: Map<string, { items: number; firstExpiresAt: Date | null }>;
  /** The next_due_at the cases read were bounded by (an index range); null: every case of the scope was read. */
  bound: Date | null;
}

export interface CaseWorkPageInput {
  now: Date;
  horizonHours: number;
  kinds: readonly WorkItemKind[];
  /** How many items of the queue the page reaches (offset + limit). */
  first: number;
}

/**
 * The cases behind the first `first` items of the queue, of the kinds given (those the viewer's role acts on,
 * narrowed by the request). A case's items all expire at or after its first one, so the cases ordered by that
 * instant (none: last) up to the `first`-th, with every case tied with it, hold every case item of the first
 * `first` items of the whole queue, whatever the reviews and assessments add; the domain orders them.
 *
 * Every item a case carries expires at or after its next_due_at (domain/case.ts nextDueAt: each item's instant is
 * one of the terms it takes the least of, under the same conditions — the agreement test holds this), or never. So
 * the `first`-th first instant K among any cases bounds the whole queue's: every case with an item by K has
 * next_due_at ≤ K. The cases are read in two index walks on (grid_operator_id, next_due_at, id): the first
 * `head` of them give K, then those with next_due_at ≤ K are the only ones the page can hold. When the head holds
 * fewer than `first` items with an instant, every case of the scope is read instead. The total is counted apart,
 * without reading the rows (caseItemCountSql).
 */
export async function caseWorkPage(
  db: DbOrTx,
  gridOperatorId: string | undefined,
  at: CaseWorkPageInput,
): Promise<CaseWorkPage> {
  const boundStatement = caseWorkBoundSql(gridOperatorId, at);
  if (!boundStatement) return { facts: [], total: 0, keys: new Map(), bound: null };
  const [bounds, counted] = [
    (await db.execute(boundStatement)) as unknown as Array<Record<string, unknown>>,
    (await db.execute(caseItemCountSql(gridOperatorId, at)!)) as unknown as Array<Record<string, unknown>>,
  ];
  const bound = toDate(bounds[0]?.['item_key']);
  const rows = (await db.execute(caseWorkPageSql(gridOperatorId, at, bound)!)) as unknown as Array<
    Record<string, unknown>
  >;
  const keys = new Map<string, { items: number; firstExpiresAt: Date | null }>();
  const facts = rows.map((r): CaseWorkFacts => {
    const caseId = r['id'] as string;
    keys.set(caseId, { items: Number(r['item_count']), firstExpiresAt: toDate(r['item_key']) });
    return {
      caseId,
      reference: r['reference'] as string,
      status: r['status'] as CaseWorkFacts['status'],
      closedAt: toDate(r['closed_at']),
      contactDueAt: toDate(r['contact_due_at'])!,
      contactedAt: toDate(r['contacted_at']),
      responseDueAt: toDate(r['response_due_at']),
      respondedAt: toDate(r['responded_at']),
      unblockDueAt: toDate(r['unblock_due_at']),
      unblockedAt: toDate(r['unblocked_at']),
      contactAttempts: Number(r['contact_attempts']),
      contactLastError: (r['contact_last_error'] as string | null) ?? null,
      contactGroupEmptyAt: toDate(r['contact_group_empty_at']),
      responsesAwaitingJudgement: Number(r['awaiting']),
      legalHold: r['legal_hold_since'] !== null,
    };
  });
  return { facts, total: Number(counted[0]?.['total'] ?? 0), keys, bound };
}

/** The cases' first walk reads this many rows for `first` items: items without an instant and cases without any. */
const headOf = (first: number) => 2 * first + 50;

/** The scope's condition on doubt_cases `d`. */
const scopeOf = (gridOperatorId: string | undefined) =>
  gridOperatorId === undefined ? sql`true` : sql`d.grid_operator_id = ${gridOperatorId}::uuid`;

/** The columns of a row `c` the items are read over (awaiting: per case, by the partial index of unjudged ones). */
const caseColumns = sql`d.id, d.reference, d.status, d.closed_at, d.contact_due_at, d.contacted_at, d.response_due_at,
        d.responded_at, d.unblock_due_at, d.unblocked_at, d.contact_attempts, d.contact_last_error,
        d.contact_group_empty_at, d.legal_hold_since, d.status in (${OPEN_LIST}) as open`;
const awaitingColumn = sql`(select count(*)::int from ${caseResponses} r
          where r.case_id = d.id and r.status = 'received' and r.judgement is null) as awaiting`;

/** Over `p`: each item's condition as p0, p1, …; whether any holds, how many, and the first instant. */
function itemKeys(items: CaseItemSql[]) {
  const on = (n: number) => sql.raw(`p.p${n}`);
  const any = sql.join(
    items.map((_, n) => on(n)),
    sql` or `,
  );
  const count = sql.join(
    items.map((_, n) => sql`${on(n)}::int`),
    sql` + `,
  );
  const expiring = items.flatMap((i, n) => (i.expiresAt ? [sql`case when ${on(n)} then ${i.expiresAt} end`] : []));
  const key = expiring.length === 0 ? sql`null::timestamptz` : sql`least(${sql.join(expiring, sql`, `)})`;
  const present = sql.join(
    items.map((i, n) => sql`${i.present} as ${sql.raw(`p${n}`)}`),
    sql`, `,
  );
  return { any, count, key, present };
}

const itemsOf = (at: CaseWorkPageInput) =>
  at.first < 1 ? [] : caseItemsSql(at.now, at.horizonHours).filter((i) => at.kinds.includes(i.kind));

/**
 * The bound K of caseWorkPage: the `first`-th first instant among the first headOf(first) cases by next_due_at (an
 * index walk); no row when they hold fewer. Null statement: none of the kinds is a case's.
 */
export function caseWorkBoundSql(gridOperatorId: string | undefined, at: CaseWorkPageInput): SQL | null {
  const items = itemsOf(at);
  if (items.length === 0) return null;
  const k = itemKeys(items);
  return sql`
    with c as materialized (
      select ${caseColumns}, ${awaitingColumn}
      from ${doubtCases} d
      where ${scopeOf(gridOperatorId)} and d.next_due_at is not null
      order by d.next_due_at, d.id
      limit ${headOf(at.first)}
    ), p as materialized (
      select c.*, ${k.present} from c
    ), w as (
      select ${k.key} as item_key from p where ${k.any}
    )
    select item_key from w where item_key is not null order by item_key limit 1 offset ${at.first - 1}
  `;
}

/** The number of items of the kinds over every case of the scope, without reading the cases' rows out. */
export function caseItemCountSql(gridOperatorId: string | undefined, at: CaseWorkPageInput): SQL | null {
  const items = itemsOf(at);
  if (items.length === 0) return null;
  const count = sql.join(
    items.map((i) => sql`(${i.present})::int`),
    sql` + `,
  );
  // A closed case carries an item only through its unblock (= next_due_at, nextDueAt) or a legal hold.
  const horizon = new Date(at.now.getTime() + at.horizonHours * HOUR_MS).toISOString();
  return sql`
    select coalesce(sum(${count}), 0)::int as total from (
      select d.status in (${OPEN_LIST}) as open, d.contacted_at, d.contact_group_empty_at, d.contact_attempts,
        d.contact_last_error, d.contact_due_at, d.response_due_at, d.responded_at, d.unblock_due_at,
        d.unblocked_at, d.legal_hold_since,
        -- Only whether one waits counts here (c.awaiting > 0): one hashed set of the cases, not a count per case.
        (d.id in (select case_id from ${caseResponses} where status = 'received' and judgement is null))::int as awaiting
      from ${doubtCases} d
      where ${scopeOf(gridOperatorId)}
        and (d.status in (${OPEN_LIST}) or d.next_due_at <= ${horizon}::timestamptz or d.legal_hold_since is not null)
      -- offset 0: not flattened, so c.open and c.awaiting are worked out once per case, not once per condition.
      offset 0
    ) c
  `;
}

/**
 * caseWorkPage's rows: the cases up to the `first`-th by first instant, ties included, among those with
 * next_due_at ≤ `bound` (an index range), or among every case of the scope (bound null). Null statement: none of
 * the kinds is a case's. Apart, so a bench can EXPLAIN it.
 */
export function caseWorkPageSql(
  gridOperatorId: string | undefined,
  at: CaseWorkPageInput,
  bound: Date | null,
): SQL | null {
  const items = itemsOf(at);
  if (items.length === 0) return null;
  const k = itemKeys(items);
  const horizon = new Date(at.now.getTime() + at.horizonHours * HOUR_MS).toISOString();
  // Bounded: an index range of next_due_at, its unjudged responses counted per case. Whole: a closed case carries
  // an item only through its unblock (= next_due_at, nextDueAt) or a legal hold, so the open cases and those.
  const cases =
    bound === null
      ? sql`select ${caseColumns}, coalesce(r.n, 0) as awaiting
      from ${doubtCases} d
      left join (select case_id, count(*)::int as n from ${caseResponses}
                 where status = 'received' and judgement is null group by case_id) r on r.case_id = d.id
      where ${scopeOf(gridOperatorId)}
        and (d.status in (${OPEN_LIST}) or d.next_due_at <= ${horizon}::timestamptz or d.legal_hold_since is not null)`
      : sql`select ${caseColumns}, ${awaitingColumn}
      from ${doubtCases} d
      where ${scopeOf(gridOperatorId)} and d.next_due_at <= ${bound.toISOString()}::timestamptz`;
  // Each item's condition is worked out once per case (p), then its first instant and count (w); the cases up to
  // the `first`-th by that instant, ties included, are read.
  return sql`
    with c as materialized (
      ${cases}
    ), p as materialized (
      select c.*, ${k.present} from c
    ), w as materialized (
      select p.*, ${k.key} as item_key, ${k.count} as item_count from p where ${k.any}
    ), b as (
      select item_key from w order by item_key asc nulls last, id limit 1 offset ${at.first - 1}
    )
    select w.id, w.reference, w.status, w.closed_at, w.contact_due_at, w.contacted_at, w.response_due_at,
      w.responded_at, w.unblock_due_at, w.unblocked_at, w.contact_attempts, w.contact_last_error,
      w.contact_group_empty_at, w.legal_hold_since, w.awaiting, w.item_key, w.item_count
    from w
    where (select item_key from b) is null or w.item_key <= (select item_key from b)
  `;
}

/** The facts of every case of the scope (tests: the whole set the page is held to). */
export async function caseWorkFacts(db: DbOrTx, gridOperatorId: string | undefined): Promise<CaseWorkFacts[]> {
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
      // The outer row named in full: drizzle leaves a lone table's columns unqualified.
      responsesAwaitingJudgement: sql<number>`${awaitingOf(sql`"doubt_cases"."id"`)}`,
    })
    .from(doubtCases)
    .where(gridOperatorId === undefined ? undefined : eq(doubtCases.gridOperatorId, gridOperatorId));
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
