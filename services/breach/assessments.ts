/**
 * GT-11 breach hand-off: opening an assessment (on the close "mandate not demonstrated", or when a handler
 * asks), the privacy officer's decision through the assessment's workflow (which keeps the art. 33 clock),
 * the report content for the AP and the art. 34 letter. Throws DomainErrors only.
 */
import type { Client } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import type { Actor } from '../../db/repositories/actor.js';
import { breachAssessmentOfCase, openBreachAssessment, requireBreachAssessment } from '../../db/repositories/breach.js';
import { getCaseWithParties } from '../../db/repositories/cases.js';
import { connections, gridUsers, type BreachAssessment } from '../../db/schema/index.js';
import type { BreachDecision } from '../../domain/breach.js';
import type { CaseStatus } from '../../domain/case.js';
import type { SignedWith } from '../../domain/visibility.js';
import { DomainError, invalidState } from '../../lib/errors.js';
import { breachReminderMail, gridUserLetter, type BreachTextData } from '../../notifications/breach-templates.js';
import { breachWorkflowId, decideBreachUpdate, type BreachWorkflowInput } from '../../workflows/breach-shared.js';
import { executeUpdate, requireTemporal, startWorkflowOnce } from '../workflow-client.js';

export interface BreachServiceDeps {
  db: Db;
  temporal: Client | undefined;
  taskQueue: string;
  publicUrl: string;
}

/** Start the assessment's workflow (idempotent by its id: one per case). */
export function startBreachWorkflow(client: Client, taskQueue: string, input: BreachWorkflowInput): Promise<boolean> {
  return startWorkflowOnce(client, 'breachAssessmentWorkflow', {
    workflowId: breachWorkflowId(input.caseId),
    taskQueue,
    args: [input],
  });
}

/**
 * GT-11 hook of the case close: a case that ended "mandate not demonstrated" gets its breach assessment,
 * the clock running from the close. Called after the close's transaction; a retried close starts nothing twice.
 */
export async function openBreachOnClose(
  client: Client | undefined,
  taskQueue: string,
  caseId: string,
  status: CaseStatus,
): Promise<void> {
  if (status !== 'closed_mandate_not_demonstrated') return;
  if (!client) throw new Error(`no Temporal client: breach assessment of case ${caseId} cannot start (GT-11)`);
  await startBreachWorkflow(client, taskQueue, { caseId, trigger: 'case_closed_not_demonstrated' });
}

/**
 * A handler asks for an assessment now (before or without a "not demonstrated" close): the clock runs
 * from this request. A case that already has one keeps it (and its clock).
 */
export async function requestBreachAssessment(
  deps: BreachServiceDeps,
  caseId: string,
  actor: Actor,
): Promise<{ assessment: BreachAssessment; created: boolean }> {
  const client = requireTemporal(deps.temporal);
  const opened = await openBreachAssessment(deps.db, {
    caseId,
    trigger: 'handler_request',
    awareAt: new Date(),
    actor,
  });
  await startBreachWorkflow(client, deps.taskQueue, {
    caseId,
    trigger: opened.assessment.trigger,
    awareAt: opened.assessment.awareAt.toISOString(),
  });
  return opened;
}

/** The privacy officer decides; the workflow says whether the 72 hours were met. */
export async function decideBreach(
  deps: BreachServiceDeps,
  id: string,
  decision: BreachDecision & { actor: Actor; actorName: string | null; signedWith?: SignedWith },
): Promise<BreachAssessment> {
  const client = requireTemporal(deps.temporal);
  const row = await requireBreachAssessment(deps.db, id);
  if (row.decidedAt) throw invalidState('breach_already_decided', `Breach assessment ${id} is decided`);
  const { actor, ...d } = decision;
  await executeUpdate(
    client,
    breachWorkflowId(row.caseId),
    decideBreachUpdate,
    {
      args: [
        { ...d, actor: actor.actor, actorRole: actor.actorRole ?? null, actorPartyId: actor.actorPartyId ?? null },
      ],
    },
    {
      ifNotRunning(err) {
        throw new DomainError(
          'unavailable',
          'breach_workflow_not_started',
          'The assessment workflow is not running yet; repeat the request shortly',
          undefined,
          { assessmentId: id },
          { cause: err },
        );
      },
    },
  );
  return requireBreachAssessment(deps.db, id);
}

