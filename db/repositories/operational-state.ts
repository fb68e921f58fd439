/**
 * Issue 20: the domain state the metrics show, read at scrape time (services/observability/domain-gauges.ts):
 * open cases by status, their deadlines at risk and missed, and the GT-11 clocks. Three small aggregate
 * statements; the deadline states are those of ./case-deadlines-sql.ts (the SQL mirror of domain/case.ts
 * caseDeadlines, held to it by test/reports/case-deadlines-agreement.test.ts).
 */
import { count, inArray, min, not, sql } from 'drizzle-orm';
import { CLOSED_STATUSES, type CaseStatus, type DeadlineName } from '../../domain/case.js';
import type { BreachClock } from '../../domain/breach.js';
import type { Db } from '../client.js';
import { breachAssessments, doubtCases } from '../schema/index.js';
import { deadlineStatesSql, doubtCaseDeadlineColumns } from './case-deadlines-sql.js';

/**
 * A pending deadline due within this is "at risk": the lead of the GT-1 alert to the handler
 * (workflows/doubt-case/contact.ts CONTACT_ALERT_LEAD_MS), applied to every deadline alike.
 */
export const DEADLINE_AT_RISK_MS = 4 * 3_600_000;

export interface OperationalState {
  openByStatus: { status: CaseStatus; n: number }[];
  /** Open cases per deadline whose state is missed, or pending and due within DEADLINE_AT_RISK_MS. */
  deadlines: Record<DeadlineName, { atRisk: number; missed: number }>;
  breachClocks: { clock: BreachClock; n: number }[];
  /** Running clocks past their due time (the workflow records the miss a moment later). */
  breachOverdue: number;
  /** The earliest due time of a running clock; null when none runs. */
  breachNextDueAt: Date | null;
}

export async function operationalState(db: Db, now: Date): Promise<OperationalState> {
  const open = not(inArray(doubtCases.status, CLOSED_STATUSES));
  const openByStatus = await db
    .select({ status: doubtCases.status, n: count() })
    .from(doubtCases)
    .where(open)
    .groupBy(doubtCases.status);

  const states = deadlineStatesSql(doubtCaseDeadlineColumns, now);
  const soon = sql`${new Date(now.getTime() + DEADLINE_AT_RISK_MS).toISOString()}::timestamptz`;
  const due = {
    contact: doubtCases.contactDueAt,
    response: doubtCases.responseDueAt,
    unblock: doubtCases.unblockDueAt,
  } as const;
  const missed = (d: DeadlineName) => sql<number>`count(*) filter (where ${states[d]} = 'missed')`.mapWith(Number);
  const atRisk = (d: DeadlineName) =>
    sql<number>`count(*) filter (where ${states[d]} = 'pending' and ${due[d]} < ${soon})`.mapWith(Number);
  const [d] = await db
    .select({
      contactMissed: missed('contact'),
      contactAtRisk: atRisk('contact'),
      responseMissed: missed('response'),
      responseAtRisk: atRisk('response'),
      unblockMissed: missed('unblock'),
      unblockAtRisk: atRisk('unblock'),
    })
    .from(doubtCases)
    .where(open);

  const at = sql`${now.toISOString()}::timestamptz`;
  const clocks = await db
    .select({
      clock: breachAssessments.clock,
      n: count(),
      overdue: sql<number>`count(*) filter (where ${breachAssessments.dueAt} <= ${at})`.mapWith(Number),
      nextDueAt: min(breachAssessments.dueAt),
    })
    .from(breachAssessments)
    .groupBy(breachAssessments.clock);
  const running = clocks.find((c) => c.clock === 'running');
  return {
    openByStatus: openByStatus.map((r) => ({ status: r.status as CaseStatus, n: r.n })),
    deadlines: {
      contact: { atRisk: d?.contactAtRisk ?? 0, missed: d?.contactMissed ?? 0 },
      response: { atRisk: d?.responseAtRisk ?? 0, missed: d?.responseMissed ?? 0 },
      unblock: { atRisk: d?.unblockAtRisk ?? 0, missed: d?.unblockMissed ?? 0 },
    },
    breachClocks: clocks.map((c) => ({ clock: c.clock, n: c.n })),
    breachOverdue: running?.overdue ?? 0,
    breachNextDueAt: running?.nextDueAt ?? null,
  };
}
