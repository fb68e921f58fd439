/**
 * The doubt case (gerede twijfel klantmandaat): one durable workflow per report, workflow id = case id.
 *
 * Deadlines are computed here, from workflow time, with lib/working-days (deterministic, explicit zone):
 * - GT-1 contact: within 1 working day of the report's receivedAt;
 * - GT-3 response: 72 clock hours from the moment of contact (the workflow time it sees the mail sent);
 * - GT-8 unblock: within 1 working day of the acceptance (GT-7: of the wrongful-block decision).
 * Activities mirror them into the case row. No I/O and no wall clock in this file.
 *
 * Mails that only inform (alerts, reminders) run in the background and never hold up a decision; the
 * contact mail is retried without limit, with the GT-1 alert and the recorded miss as the safety net.
 */
import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import { DB_ACTIVITY, MAIL_ACTIVITY } from './activity-options.js';
import {
  caseDeadlines,
  checkCaseOpen,
  checkJudgement,
  closingEffects,
  closingStatus,
  contactDeadline,
  isClosedStatus,
  judgementOutcome,
  responseDeadline,
  type CaseDeadline,
  type CaseRefusal,
  type Judgement,
} from '../domain/case.js';
import {
  CaseErrors,
  SA,
  addNoteUpdate,
  caseStateQuery,
  judgeEvidenceUpdate,
  liftWrongfulBlockUpdate,
  notifyAcmUpdate,
  submitResponseUpdate,
  withdrawCaseUpdate,
  type ActorRef,
  type CaseSnapshot,
  type CaseStatus,
  type DeadlineView,
  type DoubtCaseInput,
  type OutcomeKind,
} from './shared.js';

type Activities = ReturnType<typeof createActivities>;

const db = proxyActivities<Activities>(DB_ACTIVITY);
/** Retried without an attempt limit: the GT-1 alert (contactParty) tells the handler in time when contact is not achieved. */
const mail = proxyActivities<Activities>(MAIL_ACTIVITY);

/** GT-1: alert the handler this long before the contact deadline when contact has not succeeded. */
export const CONTACT_ALERT_LEAD_MS = 4 * 3_600_000;
/** Evidence in time but unjudged after the 72 hours: remind the handler this often. */
export const JUDGEMENT_REMINDER_INTERVAL_MS = 24 * 3_600_000;
const MIN_WAIT_MS = 60_000;

const SYSTEM_ROLE = 'system';

interface ResponseState {
  responseId: string;
  submittedAt: Date;
  hasEvidence: boolean;
  judgement: Judgement | null;
  /** The acceptResponse activity completed (the row is 'received'). */
  recorded: boolean;
}

interface Decision extends ActorRef {
  kind: OutcomeKind;
  at: Date;
  reason: string | null;
  responseId?: string;
}

/** A domain refusal as the Update's failure; the API maps it back to the same DomainError it raises itself. */
function refuse(refusal: CaseRefusal): never {
  throw ApplicationFailure.create({ message: refusal.message, type: CaseErrors.Refused, nonRetryable: true, details: [refusal] });
}

