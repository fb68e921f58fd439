/**
 * The doubt-case service between the routes and the running case workflow (intake and the start of the
 * workflow: services/cases/intake.ts): the party's response (staged, then counted by the workflow through
 * a validated Update) and the handler's actions (Updates that answer with the new state). Throws
 * DomainErrors only.
 */
import type { Client } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import type { Db } from '../../db/client.js';
import type { Actor } from '../../db/repositories/actor.js';
import {
  getCase,
  listResponses,
  refuseResponse,
  requireCase,
  stageResponse,
  CLOSED_STATUSES,
} from '../../db/repositories/cases.js';
import { recordAudit } from '../../db/repositories/audit.js';
import type { DoubtCase } from '../../db/schema/index.js';
import {
  checkEvidenceRequest,
  checkJudgement,
  withdrawalEffect,
  WINDOW_CLOSED_MESSAGE,
  type CaseRefusal,
  type JudgementRequest,
  type WithdrawalEffect,
  type WithdrawalReason,
} from '../../domain/case.js';
import { nextDirectAcmReportKey, reportCaseToAcm, type AcmReportDeps } from './acm-report.js';
import { checkEvidence, type EvidenceUpload } from './evidence.js';
import { actionUpdateId, idempotentTransaction } from '../idempotency/action.js';
import { INTAKE_WORKFLOW_BOUND_S } from '../recovery/intake-bound.js';
import { DomainError, invalidState, validationError } from '../../lib/errors.js';
import { executeUpdate, queryIfRunning, requireTemporal, type WorkflowCall } from '../workflow-client.js';
import {
  addNoteUpdate,
  caseStateQuery,
  judgeEvidenceUpdate,
  liftWrongfulBlockUpdate,
  notifyAcmUpdate,
  recordManualContactUpdate,
  requestEvidenceUpdate,
  submitResponseUpdate,
  withdrawCaseUpdate,
  type CaseSnapshot,
  type EvidenceRequestResult,
  type JudgeEvidenceInput,
  type ManualContactInput,
  type NotifyAcmResult,
} from '../../workflows/shared.js';

export interface CaseServiceDeps {
  db: Db;
  temporal: Client | undefined;
  taskQueue: string;
  evidenceMaxBytes: number;
  /** GT-6 after the workflow closed (services/cases/acm-report.ts); without it (no SMTP configured for the API) such a report is 503 mail_unavailable. */
  acmReport?: Omit<AcmReportDeps, 'db'>;
}

/** A domain refusal (domain/case.ts) as the DomainError the API answers with (the workflow's refusals map to the same). */
function refusalError(r: CaseRefusal): DomainError {
  return new DomainError(r.kind, r.code, r.message, r.field, r.details);
}

/**
 * No running case workflow: on a closed case its run has completed (409 case_closed); on an open case it
 * has not started yet — the intake's start failed and every worker's recovery loop starts it
 * (services/recovery/sweep.ts) — so 503, to be repeated.
 */
function caseWorkflowGone(deps: CaseServiceDeps, row: DoubtCase): WorkflowCall<never> {
  return {
    async ifNotRunning(err) {
      const now = (await getCase(deps.db, row.id)) ?? row; // the row read before the Update may be stale
      if (CLOSED_STATUSES.includes(now.status))
        throw invalidState('case_closed', `Case ${now.reference} is closed`, { caseId: now.id, status: now.status });
      throw new DomainError(
        'unavailable',
        'case_workflow_not_started',
        `The workflow of case ${now.reference} has not started yet; a running worker starts it within ${INTAKE_WORKFLOW_BOUND_S} s of its intake (or of the workflow engine answering again): repeat the request then`,
        undefined,
        { caseId: now.id, status: now.status },
        { cause: err },
      );
    },
  };
}

export interface SubmitResponseInput extends Actor {
  caseId: string;
  partyId: string;
  findings: string;
  complaintHandling: string;
  evidence: EvidenceUpload | null;
}

/**
 * GT-3: store the response (staged), then let the workflow count it. After the 72 hours the workflow's
 * validator refuses, and the staged copy is refused too: content dropped, digest kept (GT-8).
 */
