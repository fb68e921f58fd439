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
  OutcomeKind,
  SignalChannel,
} from '../domain/case.js';

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
}

export interface HandlerActionInput extends ActorRef {
  reason: string;
}

export interface NotifyAcmInput extends ActorRef {
  /** The handler's findings and why the ACM is informed (GT-6). */
  message: string;
}

export interface NotifyAcmResult {
  notificationId: string;
  sentAt: string;
}

export interface AddNoteInput extends ActorRef {
  text: string;
}

/** Failure types the validators and activities raise; the API maps them to stable 4xx codes. */
export const CaseErrors = {
  /** GT-8: the 72 hours are over (or the case closed); only the regular processes restart access. */
  ResponseWindowClosed: 'ResponseWindowClosed',
  CaseClosed: 'CaseClosed',
  UnknownResponse: 'UnknownResponse',
  DuplicateResponse: 'DuplicateResponse',
  AlreadyJudged: 'AlreadyJudged',
  InvalidRequest: 'InvalidRequest',
  /** A domain check refused (domain/case.ts CaseRefusal in the failure's details): the same answer the API gives. */
  Refused: 'CaseRefused',
} as const;

export const caseStateQuery = defineQuery<CaseSnapshot>('caseState');
/** GT-3: the party's answer (staged by the API), counted against the 72 hours. */
export const submitResponseUpdate = defineUpdate<SubmitResponseResult, [SubmitResponseInput]>('submitResponse');
/** The handler's judgement of the evidence; answers the state after it took effect. */
export const judgeEvidenceUpdate = defineUpdate<CaseSnapshot, [JudgeEvidenceInput]>('judgeEvidence');
/** GT-7: lift a wrongful block at any moment. */
export const liftWrongfulBlockUpdate = defineUpdate<CaseSnapshot, [HandlerActionInput]>('liftWrongfulBlock');
export const withdrawCaseUpdate = defineUpdate<CaseSnapshot, [HandlerActionInput]>('withdrawCase');
/** GT-6: inform the ACM at any moment. */
export const notifyAcmUpdate = defineUpdate<NotifyAcmResult, [NotifyAcmInput]>('notifyAcm');
export const addNoteUpdate = defineUpdate<{ at: string }, [AddNoteInput]>('addNote');

// ---- GT-5 repeat offenders ----

export interface RepeatOffenderScanInput {
  threshold: number;
  windowDays: number;
  followUpDays: number;
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
}

export type ReviewOutcome = 'improved' | 'reported_to_acm';

export interface ImprovementReviewResult {
  reviewId: string;
  outcome: ReviewOutcome;
  signalsAtOpen: number;
  signalsAfterFollowUp: number;
}

export const reviewStateQuery = defineQuery<{ reviewId: string; status: string; followUpUntil: string | null }>(
  'reviewState',
);
