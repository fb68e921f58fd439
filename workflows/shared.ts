/**
 * Messages, payload types and names shared by the doubt-case workflows, the worker and the API
 * (STYLE.md: one shared module). Imported by workflow code, so: no Node built-ins, no I/O, no drizzle.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type {
  CaseStatus,
  DeadlineName,
  DeadlineState,
  Judgement,
  JudgementDecision,
  ManualContactMethod,
  OutcomeKind,
  SignalChannel,
  WithdrawalReason,
} from '../domain/case.js';
import type { AgreementRule } from '../domain/review.js';
import type { SignedWith } from '../domain/visibility.js';

/** Default task queue (config.temporal.taskQueue overrides it; workflows never read config). */
export const DEFAULT_TASK_QUEUE = 'gerede-twijfel';

/** Workflow ids: the case workflow's id IS the case id; helpers derive theirs from it. */
export const archiveWorkflowId = (caseId: string) => `${caseId}:archive`;
export const reviewWorkflowId = (reviewId: string) => `improvement-review:${reviewId}`;
export const supplierReportWorkflowId = (reportId: string) => `supplier-report:${reportId}`;
/** One GT-5 scan Schedule per deployment (its task queue), so deployments sharing a namespace do not collide. */
export const repeatOffenderScheduleId = (taskQueue: string) => `repeat-offender-scan:${taskQueue}`;

// The case's statuses, channels, outcomes and deadline states are domain rules (domain/case.ts);
// re-exported here because the messages below carry them.
export {
  CASE_STATUSES,
  SIGNAL_CHANNELS,
  isClosedStatus,
  type CaseStatus,
  type DeadlineName,
  type DeadlineState,
  type OutcomeKind,
  type SignalChannel,
} from '../domain/case.js';
/** Custom search attributes (typed keys; lib/infra/search-attributes.ts registers them on the server). */
export { SA } from '../lib/infra/search-attributes.js';

/** Who did something, as written to the audit log (db/repositories/actor.ts Actor). */
export interface ActorRef {
  actor: string;
  actorRole?: string | null;
  actorPartyId?: string | null;
}

export interface DoubtCaseInput {
  caseId: string;
  reference: string;
  partyId: string;
  partyGln: string;
  gridOperatorId: string;
  gridOperatorGln: string;
  connectionEan: string;
  channel: SignalChannel;
  /** GT-4: the signal concerns reading the meter for iSMA. */
  isma: boolean;
  /** When the grid operator received the signal (ISO); the GT-1 deadline runs from here. */
  receivedAt: string;
}

/** A deadline in the workflow's view (domain/case.ts CaseDeadline, instants as ISO strings). */
export interface DeadlineView {
  /** ISO instant; null while it cannot be known yet (the 72 hours start at contact). */
  dueAt: string | null;
  doneAt: string | null;
  state: DeadlineState;
}

export interface ResponseView {
  responseId: string;
  submittedAt: string;
  hasEvidence: boolean;
  judgement: Judgement | null;
}

/** The workflow's view of its case: the query result and what the Updates answer. */
export interface CaseSnapshot {
  caseId: string;
  reference: string;
  status: CaseStatus;
  deadlines: Record<DeadlineName, DeadlineView>;
  contactedAt: string | null;
  responseWindowClosed: boolean;
  responses: ResponseView[];
  outcome: OutcomeKind | null;
  nextDeadline: string | null;
}

export interface SubmitResponseInput {
  /** Row id of the response the API staged (case_responses.id). */
  responseId: string;
  submittedBy: string;
  hasEvidence: boolean;
}

export interface SubmitResponseResult {
  responseId: string;
  /** Workflow time the response counted as received (the GT-3 clock). */
  receivedAt: string;
  snapshot: CaseSnapshot;
}

export interface JudgeEvidenceInput extends ActorRef {
  responseId: string;
  decision: JudgementDecision;
  reason?: string | null;
  /** A rejection is signed (issue 19): what with, for its audit entry (absent in histories from before). */
  signedWith?: SignedWith;
}

