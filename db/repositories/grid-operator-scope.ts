/**
 * Which of the given cases and supplier reports belong to a grid operator: for views that show a case
 * handler only its own operator's material (the development mail capture, GET /dev/mail).
 */
import { and, eq, inArray } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { doubtCases, supplierReports } from '../schema/index.js';

export async function ownedByGridOperator(
  db: DbOrTx,
  gridOperatorId: string,
  ids: { caseIds: string[]; supplierReportIds: string[] },
): Promise<Set<string>> {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  const caseIds = ids.caseIds.filter((id) => uuid.test(id));
  const reportIds = ids.supplierReportIds.filter((id) => uuid.test(id));
  const [cases, reports] = await Promise.all([
    caseIds.length
      ? db
          .select({ id: doubtCases.id })
          .from(doubtCases)
          .where(and(inArray(doubtCases.id, caseIds), eq(doubtCases.gridOperatorId, gridOperatorId)))
      : [],
    reportIds.length
      ? db
          .select({ id: supplierReports.id })
          .from(supplierReports)
          .where(and(inArray(supplierReports.id, reportIds), eq(supplierReports.gridOperatorId, gridOperatorId)))
      : [],
  ]);
  return new Set([...cases.map((c) => c.id), ...reports.map((r) => r.id)]);
}