export async function doubtCaseWorkflow(input: DoubtCaseInput): Promise<CaseSnapshot> {
  const workflowActor: ActorRef = { actor: `workflow:${input.caseId}`, actorRole: SYSTEM_ROLE, actorPartyId: null };
  const receivedAt = new Date(input.receivedAt);
  const contactDueAt = contactDeadline(receivedAt);

  // Mutated by handlers and nested steps: the casts keep TypeScript from narrowing them to their initial values.
  let status = 'blocked' as CaseStatus;
  let contactedAt = null as Date | null;
  let responseDueAt = null as Date | null;
  let responseWindowClosed = false as boolean;
  let decision = null as Decision | null;
  let unblockDueAt = null as Date | null;
  let unblockedAt = null as Date | null;
  const responses: ResponseState[] = [];
  let acmNotifications = 0;
  /** Mails that must not hold up the case (alerts); awaited before the workflow completes. */
  const background: Promise<unknown>[] = [];
  let reminding = false;

  const now = () => new Date(Date.now());
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  const pendingEvidence = () => responses.some((r) => r.hasEvidence && r.judgement === null);
  const closed = () => isClosedStatus(status);
  const view = (d: CaseDeadline): DeadlineView => ({ dueAt: iso(d.dueAt), doneAt: iso(d.doneAt), state: d.state });

  function nextDeadline(): Date | null {
    if (closed()) return null;
    if (!contactedAt) return contactDueAt;
    if (!responseWindowClosed && responseDueAt) return responseDueAt;
    return unblockDueAt && !unblockedAt ? unblockDueAt : null;
  }

  function snapshot(): CaseSnapshot {
    // Decided counts as closed (with the status it closes to): the deadlines a decision ends no longer run.
    const d = caseDeadlines(
      {
        status: decision && !closed() ? closingStatus(decision.kind) : status,
        closedAt: decision?.at ?? null,
        contactDueAt,
        contactedAt,
        responseDueAt,
        respondedAt: responses[0]?.submittedAt ?? null,
        unblockDueAt,
        unblockedAt,
      },
      now(),
    );
    return {
      caseId: input.caseId,
      reference: input.reference,
      status,
      deadlines: { contact: view(d.contact), response: view(d.response), unblock: view(d.unblock) },
      contactedAt: iso(contactedAt),
      responseWindowClosed,
      responses: responses.map((r) => ({ responseId: r.responseId, submittedAt: r.submittedAt.toISOString(), hasEvidence: r.hasEvidence, judgement: r.judgement })),
      outcome: closed() && decision ? decision.kind : null,
      nextDeadline: iso(nextDeadline()),
    };
  }

  function publish(): void {
    upsertSearchAttributes([
      { key: SA.CaseStatus, value: status },
      { key: SA.NextDeadline, value: nextDeadline() },
    ]);
  }

  function assertOpen(): void {
    const refusal = checkCaseOpen({ caseId: input.caseId, reference: input.reference, status, decided: decision !== null });
    if (refusal) refuse(refusal);
  }

  function requireReason(reason: string | null | undefined): void {
    if (!reason || reason.trim() === '') throw ApplicationFailure.nonRetryable('A reason is required', CaseErrors.InvalidRequest);
  }

  // ---- handlers first (STYLE.md) ----
  setHandler(caseStateQuery, snapshot);

  setHandler(
    submitResponseUpdate,
    async (r) => {
      const entry: ResponseState = { responseId: r.responseId, submittedAt: now(), hasEvidence: r.hasEvidence, judgement: null, recorded: false };
      // Counted at once, so a 72-hour timer firing while the activity runs still sees the evidence.
      responses.push(entry);
      if (r.hasEvidence && !closed()) status = 'awaiting_judgement';
      try {
        await db.acceptResponse({ caseId: input.caseId, responseId: r.responseId, at: entry.submittedAt.toISOString(), status });
      } catch (err) {
        responses.splice(responses.indexOf(entry), 1);
        if (status === 'awaiting_judgement' && !pendingEvidence()) status = contactedAt ? 'awaiting_response' : 'blocked';
        throw err;
      }
      entry.recorded = true;
      publish();
      return { responseId: r.responseId, receivedAt: entry.submittedAt.toISOString(), snapshot: snapshot() };
    },
    {
      validator: (r) => {
        // GT-8: after the 72 hours (or once the case is decided) evidence no longer reopens the case.
        if (decision || closed() || responseWindowClosed || (responseDueAt && Date.now() >= responseDueAt.getTime())) {
          throw ApplicationFailure.nonRetryable(
            `The 72-hour response window of case ${input.reference} has closed; the regular processes (P4 request process or iSMA) must be restarted`,
            CaseErrors.ResponseWindowClosed,
          );
        }
        if (responses.some((x) => x.responseId === r.responseId)) {
          throw ApplicationFailure.nonRetryable(`Response ${r.responseId} was already submitted`, CaseErrors.DuplicateResponse);
        }
      },
    },
  );

  setHandler(
    judgeEvidenceUpdate,
    async (j) => {
      decision = {
        kind: judgementOutcome(j.decision),
        at: now(),
        reason: j.reason ?? null,
        responseId: j.responseId,
        actor: j.actor,
        actorRole: j.actorRole ?? null,
        actorPartyId: j.actorPartyId ?? null,
      };
      await condition(closed);
      return snapshot();
    },
    {
      validator: (j) => {
        // The same check the API makes on the rows, here on the workflow's own state (GT-4, GT-8).
        const refusal = checkJudgement(
          {
            caseId: input.caseId,
            reference: input.reference,
            status,
            decided: decision !== null,
            responses: responses.map((r) => ({ responseId: r.responseId, status: r.recorded ? 'received' : 'staged', hasEvidence: r.hasEvidence, judgement: r.judgement })),
          },
          j,
        );
        if (refusal) refuse(refusal);
      },
    },
  );

  const handlerClose = (kind: OutcomeKind) => async (a: { reason: string } & ActorRef) => {
    decision = { kind, at: now(), reason: a.reason, actor: a.actor, actorRole: a.actorRole ?? null, actorPartyId: a.actorPartyId ?? null };
    await condition(closed);
    return snapshot();
  };
  const handlerCloseValidator = (a: { reason: string }) => {
    assertOpen();
    requireReason(a.reason);
  };
  // GT-7: a wrongful block is restored as soon as possible, at any moment.
  setHandler(liftWrongfulBlockUpdate, handlerClose('wrongful_block'), { validator: handlerCloseValidator });
  setHandler(withdrawCaseUpdate, handlerClose('withdrawn'), { validator: handlerCloseValidator });

  // GT-6: the ACM may be informed at any time (also of a closed case still in its final steps).
  setHandler(
    notifyAcmUpdate,
    async (n) => {
      const at = now();
      return db.notifyAcm({
        caseId: input.caseId,
        at: at.toISOString(),
        message: n.message,
        actor: { actor: n.actor, actorRole: n.actorRole ?? null, actorPartyId: n.actorPartyId ?? null },
        dedupeKey: `case:${input.caseId}:acm:${++acmNotifications}`,
      });
    },
    { validator: (n) => requireReason(n.message) },
  );

  setHandler(
    addNoteUpdate,
    async (n) => {
      const at = now();
      await db.recordNote({ caseId: input.caseId, at: at.toISOString(), text: n.text, actor: { actor: n.actor, actorRole: n.actorRole ?? null, actorPartyId: n.actorPartyId ?? null } });
      return { at: at.toISOString() };
    },
    { validator: (n) => requireReason(n.text) },
  );

  // ---- 1. block (GT-2, placed by intake; idempotent here) and '0' allocation for iSMA (GT-4) ----
  await db.setUpCase({ caseId: input.caseId, at: now().toISOString(), contactDueAt: contactDueAt.toISOString() });
  publish();

  // ---- 2. contact the party's doubt contact group (GT-1, GT-10) ----
  if (!decision) await contactParty();

  // ---- 3./4. the 72 hours (GT-3) and the judgement ----
  while (!decision) {
    const remaining = responseDueAt ? responseDueAt.getTime() - Date.now() : 0;
    if (responseDueAt && !responseWindowClosed && remaining > 0) {
      await condition(() => decision !== null, remaining);
      continue;
    }
    if (!responseWindowClosed) {
      responseWindowClosed = true;
      const responded = responses.length > 0;
      await db.recordResponseWindowClosed({ caseId: input.caseId, at: now().toISOString(), responded, pendingEvidence: pendingEvidence() });
      publish();
    }
    if (pendingEvidence()) {
      // Evidence arrived in time but is not judged yet: wait for the judgement, allocation unchanged. The
      // reminder mail never holds up the judgement (SMTP may be down); one reminder in flight at a time.
      if (!reminding) {
        reminding = true;
        background.push(mail.remindJudgement({ caseId: input.caseId, at: now().toISOString() }).finally(() => (reminding = false)));
      }
      await condition(() => decision !== null, JUDGEMENT_REMINDER_INTERVAL_MS);
      continue;
    }
    decision = {
      kind: 'not_demonstrated',
      at: now(),
      reason: responses.length > 0 ? 'no mandate evidence within 72 hours' : 'no response within 72 hours',
      ...workflowActor,
    };
  }

  // ---- 5./6./7. close ----
  const d: Decision = decision;
  if (d.responseId) {
    const r = responses.find((x) => x.responseId === d.responseId);
    if (r) r.judgement = d.kind === 'accepted' ? 'accepted' : 'rejected';
    await db.recordJudgement({
      caseId: input.caseId,
      responseId: d.responseId,
      decision: d.kind === 'accepted' ? 'accepted' : 'rejected',
      reason: d.reason,
      at: d.at.toISOString(),
      actor: { actor: d.actor, actorRole: d.actorRole ?? null, actorPartyId: d.actorPartyId ?? null },
    });
  }
  const closedAt = now();
  const effects = closingEffects(d.kind, { isma: input.isma, decidedAt: d.at, closedAt });
  unblockDueAt = effects.unblockDueAt; // GT-8 / GT-7
  const result = await db.closeCase({
    caseId: input.caseId,
    outcome: d.kind,
    at: closedAt.toISOString(),
    reason: d.reason,
    actor: { actor: d.actor, actorRole: d.actorRole ?? null, actorPartyId: d.actorPartyId ?? null },
    unblockDueAt: unblockDueAt ? unblockDueAt.toISOString() : null,
    // GT-4: profile allocation from the quarter-hour of closing.
    profileEffectiveFrom: iso(effects.profileEffectiveFrom),
  });
  unblockedAt = result.unblockedAt ? new Date(result.unblockedAt) : null;
  status = result.status;
  publish();
  log.info('case closed', { caseId: input.caseId, status });

  await mail.sendOutcomeEmail({ caseId: input.caseId, outcome: d.kind });
  await Promise.allSettled(background);
  await condition(allHandlersFinished);

  // Temporal drops closed workflows after the namespace retention: a separate workflow archives the
  // complete history (completion included) once this run has closed.
  await db.scheduleHistoryArchive({ caseId: input.caseId, workflowId: workflowInfo().workflowId, runId: workflowInfo().runId });
  return snapshot();

  async function contactParty(): Promise<void> {
    let contactDone = false;
    const scope = new CancellationScope();
    const sending = scope.run(() => mail.sendContactEmail({ caseId: input.caseId, contactDueAt: contactDueAt.toISOString() }));

    // GT-1: if contact has not succeeded when the deadline nears, alert the handler; at the deadline, record the miss.
    const watch = (async () => {
      const alertIn = Math.max(contactDueAt.getTime() - CONTACT_ALERT_LEAD_MS - Date.now(), MIN_WAIT_MS);
      if (await condition(() => contactDone || decision !== null, alertIn)) return;
      await db.recordContactAtRisk({ caseId: input.caseId, at: now().toISOString(), contactDueAt: contactDueAt.toISOString() });
      // The alert mail may wait for the same SMTP outage; the miss below is recorded regardless.
      background.push(mail.sendContactAlert({ caseId: input.caseId, contactDueAt: contactDueAt.toISOString() }));
      const missIn = Math.max(contactDueAt.getTime() - Date.now(), 1);
      if (await condition(() => contactDone || decision !== null, missIn)) return;
      await db.recordContactMissed({ caseId: input.caseId, at: now().toISOString(), contactDueAt: contactDueAt.toISOString() });
      publish();
    })();

    const first = await Promise.race([sending.then(() => 'sent' as const, () => 'sent' as const), condition(() => decision !== null).then(() => 'decided' as const)]);
    if (first === 'decided') scope.cancel();
    try {
      const sent = await sending;
      // GT-3: the 72 hours run from the moment of contact, on the workflow clock; never shorter than the
      // deadline the mail stated (the mail was sent a moment before the workflow saw it completed).
      contactedAt = now();
      responseDueAt = responseDeadline(contactedAt, new Date(sent.statedResponseDueAt));
      contactDone = true;
      if (status === 'blocked') status = 'awaiting_response';
      await db.recordContact({
        caseId: input.caseId,
        contactedAt: contactedAt.toISOString(),
        responseDueAt: responseDueAt.toISOString(),
        messageId: sent.messageId,
        recipients: sent.recipients,
        status,
      });
    } catch (err) {
      if (!isCancellation(err)) throw err;
      log.info('contact attempt cancelled: case decided before contact', { caseId: input.caseId });
    }
    contactDone = true;
    await watch;
    publish();
  }
}
