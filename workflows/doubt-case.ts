/**
 * The doubt case (gerede twijfel klantmandaat): one durable workflow per report, workflow id = case id.
 *
 * Read `doubtCaseWorkflow` first: it is the process. `DoubtCase` holds the state, the views (query,
 * search attributes) and the bodies of the Update handlers; `contactParty` is step 2 with its GT-1 watch.
 * The rules (due times, deadline states, closing effects, judgement checks) are domain/case.ts.
 *
 * Deadlines are computed here, from workflow time (deterministic, explicit zone), and mirrored into the
 * case row by the activities: GT-1 contact within 1 working day of the report; GT-3 72 clock hours from the
 * moment of contact; GT-8 unblock within 1 working day of the acceptance (GT-7: of the wrongful-block
 * decision). No I/O and no wall clock in this file.
 *
 * Mails that only inform (alerts, reminders; the notices to the reporter and the grid user, with bounded
 * retries and a spent notice recorded) run in the background and never hold up a decision; the contact mail
 * is retried without limit, with the GT-1 alert and the recorded miss as the safety net.
 *
 * Replay: the order of activity calls, timers and search-attribute updates is what recorded histories hold
 * (test/workflows/replay.test.ts). The main function awaits every step inline on purpose: an extra async
 * function between two steps would let a handler's command slip in between them in a busy workflow task.
 */
import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import {
  caseDeadlines,
  checkCaseOpen,
  checkEvidenceRequest,
  checkJudgement,
  checkManualContact,
  closingEffects,
  closingStatus,
  contactDeadline,
  isClosedStatus,
  judgementOutcome,
  responseDeadline,
  withdrawalEffect,
  WITHDRAWAL_REASONS,
  type CaseDeadline,
  type CaseRefusal,
  type CaseStatus,
  type Judgement,
  type OutcomeKind,
} from '../domain/case.js';
import { closingNotices, type CaseNotice } from '../domain/case-notices.js';
import { isStorableText } from '../domain/text.js';
import { DB_ACTIVITY, MAIL_ACTIVITY, NOTICE_ACTIVITY } from './activity-options.js';
import {
  CaseErrors,
  SA,
  addNoteUpdate,
  caseStateQuery,
  judgeEvidenceUpdate,
  liftWrongfulBlockUpdate,
  notifyAcmUpdate,
  recordManualContactUpdate,
  requestEvidenceUpdate,
  submitResponseUpdate,
  withdrawCaseUpdate,
  type ActorRef,
  type AddNoteInput,
  type CaseSnapshot,
  type DeadlineView,
  type DoubtCaseInput,
  type EvidenceRequestInput,
  type EvidenceRequestResult,
  type HandlerActionInput,
  type JudgeEvidenceInput,
  type ManualContactInput,
  type NotifyAcmInput,
  type NotifyAcmResult,
  type SubmitResponseInput,
  type SubmitResponseResult,
  type WithdrawCaseInput,
} from './shared.js';

type Activities = ReturnType<typeof createActivities>;

const db = proxyActivities<Activities>(DB_ACTIVITY);
/** Retried without an attempt limit: the GT-1 alert (contactParty) tells the handler in time when contact is not achieved. */
const mail = proxyActivities<Activities>(MAIL_ACTIVITY);
/** Notices to the reporter and the grid user: bounded retries, then the failure is recorded (never holds up the case). */
const notices = proxyActivities<Activities>(NOTICE_ACTIVITY);

/** GT-1: alert the handler this long before the contact deadline when contact has not succeeded. */
export const CONTACT_ALERT_LEAD_MS = 4 * 3_600_000;
/** Evidence in time but unjudged after the 72 hours: remind the handler this often. */
export const JUDGEMENT_REMINDER_INTERVAL_MS = 24 * 3_600_000;
const MIN_WAIT_MS = 60_000;
/** Patch id (Temporal `patched`) of the fix that keeps a decision made while the closed window is recorded. */
export const KEEP_DECISION_MADE_WHILE_WINDOW_CLOSED = 'keep-decision-made-while-window-closed';
/**
 * Patch id of GT-3/GT-4 "the 72 hours belong to the party": a rejected response no longer closes the case;
 * the party may send other evidence until the 72 hours end. Histories from before replay as they ran.
 */
