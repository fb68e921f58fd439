/**
 * GT-9: a customer signal a supplier or service provider received, reported to the grid operator of the
 * connection. The row and its audit entry are written in one transaction; the mail to the grid
 * operator's doubt contact group (GT-10) is the supplier-report workflow's job.
 */
import { and, asc, count, desc, eq, isNotNull, isNull, lt, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { connections, supplierReports, type SupplierReport } from '../schema/index.js';
import { notFound, validationError } from '../../lib/errors.js';
import { withinOneWorkingDayDeadline } from '../../domain/working-days.js';
import { recordAudit } from './audit.js';
import { auditActor, type Actor } from './actor.js';

export interface SupplierReportInput extends Actor {
  partyId: string;
  connectionEan: string;
  signalReceivedAt: Date;
  customerSatisfaction: 'unknown' | 'dissatisfied';
  findings: string;
  actions: string;
  /** The moment the report reached the grid operator. */
  at: Date;
}

export async function createSupplierReport(db: DbOrTx, input: SupplierReportInput): Promise<SupplierReport> {
  if (input.signalReceivedAt.getTime() > input.at.getTime() + 60_000) {
    throw validationError('signal_in_future', 'signalReceivedAt lies in the future', 'signalReceivedAt');
  }
  return db.transaction(async (tx) => {
    const [conn] = await tx
      .select({ gridOperatorId: connections.gridOperatorId })
      .from(connections)
      .where(eq(connections.ean, input.connectionEan));
    if (!conn) throw notFound('connection_not_found', `No connection ${input.connectionEan}`, 'connectionEan');
    const dueAt = withinOneWorkingDayDeadline(input.signalReceivedAt);
    const within = input.at.getTime() < dueAt.getTime(); // GT-9: before the end of the first working day after the signal
    const [row] = await tx
      .insert(supplierReports)
      .values({
        partyId: input.partyId,
        gridOperatorId: conn.gridOperatorId,
        connectionEan: input.connectionEan,
        signalReceivedAt: input.signalReceivedAt,
        reportedAt: input.at,
        reportedWithinOneWorkingDay: within,
        customerSatisfaction: input.customerSatisfaction,
        findings: input.findings,
        actions: input.actions,
        createdBy: input.actor,
      })
      .returning();
    if (!row) throw new Error('supplier report insert returned nothing');
    await recordAudit(tx, {
      ...auditActor(input),
      action: 'supplier_report.received',
      entityType: 'supplier_report',
      entityId: row.id,
      data: {
        connectionEan: row.connectionEan,
        gridOperatorId: row.gridOperatorId,
        signalReceivedAt: row.signalReceivedAt.toISOString(),
        dueAt: dueAt.toISOString(),
        reportedWithinOneWorkingDay: within,
        rule: 'GT-9',
      },
      at: input.at,
    });
    return row;
  });
}

export interface SupplierReportFilter {
  partyId?: string;
  gridOperatorId?: string;
  connectionEan?: string;
  withCase?: boolean;
  limit: number;
  offset: number;
}

export async function listSupplierReports(
  db: DbOrTx,
  f: SupplierReportFilter,
): Promise<{ items: SupplierReport[]; total: number }> {
  const where: SQL[] = [];
  if (f.partyId) where.push(eq(supplierReports.partyId, f.partyId));
  if (f.gridOperatorId) where.push(eq(supplierReports.gridOperatorId, f.gridOperatorId));
  if (f.connectionEan) where.push(eq(supplierReports.connectionEan, f.connectionEan));
  if (f.withCase === true) where.push(isNotNull(supplierReports.caseId));
  if (f.withCase === false) where.push(isNull(supplierReports.caseId));
  const cond = where.length > 0 ? and(...where) : undefined;
  const items = await db
    .select()
    .from(supplierReports)
    .where(cond)
    .orderBy(desc(supplierReports.reportedAt), desc(supplierReports.id))
    .limit(f.limit)
    .offset(f.offset);
  const [total] = await db.select({ n: count() }).from(supplierReports).where(cond);
  return { items, total: total?.n ?? 0 };
}

/** The notification workflow (GT-10 mail) is known to run for this report. */
export async function markNotificationStarted(db: DbOrTx, reportId: string, at: Date): Promise<void> {
  await db
    .update(supplierReports)
    .set({ notificationStartedAt: at })
    .where(and(eq(supplierReports.id, reportId), isNull(supplierReports.notificationStartedAt)));
}

/** GT-9 / GT-10: the grid operator was informed (or had no one to inform) at `at`. */
export async function markSupplierReportNotified(db: DbOrTx, reportId: string, at: Date): Promise<void> {
  await db.update(supplierReports).set({ notifiedAt: at }).where(eq(supplierReports.id, reportId));
}

/** Reports whose notification workflow was never confirmed started and whose grid operator was not mailed. */
export async function reportsWithoutNotification(db: DbOrTx, olderThan: Date, limit = 500): Promise<SupplierReport[]> {
  return db
    .select()
    .from(supplierReports)
    .where(
      and(
        isNull(supplierReports.notificationStartedAt),
        isNull(supplierReports.notifiedAt),
        lt(supplierReports.reportedAt, olderThan),
      ),
    )
    .orderBy(asc(supplierReports.reportedAt))
    .limit(limit);
}