export interface HandlerActionInput extends ActorRef {
  reason: string;
}

/** GT-7: a withdrawal with its reason code (none: `other`, as older callers withdrew); `reason` is the text. */
export interface WithdrawCaseInput extends HandlerActionInput {
  reasonCode?: WithdrawalReason | null;
}

/** GT-3: the handler asks the party for more or other evidence within the 72 hours. */
export interface EvidenceRequestInput extends ActorRef {
  /** What is needed, as the party reads it in the mail. */
  message: string;
}

export interface EvidenceRequestResult {
  requestId: string;
  requestedAt: string;
  /** The unchanged GT-3 deadline the mail states: a request does not restart the 72 hours. */
  responseDueAt: string;
}

export interface NotifyAcmInput extends ActorRef {
  /** The handler's findings and why the ACM is informed (GT-6). */
  message: string;
}

export interface NotifyAcmResult {
  notificationId: string;
  sentAt: string;
}

/** GT-1: contact made by telephone, in a meeting or by letter, recorded by the handler. */
export interface ManualContactInput extends ActorRef {
  method: ManualContactMethod;
  /** ISO instant of the contact (default: now); the 72 hours run from it (GT-3). */
  contactedAt?: string | null;
  /** Who was spoken to / written to at the party. */
  contactPerson: string;
  summary: string;
}

export interface AddNoteInput extends ActorRef {
  text: string;
}

/**
 * How every workflow refuses an Update: its validator throws an ApplicationFailure of this one type
 * (workflows/refuse.ts) with a WorkflowRefusal as details[0]; services/workflow-client.ts answers it as the
 * DomainError with the same kind, code, message, field and details, the answer the API gives when it
 * refuses the same thing itself.
 */
export const REFUSAL_TYPE = 'WorkflowRefusal';

/** A refusal as it crosses Temporal: lib/errors.ts DomainError's fields (domain/case.ts CaseRefusal is one). */
export interface WorkflowRefusal {
  kind: 'validation' | 'not_found' | 'state';
  /** Stable, as clients match on it. */
  code: string;
  message: string;
  /** The domain input at fault ('reason', 'responseId'); api/ maps it to the request path. */
  field?: string;
  details?: Record<string, unknown>;
}

export const caseStateQuery = defineQuery<CaseSnapshot>('caseState');
/** GT-3: the party's answer (staged by the API), counted against the 72 hours. */
export const submitResponseUpdate = defineUpdate<SubmitResponseResult, [SubmitResponseInput]>('submitResponse');
/** The handler's judgement of the evidence; answers the state after it took effect. */
export const judgeEvidenceUpdate = defineUpdate<CaseSnapshot, [JudgeEvidenceInput]>('judgeEvidence');
/** GT-7: lift a wrongful block at any moment. */
export const liftWrongfulBlockUpdate = defineUpdate<CaseSnapshot, [HandlerActionInput]>('liftWrongfulBlock');
/** GT-7: withdraw, with the reason code deciding the block's effect (domain/case.ts withdrawalEffect). */
export const withdrawCaseUpdate = defineUpdate<CaseSnapshot, [WithdrawCaseInput]>('withdrawCase');
/** GT-3: ask the party for more or other evidence; answers once the request is recorded (the mail follows). */
export const requestEvidenceUpdate = defineUpdate<EvidenceRequestResult, [EvidenceRequestInput]>('requestEvidence');
/** GT-6: inform the ACM at any moment. */
export const notifyAcmUpdate = defineUpdate<NotifyAcmResult, [NotifyAcmInput]>('notifyAcm');
export const addNoteUpdate = defineUpdate<{ at: string }, [AddNoteInput]>('addNote');
/** GT-1: contact made another way counts as the contact; answers once it is recorded, with the 72 hours running. */
export const recordManualContactUpdate = defineUpdate<CaseSnapshot, [ManualContactInput]>('recordManualContact');