export const REJECTION_KEEPS_RESPONSE_WINDOW = 'rejection-keeps-response-window';
/**
 * Patch id of issue 10's fix: a manual contact (GT-1) that arrives in the same workflow task as the sent
 * contact mail counts, instead of being answered and dropped. Histories from before replay as they ran.
 */
export const MANUAL_CONTACT_WITH_MAIL = 'w10a-manual-contact-with-mail';
/**
 * Patch id of issue 10's people around the case (domain/case-notices.ts): the reporter's acknowledgement and
 * outcome, the grid user's block and lift notices. Histories from before replay without them.
 */
export const TELL_PEOPLE_AROUND_THE_CASE = 'w10b-tell-people-around-the-case';

// ---------------------------------------------------------------- the process

export async function doubtCaseWorkflow(input: DoubtCaseInput): Promise<CaseSnapshot> {
  const c = new DoubtCase(input);
  // Handlers first (STYLE.md); their bodies are DoubtCase's.
  setHandler(caseStateQuery, () => c.snapshot());
  setHandler(submitResponseUpdate, (r) => c.submitResponse(r), { validator: (r) => c.validateResponse(r) });
  setHandler(judgeEvidenceUpdate, (j) => c.judgeEvidence(j), { validator: (j) => c.validateJudgement(j) });
  // GT-7: a wrongful block is restored as soon as possible, at any moment.
  setHandler(liftWrongfulBlockUpdate, (a) => c.closeByHandler('wrongful_block', a), {
    validator: (a) => c.validateHandlerClose(a),
  });
  // GT-7: the reason code decides the effect; a signal that did not concern the party was a wrongful block.
  setHandler(withdrawCaseUpdate, (a) => c.withdraw(a), { validator: (a) => c.validateWithdrawal(a) });
  // GT-3: more or other evidence, asked for within the 72 hours (which do not restart).
  setHandler(requestEvidenceUpdate, (r) => c.requestEvidence(r), { validator: (r) => c.validateEvidenceRequest(r) });
  // GT-6: the ACM may be informed at any time (also of a closed case still in its final steps).
  setHandler(notifyAcmUpdate, (n) => c.notifyAcm(n), { validator: (n) => requireText(n.message) });
  setHandler(addNoteUpdate, (n) => c.addNote(n), { validator: (n) => requireText(n.text) });
  // GT-1: contact by telephone, meeting or letter counts as the contact (also when the group is empty).
  setHandler(recordManualContactUpdate, (m) => c.recordManualContact(m), {
    validator: (m) => c.validateManualContact(m),
  });

  // 1. The block (GT-2: placed at intake, idempotent here) and, for iSMA, the '0' allocation (GT-4).
  await db.setUpCase(c.setUpInput());
  c.publish();
  // The reporter hears the signal is in hand, the grid user that a block was placed (GT-2); aside, bounded.
  if (patched(TELL_PEOPLE_AROUND_THE_CASE)) c.tellPeople(['reporter_acknowledgement', 'grid_user_block']);

  // 2. Contact the party's doubt contact group within 1 working day (GT-1, GT-10).
  if (!c.decision) await contactParty(c);

  // 3. 72 hours for the party's answer (GT-3). 4. Evidence that came in time waits for the handler's
  //    judgement, reminded daily; without it the mandate was not demonstrated (GT-4). The loop re-reads the
  //    state rather than the conditions' results: a timer and a decision can land in the same workflow task.
  while (!c.decision) {
    if (c.responseWindowRunning()) {
      await condition(c.isDecided, c.responseTimeLeft());
      continue;
    }
    if (!c.responseWindowClosed) {
      await db.recordResponseWindowClosed(c.closeResponseWindow());
      c.publish();
      // A handler's decision that arrived while the closing was recorded stands. Before this patch it was
      // overwritten with "not demonstrated" just below; histories from then replay as they ran.
      if (c.decision && patched(KEEP_DECISION_MADE_WHILE_WINDOW_CLOSED)) continue;
    }
    if (c.pendingEvidence()) {
      c.remindHandler();
      await condition(c.isDecided, JUDGEMENT_REMINDER_INTERVAL_MS);
      continue;
    }
    // A rejection being recorded decides nothing by itself; once it is, the rules below apply.
    if (c.judging > 0) {
      await condition(() => c.judging === 0 || c.isDecided());
      continue;
    }
    c.decision = c.notDemonstrated();
  }

  // 5.-7. Close: lift or keep the block, end or switch the allocation, destroy the evidence (GT-4, GT-7,
  //       GT-8), and tell the party. An evidence-request mail still retrying is moot once decided.
  c.stopEvidenceRequestMails();
  const decision = c.decision;
  if (decision.responseId) await db.recordJudgement(c.judgementRecord(decision, decision.responseId));
  c.applyClosed(await db.closeCase(c.closeInput(decision)));
  if (patched(TELL_PEOPLE_AROUND_THE_CASE)) c.tellPeople(closingNotices(c.unblockedAt !== null));
  await mail.sendOutcomeEmail({ caseId: input.caseId, outcome: decision.kind });

  // 8. Archive: Temporal drops closed workflows after the namespace retention, so once background mail
  //    and handlers are done, a separate workflow archives the complete history (completion included).
  await Promise.allSettled(c.background);
  await condition(allHandlersFinished);
  await db.scheduleHistoryArchive({
    caseId: input.caseId,
    workflowId: workflowInfo().workflowId,
    runId: workflowInfo().runId,
  });
  return c.snapshot();
}

