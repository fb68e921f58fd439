/**
 * GT-1 / GT-2 intake: a signal becomes a case — the case row and its block in one transaction, then
 * the case workflow (id = case id). A start that fails leaves the committed case to the intake's repeat
 * or to the recovery sweep (services/recovery/sweep.ts). Throws DomainErrors only.
 */
import type { Client } from '@temporalio/client';
import type { Db } from '../../db/client.js';
import type { Actor } from '../../db/repositories/actor.js';
import {
  createCaseWithBlock,
  getCaseWithParties,
  getSupplierReport,
  markWorkflowStarted,
  type CaseIntakeInput,
} from '../../db/repositories/cases.js';
import { allocationBasisAt } from '../../db/repositories/allocation.js';
import { supplierOfRecordAt } from '../../db/repositories/connection-parties.js';
import { assertEan, requireConnection } from '../../db/repositories/connections.js';
import { partiesByIds, requirePartyByGln } from '../../db/repositories/parties.js';
import type { DoubtCase } from '../../db/schema/index.js';
import { DomainError, notFound, validationError } from '../../lib/errors.js';
import { SA, type DoubtCaseInput } from '../../workflows/shared.js';
import { requireTemporal, startWorkflow } from '../workflow-client.js';
import type { CaseServiceDeps } from './actions.js';
import type { SignalClass } from '../../domain/review.js';
import { gt4Applies, ismaVariant, onIsmaAt } from '../../domain/case.js';
import { INTAKE_WORKFLOW_BOUND_S } from '../recovery/intake-bound.js';

/** Start the case workflow (id = case id). Already started counts as success: intake retries land here. */
export async function startCaseWorkflow(db: Db, client: Client, taskQueue: string, caseId: string): Promise<void> {
  const { row, party, gridOperator } = await getCaseWithParties(db, caseId);
  const input: DoubtCaseInput = {
    caseId: row.id,
    reference: row.reference,
    partyId: row.partyId,
    partyGln: party.gln,
    gridOperatorId: row.gridOperatorId,
    gridOperatorGln: gridOperator.gln,
    connectionEan: row.connectionEan,
    channel: row.channel,
    isma: row.isma,
    receivedAt: row.receivedAt.toISOString(),
  };
  await startWorkflow(
    client,
    'doubtCaseWorkflow',
    {
      workflowId: row.id,
      taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
      typedSearchAttributes: [
        { key: SA.CaseKind, value: 'doubt_case' },
        { key: SA.CaseStatus, value: row.status },
        { key: SA.PartyGln, value: party.gln },
        { key: SA.GridOperatorGln, value: gridOperator.gln },
        { key: SA.NextDeadline, value: row.contactDueAt },
      ],
    },
    {
      message: `The case is registered and the block is in force, but its workflow could not be started yet; a running worker starts it within ${INTAKE_WORKFLOW_BOUND_S} s of the workflow engine answering again (repeating the request with the same Idempotency-Key is safe)`,
      details: { caseId: row.id },
    },
  );
  await markWorkflowStarted(db, row.id, new Date());
}

/** GT-1 / GT-2 intake. The block is committed before the workflow starts and before the 201. */
export async function openCase(
  deps: CaseServiceDeps,
  input: CaseIntakeInput,
): Promise<{ row: DoubtCase; created: boolean }> {
  const client = requireTemporal(deps.temporal);
  const { row, created } = await createCaseWithBlock(deps.db, input);
  if (!row.workflowStartedAt) await startCaseWorkflow(deps.db, client, deps.taskQueue, row.id);
  return { row, created };
}

/** A signal as a case handler registers it: its facts, or the GT-9 supplier report it comes from. */
export interface SignalIntake {
  /** Open the case from this report: connection, party, channel, receivedAt and description default to it. */
  supplierReportId?: string;
  connectionEan?: string;
  partyGln?: string;
  channel?: CaseIntakeInput['channel'];
  receivedAt?: Date;
  reporterName?: string;
  reporterContact?: string;
  reporterReference?: string;
  description?: string;
  /** GT-4: omitted, it follows from the party and the connection at the signal (gt4Applies, ismaVariant). */
  isma?: boolean;
  signalClass?: SignalClass;
  externalReference?: string;
  idempotencyKey?: string;
}

const SIGNAL_FACTS = ['connectionEan', 'partyGln', 'channel', 'receivedAt', 'reporterName', 'description'] as const;