export { breachAssessmentOfCase };

/** The facts the texts and the AP report are made of. */
export async function breachTextData(db: Db, a: BreachAssessment, publicUrl: string): Promise<BreachTextData> {
  const c = await getCaseWithParties(db, a.caseId);
  return {
    reference: c.row.reference,
    assessmentId: a.id,
    connectionEan: a.connectionEan,
    partyName: c.party.name,
    gridOperatorName: c.gridOperator.name,
    awareAt: a.awareAt,
    dueAt: a.dueAt,
    deliveries: a.prefill.deliveries,
    firstDeliveredAt: a.prefill.firstDeliveredAt,
    periods: a.prefill.periods,
    publicUrl,
  };
}

export { breachReminderMail };

const measuresText = (a: BreachAssessment, partyName: string) =>
  [
    `Wij hebben de toegang van ${partyName} tot de meetgegevens van uw aansluiting geblokkeerd. Toegang is alleen weer mogelijk met een nieuwe machtiging via de reguliere procedure.`,
    a.notifyAp ? 'Wij hebben de inbreuk gemeld bij de Autoriteit Persoonsgegevens.' : null,
  ]
    .filter((s) => s !== null)
    .join(' ');

/** The art. 34 letter to the grid user (Dutch). */
export async function breachLetter(db: Db, a: BreachAssessment, publicUrl: string) {
  const b = await breachTextData(db, a, publicUrl);
  const [gu] = await db
    .select({ name: gridUsers.name })
    .from(connections)
    .innerJoin(gridUsers, eq(gridUsers.id, connections.gridUserId))
    .where(eq(connections.ean, a.connectionEan));
  return gridUserLetter(b, {
    gridUserName: gu?.name ?? null,
    privacyOfficerName: a.decidedByName,
    measures: measuresText(a, b.partyName),
  });
}

/**
 * The content of the AP notification (meldformulier datalekken, art. 33(3)): who, what, when, how many,
 * which data, consequences, measures, whether data subjects are informed. Draft until decided.
 */
export async function apReport(db: Db, a: BreachAssessment, publicUrl: string) {
  const b = await breachTextData(db, a, publicUrl);
  const c = await getCaseWithParties(db, a.caseId);
  return {
    status: a.decidedAt ? (a.notifyAp ? 'to_be_notified' : 'not_notified') : 'draft',
    controller: { name: c.gridOperator.name, gln: c.gridOperator.gln },
    contact: { privacyOfficer: a.decidedByName },
    caseReference: b.reference,
    summary:
      `Meetgegevens van aansluiting ${a.connectionEan} zijn via P4 verstrekt aan ${b.partyName} (GLN ${c.party.gln}), ` +
      'die bij navraag (gerede twijfel klantmandaat) het klantmandaat niet kon aantonen.',
    becameAwareAt: a.awareAt.toISOString(),
    notificationDueAt: a.dueAt.toISOString(),
    clock: a.clock,
    delayReason: a.delayReason,
    breachPeriod: { from: a.prefill.firstDeliveredAt, to: a.prefill.lastDeliveredAt },
    dataSubjects: { approximateNumber: 1, description: 'De aangeslotene (en huisgenoten) van één aansluiting' },
    personalData: {
      categories: a.prefill.dataKinds,
      deliveries: a.prefill.deliveries,
      periods: a.prefill.periods,
      specialCategories: false,
    },
    recipient: { name: b.partyName, gln: c.party.gln },
    likelyConsequences:
      'Inzicht in het leefpatroon van de aangeslotene (aanwezigheid, apparaten); mogelijk ongevraagde commerciële benadering.',
    measures: measuresText(a, b.partyName),
    assessment: a.assessment,
    dataSubjectsInformed: a.informGridUser,
    dataSubjectsNotInformedReason: a.gridUserReason,
    notAPReason: a.notifyAp === false ? a.apReason : null,
    decidedAt: a.decidedAt?.toISOString() ?? null,
    decidedBy: a.decidedByName,
  };
}