/**
 * Step 2: send the contact mail; meanwhile watch the GT-1 deadline: alert the handler when it nears, record
 * the miss when it passes. A decision before contact cancels the attempt. The 72 hours run from contact.
 */
async function contactParty(c: DoubtCase): Promise<void> {
  const { caseId } = c.input;
  const contactDueAt = c.contactDueAt.toISOString();
  let contactDone = false;
  const contactedOrDecided = () => contactDone || c.decision !== null;
  const scope = new CancellationScope();
  const sending = scope.run(() => mail.sendContactEmail({ caseId, contactDueAt }));

  const watch = (async () => {
    const alertIn = Math.max(c.contactDueAt.getTime() - CONTACT_ALERT_LEAD_MS - Date.now(), MIN_WAIT_MS);
    const contactedBeforeAlert = await condition(contactedOrDecided, alertIn);
    if (contactedBeforeAlert) return;
    await db.recordContactAtRisk({ caseId, at: now().toISOString(), contactDueAt });
    // The alert mail may wait for the same SMTP outage; the miss below is recorded regardless.
    c.background.push(mail.sendContactAlert({ caseId, contactDueAt }));
    const missIn = Math.max(c.contactDueAt.getTime() - Date.now(), 1);
    const contactedInTime = await condition(contactedOrDecided, missIn);
    if (contactedInTime) return;
    await db.recordContactMissed({ caseId, at: now().toISOString(), contactDueAt });
    c.publish();
  })();

  const first = await Promise.race([
    sending.then(
      () => 'sent' as const,
      () => 'sent' as const,
    ),
    condition(c.isDecided).then(() => 'decided' as const),
    // GT-1: the handler reached the party another way: the mail (perhaps failing) is no longer needed.
    condition(() => c.manualContact !== null).then(() => 'manual' as const),
  ]);
  if (first !== 'sent') scope.cancel();
  try {
    const sent = await sending;
    // A telephone call, meeting or letter recorded while the mail went out (the same workflow task) is the
    // earlier contact (GT-1); the 72 hours run from it, never shorter than the mail stated (GT-3).
    const manual = c.manualContact && !c.decision && patched(MANUAL_CONTACT_WITH_MAIL) ? c.manualContact : null;
    const stated = new Date(sent.statedResponseDueAt);
    const contact = manual ? c.contactedManually(manual, { stated, ...sent }) : c.contacted(stated, sent);
    contactDone = true; // before recording it: the watch stands down as soon as the workflow sees the mail sent
    await db.recordContact(contact);
    if (manual) c.manualContactRecorded = true;
  } catch (err) {
    if (!isCancellation(err)) throw err;
    if (c.manualContact && !c.decision) {
      const contact = c.contactedManually(c.manualContact);
      contactDone = true;
      await db.recordContact(contact);
      c.manualContactRecorded = true;
    } else log.info('contact attempt cancelled: case decided before contact', { caseId });
  }
  contactDone = true;
  await watch;
  c.publish();
}