export async function submitResponse(deps: CaseServiceDeps, input: SubmitResponseInput) {
  const client = requireTemporal(deps.temporal);
  const row = await requireCase(deps.db, input.caseId);
  const evidence = input.evidence ? checkEvidence(input.evidence, deps.evidenceMaxBytes) : null;
  if (CLOSED_STATUSES.includes(row.status))
    throw invalidState('response_window_closed', WINDOW_CLOSED_MESSAGE, { caseId: row.id, status: row.status });
  const staged = await stageResponse(deps.db, {
    ...input,
    caseId: row.id,
    partyId: input.partyId,
    submittedAt: new Date(),
    evidence,
  });
  try {
    const result = await executeUpdate(
      client,
      row.id,
      submitResponseUpdate,
      {
        args: [{ responseId: staged.id, submittedBy: input.actor, hasEvidence: evidence !== null }],
        updateId: `response:${staged.id}`,
      },
      caseWorkflowGone(deps, row),
    );
    return { response: staged, evidence, result };
  } catch (err) {
    // GT-8: the staged copy is refused, the answer's code as its reason (the content dropped, the digest kept).
    await refuseResponse(deps.db, {
      ...input,
      caseId: row.id,
      responseId: staged.id,
      reason: err instanceof DomainError ? err.code : 'not_accepted',
      at: new Date(),
    });
    throw err;
  }
}

/** An Update of the case's workflow: its refusals and failures answered by services/workflow-client.ts. */
async function update<Ret, Args extends [unknown, ...unknown[]], Name extends string>(
  deps: CaseServiceDeps,
  caseId: string,
  def: UpdateDefinition<Ret, Args, Name>,
  ...args: Args
): Promise<Ret> {
  const client = requireTemporal(deps.temporal);
  const row = await requireCase(deps.db, caseId);
  return executeUpdate(client, row.id, def, { args }, caseWorkflowGone(deps, row));
}

/**
 * The handler's judgement (GT-4, GT-8). Checked on the rows first (domain checkJudgement), so a refusal
 * names what the rows show (a refused response, nothing to judge); the workflow's validator applies the
 * same check to its own state, and its refusal maps to the same answer.
 */
export async function judgeEvidence(
  deps: CaseServiceDeps,
  caseId: string,
  a: Actor & JudgementRequest & Pick<JudgeEvidenceInput, 'signedWith'>,
): Promise<CaseSnapshot> {
  const row = await requireCase(deps.db, caseId);
  const responses = await listResponses(deps.db, row.id);
  const refusal = checkJudgement(
    {
      caseId: row.id,
      reference: row.reference,
      status: row.status,
      responses: responses.map((r) => ({
        responseId: r.id,
        status: r.status,
        hasEvidence: r.evidenceSha256 !== null,
        judgement: r.judgement,
      })),
    },
    a,
  );
  if (refusal) throw refusalError(refusal);
  return update(deps, caseId, judgeEvidenceUpdate, { ...a });
}

/**
 * GT-1: the handler reached the party by telephone, in a meeting or by letter. It counts as the contact (the
 * contact mail, perhaps failing, is stopped) and the 72 hours run from its moment (GT-3). Refused once the
 * party was contacted (409 already_contacted) or for a moment outside signal..now (400 contact_time_invalid).
 */
export function recordManualContact(
  deps: CaseServiceDeps,
  caseId: string,
  a: Actor & Omit<ManualContactInput, keyof Actor>,
): Promise<CaseSnapshot> {
  return update(deps, caseId, recordManualContactUpdate, { ...a });
}

export function liftWrongfulBlock(
  deps: CaseServiceDeps,
  caseId: string,
  a: Actor & { reason: string },
): Promise<CaseSnapshot> {
  return update(deps, caseId, liftWrongfulBlockUpdate, { ...a });
}

/**
 * GT-7: withdraw the case for a reason code (none: `other`, as older callers withdrew). Answers the case
 * with the withdrawal's effect on the block and the blocked period (domain withdrawalEffect), as recorded.
 */
export async function withdrawCase(
  deps: CaseServiceDeps,
  caseId: string,
  a: Actor & { reason: string; reasonCode?: WithdrawalReason | null },
): Promise<CaseSnapshot & { withdrawal: WithdrawalEffect }> {
  const reasonCode = a.reasonCode ?? 'other';
  const snapshot = await update(deps, caseId, withdrawCaseUpdate, { ...a, reasonCode });
  return { ...snapshot, withdrawal: withdrawalEffect(reasonCode) };
}

/**
 * GT-3: ask the party for more or other evidence while its 72 hours run (409 response_window_not_open before
 * contact, response_window_closed after; case_closed). Answers once recorded; the bilingual mail to the
 * party's doubt contact group follows, retried until sent, with the unchanged reply-by instant.
 */
