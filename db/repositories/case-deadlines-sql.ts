/**
 * SQL mirror of domain/case.ts `caseDeadlines()` and `isBreached()`, for statements that filter or count
 * cases by deadline state inside PostgreSQL (the `breached` list filter in ./cases.ts, the deadline section
 * of the signal report in ./signal-reports.ts). The TypeScript is the specification; each branch below
 * names the branch it mirrors. test/reports/case-deadlines-agreement.test.ts holds both to the same answers
 * on random cases (DST edges, nulls, open and closed, done exactly at the due instant).
 */
import { inArray, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { CLOSED_STATUSES, type DeadlineName } from '../../domain/case.js';
import { doubtCases } from '../schema/index.js';

type Expr = SQL | AnyColumn;

/** The facts of domain CaseDeadlineFacts as SQL expressions (`closed`: the status is a closed one, never null). */
export interface DeadlineColumns {
  closed: SQL;
  closedAt: Expr;
  contactDueAt: Expr;
  contactedAt: Expr;
  responseDueAt: Expr;
  respondedAt: Expr;
  unblockDueAt: Expr;
  unblockedAt: Expr;
}

/** The columns of doubt_cases itself. */
export const doubtCaseDeadlineColumns: DeadlineColumns = {
  closed: sql`(${inArray(doubtCases.status, CLOSED_STATUSES)})`,
  closedAt: doubtCases.closedAt,
  contactDueAt: doubtCases.contactDueAt,
  contactedAt: doubtCases.contactedAt,
  responseDueAt: doubtCases.responseDueAt,
  respondedAt: doubtCases.respondedAt,
  unblockDueAt: doubtCases.unblockDueAt,
  unblockedAt: doubtCases.unblockedAt,
};

/** Mirrors deadlineState(dueAt, doneAt, now) (applicable): unknown due → pending; done before due → met; done at or after, or due passed → missed. */
function deadlineStateSql(dueAt: Expr, doneAt: Expr, now: SQL): SQL {
  return sql`case when ${dueAt} is null then 'pending'
    when ${doneAt} is not null then (case when ${doneAt} < ${dueAt} then 'met' else 'missed' end)
    when ${now} >= ${dueAt} then 'missed' else 'pending' end`;
}

/** Mirrors caseDeadlines(facts, now): one text expression per deadline ('met' | 'missed' | 'pending' | 'not_applicable'). */
export function deadlineStatesSql(c: DeadlineColumns, now: Date): Record<DeadlineName, SQL> {
  const at = sql`${now.toISOString()}::timestamptz`;
  return {
    // contact: closed without contact → missed when closed at/after the due time, otherwise not applicable.
    contact: sql`(case when ${c.closed} and ${c.contactedAt} is null
        then (case when ${c.closedAt} is not null and ${c.closedAt} >= ${c.contactDueAt} then 'missed' else 'not_applicable' end)
      else ${deadlineStateSql(c.contactDueAt, c.contactedAt, at)} end)`,
    // response: no due time → applicable only while open; decided before the 72 hours ran out without an answer → not applicable.
    response: sql`(case when ${c.responseDueAt} is null then (case when ${c.closed} then 'not_applicable' else 'pending' end)
      when ${c.closed} and ${c.respondedAt} is null and ${c.closedAt} is not null and ${c.closedAt} < ${c.responseDueAt} then 'not_applicable'
      else ${deadlineStateSql(c.responseDueAt, c.respondedAt, at)} end)`,
    // unblock: no due time → applicable only while open.
    unblock: sql`(case when ${c.unblockDueAt} is null then (case when ${c.closed} then 'not_applicable' else 'pending' end)
      else ${deadlineStateSql(c.unblockDueAt, c.unblockedAt, at)} end)`,
  };
}

/** Mirrors isBreached(caseDeadlines(facts, now)): at least one deadline missed. Never null. */
export function breachedSql(c: DeadlineColumns, now: Date): SQL {
  const s = deadlineStatesSql(c, now);
  return sql`(${s.contact} = 'missed' or ${s.response} = 'missed' or ${s.unblock} = 'missed')`;
}