// ---------------------------------------------------------------- state, views and handler bodies

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
  /** GT-7: set when the handler withdrew the case (the code decides the effect). */
  withdrawalReason?: WithdrawCaseInput['reasonCode'];
}

const now = () => new Date(Date.now());
const iso = (d: Date | null) => (d ? d.toISOString() : null);
const view = (d: CaseDeadline): DeadlineView => ({ dueAt: iso(d.dueAt), doneAt: iso(d.doneAt), state: d.state });
const actorOf = (a: ActorRef): ActorRef => ({
  actor: a.actor,
  actorRole: a.actorRole ?? null,
  actorPartyId: a.actorPartyId ?? null,
});

/** The last error of a failed activity (its cause), for the record. */
function failureMessage(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}

/** A domain refusal as the Update's failure; the API maps it back to the same DomainError it raises itself. */
function refuse(refusal: CaseRefusal): never {
  throw ApplicationFailure.create({
    message: refusal.message,
    type: CaseErrors.Refused,
    nonRetryable: true,
    details: [refusal],
  });
}

function requireText(text: string | null | undefined): void {
  if (!text || text.trim() === '')
    throw ApplicationFailure.nonRetryable('A reason is required', CaseErrors.InvalidRequest);
  // Issue 8: text the database cannot store would fail the closing/note activity on every retry.
  if (!isStorableText(text))
    throw ApplicationFailure.nonRetryable(
      'Text may not contain NUL (U+0000) or an unpaired UTF-16 surrogate',
      CaseErrors.InvalidRequest,
    );
}

class DoubtCase {
  readonly contactDueAt: Date;
  /** The workflow itself, as the actor of the steps it takes on its own (the 72 hours running out). */
  private readonly actor: ActorRef;

  status: CaseStatus = 'blocked';
  contactedAt: Date | null = null;
  responseDueAt: Date | null = null;
  responseWindowClosed = false;
  decision: Decision | null = null;
  unblockDueAt: Date | null = null;
  unblockedAt: Date | null = null;
  readonly responses: ResponseState[] = [];
  /** Mails that must not hold up the case (alerts, reminders); awaited before the workflow completes. */
  readonly background: Promise<unknown>[] = [];
  /** Rejections being recorded (REJECTION_KEEPS_RESPONSE_WINDOW): the case is not decided meanwhile. */
  judging = 0;
  /** The last rejection's reason: the party is told why when the 72 hours end without an acceptance (GT-4). */
  private lastRejection: string | null = null;
  private acmNotifications = 0;
  private reminding = false;
  /** GT-1: contact made another way, recorded by the handler (Update), waiting for contactParty to take it. */
  manualContact: (ManualContactInput & { at: Date }) | null = null;
  manualContactRecorded = false;
  /** GT-3: the evidence-request mails, retried like the contact mail until sent or the case is decided. */
  private readonly evidenceRequestMails = new CancellationScope();

  constructor(readonly input: DoubtCaseInput) {
    this.contactDueAt = contactDeadline(new Date(input.receivedAt));
    this.actor = { actor: `workflow:${input.caseId}`, actorRole: 'system', actorPartyId: null };
  }

  // ---- state

  readonly isDecided = (): boolean => this.decision !== null;
  readonly isClosed = (): boolean => isClosedStatus(this.status);
  pendingEvidence(): boolean {
    return this.responses.some((r) => r.hasEvidence && r.judgement === null);
  }
  responseTimeLeft(): number {
    return this.responseDueAt ? this.responseDueAt.getTime() - Date.now() : 0;
  }
  /** GT-3: contacted, and the 72 hours have not run out. */
  responseWindowRunning(): boolean {
    return this.responseDueAt !== null && !this.responseWindowClosed && this.responseTimeLeft() > 0;
  }

  // ---- views

  nextDeadline(): Date | null {
    if (this.isClosed()) return null;
    if (!this.contactedAt) return this.contactDueAt;
    if (!this.responseWindowClosed && this.responseDueAt) return this.responseDueAt;
    return this.unblockDueAt && !this.unblockedAt ? this.unblockDueAt : null;
  }