/** The facts a GT-9 report gives a case opened from it; given facts must agree with them. */
async function reportFacts(db: Db, gridOperatorId: string, s: SignalIntake & { supplierReportId: string }) {
  const report = await getSupplierReport(db, s.supplierReportId);
  if (!report || report.gridOperatorId !== gridOperatorId)
    throw notFound('supplier_report_not_found', `No supplier report ${s.supplierReportId}`, 'supplierReportId');
  if (s.channel !== undefined && s.channel !== 'supplier_report')
    throw validationError(
      'channel_mismatch',
      'A case opened from a supplier report has channel supplier_report',
      'channel',
    );
  if (s.connectionEan !== undefined && s.connectionEan !== report.connectionEan)
    throw validationError(
      'supplier_report_mismatch',
      'connectionEan differs from the supplier report',
      'connectionEan',
    );
  const reporter = (await partiesByIds(db, [report.partyId])).get(report.partyId);
  return {
    connectionEan: report.connectionEan,
    partyId: report.partyId,
    // The grid operator received the signal when the party reported it (GT-9).
    receivedAt: report.reportedAt,
    reporterName: reporter ? `${reporter.name} (GT-9)` : 'supplier report (GT-9)',
    description: `GT-9 report by the party. Findings: ${report.findings}\nActions: ${report.actions}`,
  };
}

/**
 * GT-4: the case's iSMA variant from the facts at the signal moment — the party, the connection's supplier of
 * record then, its allocation basis in force then (AL-4) and remote reading (AL-5) — judged by gt4Applies and
 * checked against what the handler says. 404 for a connection of another grid operator, as the intake itself
 * answers.
 */
export async function ismaAtSignal(
  db: Db,
  gridOperatorId: string,
  s: { connectionEan: string; partyId: string; at: Date; stated: boolean | undefined },
) {
  const conn = await requireConnection(
    db,
    s.connectionEan,
    'connectionEan',
    (c) => c.gridOperatorId === gridOperatorId,
  );
  const basis = await allocationBasisAt(db, s.connectionEan, s.at);
  const supplierOfRecordId = await supplierOfRecordAt(db, conn, s.at);
  const facts = { partyId: s.partyId, supplierOfRecordId, basis, remoteReadingOptOut: conn.remoteReadingOptOut };
  const verdict = gt4Applies(facts);
  const variant = ismaVariant(s.stated, verdict, { connectionEan: s.connectionEan, at: s.at });
  if ('code' in variant)
    throw new DomainError(variant.kind, variant.code, variant.message, variant.field, variant.details);
  return {
    isma: variant.isma,
    // What the case's variant rests on, in its opening audit entry.
    basis: {
      derived: variant.derived,
      gt4Applies: verdict.applies,
      ...(verdict.applies ? {} : { gt4NotApplicable: verdict.why }),
      onIsma: onIsmaAt(facts),
      partyIsSupplierOfRecord: supplierOfRecordId !== null && supplierOfRecordId === s.partyId,
      supplierOfRecordId,
      allocationMethod: basis?.method ?? null,
      allocationBasis: basis?.basis ?? null,
      allocationBasisId: basis?.id ?? null,
      remoteReadingOptOut: conn.remoteReadingOptOut,
    },
  };
}

/**
 * GT-1 / GT-2 intake of a signal for the handler's own grid operator: resolve the facts (from the GT-9
 * report when it comes from one), then open the case with its block and start its workflow.
 */
export async function registerSignal(
  deps: CaseServiceDeps,
  by: Actor & { gridOperatorId: string },
  s: SignalIntake,
): Promise<{ row: DoubtCase; created: boolean }> {
  let defaults: Awaited<ReturnType<typeof reportFacts>> | undefined;
  if (s.supplierReportId !== undefined) {
    defaults = await reportFacts(deps.db, by.gridOperatorId, { ...s, supplierReportId: s.supplierReportId });
  } else {
    if (s.channel === 'supplier_report')
      throw validationError(
        'supplier_report_required',
        'Channel supplier_report needs supplierReportId',
        'supplierReportId',
      );
    for (const f of SIGNAL_FACTS)
      if (s[f] === undefined) throw validationError('field_required', `${f} is required`, f);
  }
  const connectionEan = s.connectionEan ?? defaults!.connectionEan;
  assertEan(connectionEan, 'connectionEan');
  let partyId = defaults?.partyId;
  if (s.partyGln !== undefined) {
    const party = await requirePartyByGln(deps.db, s.partyGln, 'partyGln');
    if (partyId !== undefined && party.id !== partyId)
      throw validationError('supplier_report_mismatch', 'partyGln differs from the supplier report', 'partyGln');
    partyId = party.id;
  }
  const receivedAt = s.receivedAt ?? defaults!.receivedAt;
  const isma = await ismaAtSignal(deps.db, by.gridOperatorId, {
    connectionEan,
    partyId: partyId!,
    at: receivedAt,
    stated: s.isma,
  });
  return openCase(deps, {
    ...by,
    partyId: partyId!,
    connectionEan,
    channel: s.supplierReportId !== undefined ? 'supplier_report' : s.channel!,
    receivedAt,
    reporterName: s.reporterName ?? defaults!.reporterName,
    reporterContact: s.reporterContact ?? null,
    reporterReference: s.reporterReference ?? null,
    description: s.description ?? defaults!.description,
    isma: isma.isma,
    ismaBasis: isma.basis,
    signalClass: s.signalClass ?? null,
    externalReference: s.externalReference ?? null,
    idempotencyKey: s.idempotencyKey ?? null,
    supplierReportId: s.supplierReportId ?? null,
    at: new Date(),
  });
}