export async function requestEvidence(
  deps: CaseServiceDeps,
  caseId: string,
  a: Actor & { message: string },
): Promise<EvidenceRequestResult> {
  if (a.message.trim() === '') throw validationError('message_required', 'Say what evidence is needed', 'message');
  const row = await requireCase(deps.db, caseId);
  // The row's view first (a closed case has no workflow to ask); the workflow's validator decides on its own state.
  const refusal = checkEvidenceRequest(
    {
      caseId: row.id,
      reference: row.reference,
      status: row.status,
      responseDueAt: row.contactedAt ? row.responseDueAt : null,
    },
    new Date(),
  );
  if (refusal && refusal.code === 'case_closed') throw refusalError(refusal);
  return update(deps, caseId, requestEvidenceUpdate, { ...a });
}

/**
 * GT-6: the ACM may be informed at any time. While the case workflow runs it sends (an Update); once its
 * run has completed (or when it has none) the same report (services/cases/acm-report.ts) is sent here, with its own dedupe keys
 * (`case:<id>:acm:direct:<n>`, never those of the workflow): mail, acm_notifications row, audit entry and
 * acm_notified_at, recorded once per key.
 */
export async function notifyAcm(
  deps: CaseServiceDeps,
  caseId: string,
  a: Actor & { message: string },
): Promise<NotifyAcmResult> {
  const client = requireTemporal(deps.temporal);
  const row = await requireCase(deps.db, caseId);
  return executeUpdate(
    client,
    row.id,
    notifyAcmUpdate,
    { args: [{ ...a }] },
    { ifNotRunning: (err) => notifyAcmWithoutWorkflow(deps, row, a, err) },
  );
}

async function notifyAcmWithoutWorkflow(
  deps: CaseServiceDeps,
  row: DoubtCase,
  a: Actor & { message: string },
  workflowErr: unknown,
): Promise<NotifyAcmResult> {
  if (a.message.trim() === '') throw validationError('invalid_request', 'A message is required', 'message');
  if (!deps.acmReport) {
    throw new DomainError(
      'unavailable',
      'mail_unavailable',
      'The case workflow has closed and this API has no mail server configured to inform the ACM (GT-6)',
      undefined,
      { caseId: row.id },
      { cause: workflowErr },
    );
  }
  // Under an Idempotency-Key the report's dedupe key is the key's: a repeat sends and records it once (issue 20).
  const keyed = actionUpdateId();
  const dedupeKey = keyed ? `case:${row.id}:acm:direct:${keyed}` : await nextDirectAcmReportKey(deps.db, row.id);
  try {
    return await reportCaseToAcm(
      { db: deps.db, ...deps.acmReport },
      {
        caseId: row.id,
        at: new Date().toISOString(),
        message: a.message,
        actor: { actor: a.actor, actorRole: a.actorRole ?? null, actorPartyId: a.actorPartyId ?? null },
        dedupeKey,
      },
    );
  } catch (err) {
    if (err instanceof DomainError) throw err;
    throw new DomainError(
      'unavailable',
      'mail_unavailable',
      'The report to the ACM could not be sent now; nothing was recorded, repeat the request',
      undefined,
      { caseId: row.id },
      { cause: err },
    );
  }
}

/** Notes go through the workflow while it runs; on a closed case straight into the audit log. */
export async function addNote(
  deps: CaseServiceDeps,
  caseId: string,
  a: Actor & { text: string },
): Promise<{ at: string }> {
  const row = await requireCase(deps.db, caseId);
  if (CLOSED_STATUSES.includes(row.status)) {
    // The note's one write, with the Idempotency-Key's first outcome in the same transaction (issue 20).
    return idempotentTransaction(deps.db, async (tx) => {
      const at = new Date();
      await recordAudit(tx, {
        actor: a.actor,
        actorRole: a.actorRole ?? null,
        actorPartyId: a.actorPartyId ?? null,
        action: 'case.note',
        entityType: 'case',
        entityId: row.id,
        data: { text: a.text },
        at,
      });
      return { at: at.toISOString() };
    });
  }
  return update(deps, caseId, addNoteUpdate, { ...a });
}

/** The running workflow's own view, when it still runs (undefined otherwise). */
export function liveSnapshot(deps: CaseServiceDeps, caseId: string): Promise<CaseSnapshot | undefined> {
  return queryIfRunning(deps.temporal, caseId, caseStateQuery);
}