  snapshot(): CaseSnapshot {
    const { decision } = this;
    // Decided counts as closed (with the status it closes to): the deadlines a decision ends no longer run.
    const d = caseDeadlines(
      {
        status: decision && !this.isClosed() ? closingStatus(decision.kind) : this.status,
        closedAt: decision?.at ?? null,
        contactDueAt: this.contactDueAt,
        contactedAt: this.contactedAt,
        responseDueAt: this.responseDueAt,
        respondedAt: this.responses[0]?.submittedAt ?? null,
        unblockDueAt: this.unblockDueAt,
        unblockedAt: this.unblockedAt,
      },
      now(),
    );
    return {
      caseId: this.input.caseId,
      reference: this.input.reference,
      status: this.status,
      deadlines: { contact: view(d.contact), response: view(d.response), unblock: view(d.unblock) },
      contactedAt: iso(this.contactedAt),
      responseWindowClosed: this.responseWindowClosed,
      responses: this.responses.map((r) => ({
        responseId: r.responseId,
        submittedAt: r.submittedAt.toISOString(),
        hasEvidence: r.hasEvidence,
        judgement: r.judgement,
      })),
      outcome: this.isClosed() && decision ? decision.kind : null,
      nextDeadline: iso(this.nextDeadline()),
    };
  }

  publish(): void {
    upsertSearchAttributes([
      { key: SA.CaseStatus, value: this.status },
      { key: SA.NextDeadline, value: this.nextDeadline() },
    ]);
  }

  // ---- the steps' inputs and results (no I/O: the main function calls the activities)

  setUpInput() {
    return { caseId: this.input.caseId, at: now().toISOString(), contactDueAt: this.contactDueAt.toISOString() };
  }

  /** GT-3: the 72 hours run from the moment of contact, on the workflow clock, never shorter than the deadline the mail stated. */
  contacted(stated: Date, sent: { messageId: string; recipients: string[] }) {
    this.contactedAt = now();
    this.responseDueAt = responseDeadline(this.contactedAt, stated);
    if (this.status === 'blocked') this.status = 'awaiting_response';
    return {
      caseId: this.input.caseId,
      contactedAt: this.contactedAt.toISOString(),
      responseDueAt: this.responseDueAt.toISOString(),
      messageId: sent.messageId,
      recipients: sent.recipients,
      status: this.status,
    };
  }

  /**
   * GT-1 by telephone, meeting or letter: the 72 hours run from the moment of that contact (GT-3). With the
   * contact mail sent as well, never shorter than the deadline it stated, and both are in the record.
   */
  contactedManually(
    m: ManualContactInput & { at: Date },
    mailed?: { stated: Date; messageId: string; recipients: string[] },
  ) {
    this.contactedAt = m.at;
    this.responseDueAt = responseDeadline(m.at, mailed?.stated);
    if (this.status === 'blocked') this.status = 'awaiting_response';
    return {
      caseId: this.input.caseId,
      contactedAt: this.contactedAt.toISOString(),
      responseDueAt: this.responseDueAt.toISOString(),
      messageId: mailed?.messageId ?? null,
      recipients: mailed?.recipients ?? [],
      status: this.status,
      manual: {
        method: m.method,
        contactPerson: m.contactPerson,
        summary: m.summary,
        actor: actorOf(m),
        recordedAt: now().toISOString(),
      },
    };
  }

  /** GT-8: from here, late evidence is refused. */
  closeResponseWindow() {
    this.responseWindowClosed = true;
    const responded = this.responses.length > 0;
    return { caseId: this.input.caseId, at: now().toISOString(), responded, pendingEvidence: this.pendingEvidence() };
  }

  /** The reminder mail never holds up the judgement (SMTP may be down); one reminder in flight at a time. */
  remindHandler(): void {
    if (this.reminding) return;
    this.reminding = true;
    this.background.push(
      mail
        .remindJudgement({ caseId: this.input.caseId, at: now().toISOString() })
        .finally(() => (this.reminding = false)),
    );
  }

