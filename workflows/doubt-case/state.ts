/**
 * The doubt case's state: what the workflow knows (status, deadlines, responses, the decision), its views
 * (the caseState query, the search attributes) and the inputs and results of its steps. The rules (due
 * times, deadline states, closing effects) are domain/case.ts; no I/O here except mails that only inform
 * and run in the background (they never hold up a decision). The Update bodies are updates.ts.
 *
 * Deadlines come from workflow time (deterministic, explicit zone): GT-1 contact within 1 working day of the
 * report; GT-3 72 clock hours from the moment of contact; GT-8 unblock within 1 working day of the acceptance
 * (GT-7: of the wrongful-block decision).
 */
import { CancellationScope, isCancellation, log, upsertSearchAttributes } from '@temporalio/workflow';
import {
  caseDeadlines,
  closingEffects,
  closingStatus,
  contactDeadline,
  isClosedStatus,
  manualContactResponseDeadline,
  responseDeadline,
  type CaseDeadline,
  type CaseStatus,
  type Judgement,
  type OutcomeKind,
} from '../../domain/case.js';
import type { CaseNotice } from '../../domain/case-notices.js';
import {
  SA,
  type ActorRef,
  type CaseSnapshot,
  type DeadlineView,
  type DoubtCaseInput,
  type JudgeEvidenceInput,
  type ManualContactInput,
  type WithdrawCaseInput,
} from '../shared.js';
import { manualContactNeverShortensResponseWindow } from './patches.js';
import { db, mail, notices } from './activities.js';

export interface ResponseState {
  responseId: string;
  submittedAt: Date;
  hasEvidence: boolean;
  judgement: Judgement | null;
  /** The acceptResponse activity completed (the row is 'received'). */
  recorded: boolean;
}

export interface Decision extends ActorRef {
  kind: OutcomeKind;
  at: Date;
  reason: string | null;
  responseId?: string;
  /** GT-7: set when the handler withdrew the case (the code decides the effect). */
  withdrawalReason?: WithdrawCaseInput['reasonCode'];
  /** A signed rejection (issue 19): what it was signed with, for the judgement's audit entry. */
  signedWith?: JudgeEvidenceInput['signedWith'];
}

/** Workflow time (deterministic: the SDK replaces Date.now in workflow code). */
export const now = () => new Date(Date.now());
const iso = (d: Date | null) => (d ? d.toISOString() : null);
const view = (d: CaseDeadline): DeadlineView => ({ dueAt: iso(d.dueAt), doneAt: iso(d.doneAt), state: d.state });
/** The actor as the audit log records it (db/repositories/actor.ts). */
export const actorOf = (a: ActorRef): ActorRef => ({
  actor: a.actor,
  actorRole: a.actorRole ?? null,
  actorPartyId: a.actorPartyId ?? null,
});

/** What a signed act was signed with (issue 19), carried only when there is one (older histories: none). */
export const signedWithOf = (a: { signedWith?: JudgeEvidenceInput['signedWith'] }) =>
  a.signedWith ? { signedWith: a.signedWith } : {};

/** The last error of a failed activity (its cause), for the record. */
function failureMessage(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}

export class DoubtCase {
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
  lastRejection: string | null = null;
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
   * GT-1 by telephone, meeting or letter: the 72 hours run from the moment of that contact (GT-3), or from its
   * recording if that is later (recording late never shortens them). With the contact mail sent as well, never
   * shorter than the deadline it stated, and both are in the record.
   */
  contactedManually(
    m: ManualContactInput & { at: Date },
    mailed?: { stated: Date; messageId: string; recipients: string[] },
  ) {
    const recordedAt = now();
    this.contactedAt = m.at;
    // GT-3: recording the contact later never shortens the 72 hours (histories from before the patch as they ran).
    this.responseDueAt = manualContactNeverShortensResponseWindow()
      ? manualContactResponseDeadline(m.at, recordedAt, mailed?.stated)
      : responseDeadline(m.at, mailed?.stated);
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
        recordedAt: recordedAt.toISOString(),
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
      ...signedWithOf(d),
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

  /**
   * GT-3: the evidence-request mail, in the background, retried without a limit like the contact mail until
   * sent or the case is decided (stopEvidenceRequestMails).
   */
  mailEvidenceRequest(requestId: string): void {
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
  }

  /** The case is decided: a request mail still retrying no longer asks anything the party can answer. */
  stopEvidenceRequestMails(): void {
    this.evidenceRequestMails.cancel();
  }

  /** GT-6: each report to the ACM from this run has its own key (the activity records each once). */
  nextAcmDedupeKey(): string {
    return `case:${this.input.caseId}:acm:${++this.acmNotifications}`;
  }
}