// ---- GT-5 repeat offenders ----

export interface RepeatOffenderScanInput {
  threshold: number;
  windowDays: number;
  followUpDays: number;
  /** Days the grid operators have to agree on a proposal (default 30). */
  votingDays?: number;
  /** domain/review.ts AGREEMENT_RULES (default majority). */
  agreementRule?: AgreementRule;
}

export interface RepeatOffenderScanResult {
  scannedAt: string;
  offenders: { partyId: string; signals: number; reviewId: string | null }[];
}

export interface ImprovementReviewInput {
  reviewId: string;
  partyId: string;
  partyGln: string;
  signalsAtOpen: number;
  windowDays: number;
  followUpDays: number;
  threshold: number;
  /**
   * GT-5: the review's electorate — they vote and sign. Every grid operator in the system at the proposal
   * (domain/review.ts reviewElectorate); reviews proposed before that was so got the signal holders.
   */
  operatorsInvolved: string[];
  agreementRule: AgreementRule;
  votingUntil: string;
}

export type ReviewOutcome = 'not_agreed' | 'reported_to_acm' | 'not_reported';

export interface ImprovementReviewResult {
  reviewId: string;
  outcome: ReviewOutcome;
  signalsAtOpen: number;
  signalsAfterFollowUp: number | null;
}

export interface ReviewSnapshot {
  reviewId: string;
  status: string;
  votes: { gridOperatorId: string; agree: boolean }[];
  agreement: 'agreed' | 'rejected' | 'pending';
  followUpUntil: string | null;
  signalsAfterFollowUp: number | null;
  commitmentRecorded: boolean;
  decision: 'report' | 'do_not_report' | null;
}

export const reviewStateQuery = defineQuery<ReviewSnapshot>('reviewState');

/** Who acts on a review: the API key (audit) and the key holder's recorded name (signature). */
export interface ReviewActor {
  actor: string;
  actorRole: string | null;
  actorPartyId: string | null;
  name: string;
  /** Issue 19: what the GT-5 act was signed with, for its audit entry (absent in histories from before). */
  signedWith?: SignedWith;
}
export interface ReviewVoteInput extends ReviewActor {
  gridOperatorId: string;
  agree: boolean;
  reason: string;
}
export interface ReviewCommitmentInput extends ReviewActor {
  commitment: string;
}
export interface ReviewDecisionInput extends ReviewActor {
  gridOperatorId: string;
  decision: 'report' | 'do_not_report';
  reason: string;
}
export const reviewVoteUpdate = defineUpdate<ReviewSnapshot, [ReviewVoteInput]>('reviewVote');
export const reviewCommitmentUpdate = defineUpdate<ReviewSnapshot, [ReviewCommitmentInput]>('reviewCommitment');
export const reviewDecisionUpdate = defineUpdate<ReviewSnapshot, [ReviewDecisionInput]>('reviewDecision');

// ---- allocation (AL-1 … AL-6) ----

/** One workflow per allocation run (a day × grid operator × version); its id is derived from the run. */
export const allocationRunWorkflowId = (runId: string) => `allocation-run:${runId}`;
/** The daily allocation Schedule of a deployment (its task queue). */
export const allocationScheduleId = (taskQueue: string) => `allocation-daily:${taskQueue}`;

export interface AllocationRunInput {
  runId: string;
}

export interface AllocationRunResult {
  runId: string;
  gridOperatorId: string;
  day: string;
  version: number;
  status: 'requested' | 'running' | 'completed' | 'failed';
  summary: Record<string, unknown> | null;
  /** Against the previous completed version: aggregates changed, added, removed, Σ delta per direction. */
  difference: Record<string, unknown> | null;
}

export interface DailyAllocationInput {
  /** Allocate the day this many days before the Schedule's time (1: yesterday, read out overnight). */
  daysBack: number;
}

export interface DailyAllocationResult {
  day: string;
  runs: Array<{ runId: string; gridOperatorId: string; version: number; created: boolean; started: boolean }>;
}