  /**
   * Tell the people around the case (reporter, grid user) in the background: a notice never holds up the
   * case; when its bounded retries are spent the failure is recorded on the case, with the last error.
   */
  tellPeople(which: CaseNotice[]): void {
    const { caseId } = this.input;
    for (const notice of which) {
      const at = now().toISOString();
      this.background.push(
        notices
          .sendCaseNotice({ caseId, notice, at })
          .catch((err: unknown) =>
            db.recordCaseNoticeFailed({ caseId, notice, at: now().toISOString(), error: failureMessage(err) }),
          ),
      );
    }
  }

  /** GT-4: the 72 hours ran out without evidence to judge (or with only rejected evidence). */
  notDemonstrated(): Decision {
    const reason = this.lastRejection
      ? `mandate evidence rejected (${this.lastRejection}); no evidence accepted within 72 hours`
      : this.responses.length > 0
        ? 'no mandate evidence within 72 hours'
        : 'no response within 72 hours';
    return { kind: 'not_demonstrated', at: now(), reason, ...this.actor };
  }

  judgementRecord(d: Decision, responseId: string) {
    const judgement = d.kind === 'accepted' ? 'accepted' : 'rejected';
    const r = this.responses.find((x) => x.responseId === responseId);
    if (r) r.judgement = judgement;
    return {
      caseId: this.input.caseId,
      responseId,
      decision: judgement,
      reason: d.reason,
      at: d.at.toISOString(),
      actor: actorOf(d),
    } as const;
  }

  /** The instants of closing (domain closingEffects): the unblock deadline from the decision, GT-4's switch from now. */
  closeInput(d: Decision) {
    const closedAt = now();
    const withdrawalReason = d.withdrawalReason ?? null;
    const effects = closingEffects(d.kind, { isma: this.input.isma, decidedAt: d.at, closedAt, withdrawalReason });
    this.unblockDueAt = effects.unblockDueAt;
    return {
      caseId: this.input.caseId,
      outcome: d.kind,
      at: closedAt.toISOString(),
      reason: d.reason,
      actor: actorOf(d),
      unblockDueAt: iso(effects.unblockDueAt),
      profileEffectiveFrom: iso(effects.profileEffectiveFrom),
      ...(d.withdrawalReason !== undefined ? { withdrawalReason } : {}),
    };
  }

  applyClosed(result: { status: CaseStatus; unblockedAt: string | null }): void {
    this.unblockedAt = result.unblockedAt ? new Date(result.unblockedAt) : null;
    this.status = result.status;
    this.publish();
    log.info('case closed', { caseId: this.input.caseId, status: this.status });
  }

  // ---- handler bodies

  /** GT-8: after the 72 hours (or once the case is decided) evidence no longer reopens the case. */
  validateResponse(r: SubmitResponseInput): void {
    if (
      this.decision ||
      this.isClosed() ||
      this.responseWindowClosed ||
      (this.responseDueAt && Date.now() >= this.responseDueAt.getTime())
    ) {
      throw ApplicationFailure.nonRetryable(
        `The 72-hour response window of case ${this.input.reference} has closed; the regular processes (P4 request process or iSMA) must be restarted`,
        CaseErrors.ResponseWindowClosed,
      );
    }
    if (this.responses.some((x) => x.responseId === r.responseId)) {
      throw ApplicationFailure.nonRetryable(
        `Response ${r.responseId} was already submitted`,
        CaseErrors.DuplicateResponse,
      );
    }
  }

  /** GT-3: the party's answer, counted at once, so a 72-hour timer firing while the activity runs still sees the evidence. */
  async submitResponse(r: SubmitResponseInput): Promise<SubmitResponseResult> {
    const entry: ResponseState = {
      responseId: r.responseId,
      submittedAt: now(),
      hasEvidence: r.hasEvidence,
      judgement: null,
      recorded: false,
    };
    this.responses.push(entry);
    if (r.hasEvidence && !this.isClosed()) this.status = 'awaiting_judgement';
    try {
      await db.acceptResponse({
        caseId: this.input.caseId,
        responseId: r.responseId,
        at: entry.submittedAt.toISOString(),
        status: this.status,
      });
    } catch (err) {
      this.responses.splice(this.responses.indexOf(entry), 1);
      if (this.status === 'awaiting_judgement' && !this.pendingEvidence())
        this.status = this.contactedAt ? 'awaiting_response' : 'blocked';
      throw err;
    }
    entry.recorded = true;
    this.publish();
    return { responseId: r.responseId, receivedAt: entry.submittedAt.toISOString(), snapshot: this.snapshot() };
  }

