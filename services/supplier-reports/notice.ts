/**
 * GT-9 / GT-10: inform the grid operator's doubt contact group of a supplier-side report (the supplier-report
 * workflow's one step; a failed send is retried by its policy). Without anyone in the group, nothing is
 * mailed; either way the report is marked informed, with its audit entry.
 */
import { recordAudit } from '../../db/repositories/audit.js';
import { getSupplierReport } from '../../db/repositories/cases.js';
import { getPartyById } from '../../db/repositories/parties.js';
import { markSupplierReportNotified } from '../../db/repositories/supplier-reports.js';
import type { Party, SupplierReport } from '../../db/schema/index.js';
import { notFound } from '../../lib/errors.js';
import { supplierReportMail } from '../../notifications/templates.js';
import { doubtGroup, messageId } from '../cases/mail.js';
import type { StepDeps } from '../step-deps.js';

type NoticeDeps = Pick<StepDeps, 'db' | 'mailer' | 'config' | 'log'>;

export async function sendSupplierReportNotice(
  deps: NoticeDeps,
  input: { reportId: string },
): Promise<{ messageId: string | null }> {
  const { db, log } = deps;
  const r = await getSupplierReport(db, input.reportId);
  if (!r) throw notFound('supplier_report_not_found', `No supplier report ${input.reportId}`);
  const party = await getPartyById(db, r.partyId);
  const gridOperator = await getPartyById(db, r.gridOperatorId);
  if (!party || !gridOperator) throw notFound('party_not_found', 'party of supplier report missing');
  const to = await doubtGroup(db, gridOperator.id);
  let sent: string | null = null;
  if (to.length === 0) {
    log.warn('grid operator has no doubt contacts; supplier report not mailed', { reportId: r.id });
  } else {
    sent = await mailReport(deps, { report: r, party, gridOperator }, to);
  }
  const at = new Date();
  await db.transaction(async (tx) => {
    await markSupplierReportNotified(tx, r.id, at);
    await recordAudit(tx, {
      actor: `workflow:supplier-report:${r.id}`,
      actorRole: 'system',
      action: 'supplier_report.notified',
      entityType: 'supplier_report',
      entityId: r.id,
      data: { messageId: sent, recipients: to, rule: 'GT-9, GT-10' },
      at,
    });
  });
  return { messageId: sent };
}

async function mailReport(
  { mailer, config }: NoticeDeps,
  { report: r, party, gridOperator }: { report: SupplierReport; party: Party; gridOperator: Party },
  to: string[],
): Promise<string> {
  const content = supplierReportMail({
    reportId: r.id,
    partyName: party.name,
    partyGln: party.gln,
    gridOperatorName: gridOperator.name,
    connectionEan: r.connectionEan,
    signalReceivedAt: r.signalReceivedAt,
    reportedAt: r.reportedAt,
    reportedWithinOneWorkingDay: r.reportedWithinOneWorkingDay,
    customerSatisfaction: r.customerSatisfaction,
    findings: r.findings,
    actions: r.actions,
    publicUrl: config.publicUrl,
  });
  const sent = await mailer.send({
    to,
    ...content,
    messageId: messageId(mailer, `supplier-report-${r.id}`),
    headers: { 'X-Supplier-Report-Id': r.id },
  });
  return sent.messageId;
}