  /** The same check the API makes on the rows, here on the workflow's own state (GT-4, GT-8). */
  validateJudgement(j: JudgeEvidenceInput): void {
    const refusal = checkJudgement(
      {
        caseId: this.input.caseId,
        reference: this.input.reference,
        status: this.status,
        decided: this.decision !== null,
        responses: this.responses.map((r) => ({
          responseId: r.responseId,
          status: r.recorded ? 'received' : 'staged',
          hasEvidence: r.hasEvidence,
          judgement: r.judgement,
        })),
      },
      j,
    );
    if (refusal) refuse(refusal);
  }

  /**
   * The handler's judgement. An acceptance decides the case at once (GT-8); the Update answers once it is
   * closed. A rejection (GT-3, GT-4) decides it only when the 72 hours are over and no other evidence that
   * came in time awaits a judgement; otherwise the party may still send other evidence until they end.
   */
  async judgeEvidence(j: JudgeEvidenceInput): Promise<CaseSnapshot> {
    if (j.decision === 'reject' && patched(REJECTION_KEEPS_RESPONSE_WINDOW)) return this.rejectEvidence(j);
    this.decision = {
      kind: judgementOutcome(j.decision),
      at: now(),
      reason: j.reason ?? null,
      responseId: j.responseId,
      ...actorOf(j),
    };
    await condition(this.isClosed);
    return this.snapshot();
  }

  private async rejectEvidence(j: JudgeEvidenceInput): Promise<CaseSnapshot> {
    const at = now();
    const reason = j.reason ?? null;
    const r = this.responses.find((x) => x.responseId === j.responseId)!; // the validator checked it
    if (this.responseWindowClosed && !this.responses.some((x) => x !== r && x.hasEvidence && x.judgement === null)) {
      // The last evidence that came in time, rejected after the 72 hours: the mandate was not demonstrated.
      this.decision = { kind: 'not_demonstrated', at, reason, responseId: r.responseId, ...actorOf(j) };
      await condition(this.isClosed);
      return this.snapshot();
    }
    r.judgement = 'rejected';
    this.lastRejection = reason;
    const before = this.status;
    if (!this.pendingEvidence() && !this.responseWindowClosed) this.status = 'awaiting_response';
    this.judging++;
    try {
      await db.recordJudgement({
        caseId: this.input.caseId,
        responseId: r.responseId,
        decision: 'rejected',
        reason,
        at: at.toISOString(),
        actor: actorOf(j),
        status: this.status,
      });
    } catch (err) {
      r.judgement = null;
      this.status = before;
      throw err;
    } finally {
      this.judging--;
    }
    this.publish();
    return this.snapshot();
  }

  validateManualContact(m: ManualContactInput): void {
    requireText(m.summary);
    requireText(m.contactPerson);
    const at = m.contactedAt ? new Date(m.contactedAt) : now();
    if (Number.isNaN(at.getTime()))
      throw ApplicationFailure.nonRetryable('contactedAt is not an instant', CaseErrors.InvalidRequest);
    const refusal = checkManualContact(
      {
        caseId: this.input.caseId,
        reference: this.input.reference,
        status: this.status,
        decided: this.decision !== null,
        contactedAt: this.contactedAt ?? this.manualContact?.at ?? null,
        receivedAt: new Date(this.input.receivedAt),
      },
      at,
      now(),
    );
    if (refusal) refuse(refusal);
  }

  /** Taken by contactParty (the mail attempt is cancelled); answers once the contact is recorded. */
  async recordManualContact(m: ManualContactInput): Promise<CaseSnapshot> {
    this.manualContact = { ...m, at: m.contactedAt ? new Date(m.contactedAt) : now() };
    // Answers once the contact is in the case row (or the mail got there first, or the case was decided).
    await condition(
      () =>
        this.manualContactRecorded ||
        (this.contactedAt !== null && this.contactedAt !== this.manualContact?.at) ||
        this.decision !== null,
    );
    return this.snapshot();
  }

  validateHandlerClose(a: HandlerActionInput): void {
    const refusal = checkCaseOpen({
      caseId: this.input.caseId,
      reference: this.input.reference,
      status: this.status,
      decided: this.decision !== null,
    });
    if (refusal) refuse(refusal);
    requireText(a.reason);
  }

  /** Wrongful block (GT-7) or withdrawal: decides the case at any moment; answers once it is closed. */
  async closeByHandler(kind: 'wrongful_block' | 'withdrawn', a: HandlerActionInput): Promise<CaseSnapshot> {
    this.decision = { kind, at: now(), reason: a.reason, ...actorOf(a) };
    await condition(this.isClosed);
    return this.snapshot();
  }

  validateWithdrawal(a: WithdrawCaseInput): void {
    this.validateHandlerClose(a);
    if (a.reasonCode != null && !WITHDRAWAL_REASONS.includes(a.reasonCode))
      throw ApplicationFailure.nonRetryable(`Unknown withdrawal reason ${a.reasonCode}`, CaseErrors.InvalidRequest);
  }

  /**
   * GT-7: a withdrawal closes with its reason's effect (domain withdrawalEffect): not concerning the party is
   * a wrongful block (lifted within 1 working day, the period released); without a code it is `other`, as
   * before codes existed (histories from then replay as they ran).
   */
  async withdraw(a: WithdrawCaseInput): Promise<CaseSnapshot> {
    if (a.reasonCode == null) return this.closeByHandler('withdrawn', a);
    const effect = withdrawalEffect(a.reasonCode);
    this.decision = {
      kind: effect.outcome,
      at: now(),
      reason: a.reason,
      withdrawalReason: a.reasonCode,
      ...actorOf(a),
    };
    await condition(this.isClosed);
    return this.snapshot();
  }

  validateEvidenceRequest(r: EvidenceRequestInput): void {
    requireText(r.message);
    const refusal = checkEvidenceRequest(
      {
        caseId: this.input.caseId,
        reference: this.input.reference,
        status: this.status,
        decided: this.decision !== null,
        responseDueAt: this.responseDueAt,
        responseWindowClosed: this.responseWindowClosed,
      },
      now(),
    );
    if (refusal) refuse(refusal);
  }

  /**
   * GT-3: recorded first (the Update answers then); the mail follows in the background, retried without a
   * limit like the contact mail, stating the text recorded here and the unchanged reply-by instant.
   */
  async requestEvidence(r: EvidenceRequestInput): Promise<EvidenceRequestResult> {
    const requestedAt = now();
    const requestId = uuid4();
    const responseDueAt = this.responseDueAt!; // the validator checked the window runs
    await db.recordEvidenceRequest({
      caseId: this.input.caseId,
      requestId,
      at: requestedAt.toISOString(),
      message: r.message,
      responseDueAt: responseDueAt.toISOString(),
      actor: actorOf(r),
    });
    const caseId = this.input.caseId;
    this.background.push(
      this.evidenceRequestMails
        .run(() => mail.sendEvidenceRequestEmail({ caseId, requestId }))
        // Never rejects (a background promise must not fail the workflow task): stopped, or refused for good.
        .catch((err: unknown) => {
          if (isCancellation(err)) log.info('evidence request mail stopped: case decided', { caseId, requestId });
          else
            log.error('evidence request mail refused; the case shows it unmailed', {
              caseId,
              requestId,
              error: err instanceof Error ? err.message : String(err),
            });
        }),
    );
    return { requestId, requestedAt: requestedAt.toISOString(), responseDueAt: responseDueAt.toISOString() };
  }

  /** The case is decided: a request mail still retrying no longer asks anything the party can answer. */
  stopEvidenceRequestMails(): void {
    this.evidenceRequestMails.cancel();
  }

  async notifyAcm(n: NotifyAcmInput): Promise<NotifyAcmResult> {
    const at = now();
    return db.notifyAcm({
      caseId: this.input.caseId,
      at: at.toISOString(),
      message: n.message,
      actor: actorOf(n),
      dedupeKey: `case:${this.input.caseId}:acm:${++this.acmNotifications}`,
    });
  }

  async addNote(n: AddNoteInput): Promise<{ at: string }> {
    const at = now();
    await db.recordNote({ caseId: this.input.caseId, at: at.toISOString(), text: n.text, actor: actorOf(n) });
    return { at: at.toISOString() };
  }
}
