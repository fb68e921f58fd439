/**
 * Doubt cases (GT-1..GT-10) over HTTP: intake, the case view with its deadlines and timeline, the party's
 * response with evidence, the handler's actions and the compliance history. Rule IDs refer to DOMAIN.md.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { AuditEntry, DoubtCase, EvidenceRequest, Party } from '../../db/schema/index.js';
import { CASE_SORTS, type DeadlineView, type ResponseMetadata } from '../../db/repositories/cases.js';
import type { CaseSnapshot } from '../../workflows/shared.js';
import {
  CASE_STATUSES,
  DEADLINE_STATES,
  LEGAL_HOLD_AUTHORITIES,
  MANUAL_CONTACT_METHODS,
  SIGNAL_CHANNELS,
  WITHDRAWAL_REASONS,
  isBreached,
  nextDueAt,
} from '../../domain/case.js';
import type { LegalHold } from '../../db/repositories/evidence.js';
import { SIGNAL_CLASSES } from '../../domain/review.js';
import { DateTime, Ean18, Gln13, Page, Paging, Uuid } from './common.js';

const lit = <T extends string>(values: readonly T[], description?: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    description ? { description } : {},
  );
const nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

/** Channels a handler registers a signal through; 'supplier_report' only with a supplierReportId (GT-9). */
export const CaseStatusSchema = lit(CASE_STATUSES);
export const ChannelSchema = lit(
  SIGNAL_CHANNELS,
  'How the signal reached the grid operator (seed 000 §1, §3): customer (the customer directly), consuwijzer, acm, ap (Autoriteit Persoonsgegevens, the Dutch data protection authority), consumer_or_government_organisation, market_party, branch_organisation; supplier_report is a GT-9 report of the party itself',
);
const DeadlineStateSchema = lit(DEADLINE_STATES);

export const CaseParams = Type.Object({ id: Uuid });

// ---------------------------------------------------------------- intake (POST /cases)

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'Repeat the request with the same key to get the same case (200) instead of a second one',
    }),
  ),
});

/** GT-5: what the signal was about (domain/review.ts), so that "similar signals" means something. */
export const SignalClassSchema = Type.Union(
  SIGNAL_CLASSES.map((c) => Type.Literal(c)),
  {
    title: 'SignalClass',
    description:
      'GT-5: what the signal was about: party_unknown_to_customer, no_mandate_given, mandate_withdrawn (withdrawn or expired), beyond_mandate (data used or requested beyond the mandate), other',
  },
);

export const CaseCreate = Type.Object(
  {
    connectionEan: Type.Optional(Ean18),
    partyGln: Type.Optional({
      ...Gln13,
      description: 'The requesting party (supplier or service provider) the signal is about',
    }),
    channel: Type.Optional(ChannelSchema),
    receivedAt: Type.Optional({
      ...DateTime,
      description: 'When the grid operator received the signal; the GT-1 deadline runs from here',
    }),
    reporterName: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Who reported the signal' })),
    reporterContact: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 300,
        description:
          'How to reach the reporter. An e-mail address receives an acknowledgement now and the outcome when the case closes (Dutch, English below); anything else is kept for the handler',
      }),
    ),
    reporterReference: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 100,
        description:
          "The reporter's own reference for the complaint (on their letter): GET /cases finds the case by it; echoed in the mails to the reporter",
      }),
    ),
    description: Type.Optional(Type.String({ minLength: 1, maxLength: 10_000 })),
    isma: Type.Optional(
      Type.Boolean({
        description:
          "GT-4 concerns the supplier's iSMA reading: omit it and it is true only when the party is the connection's supplier of record at the signal and the connection is then on iSMA (not opted out of remote reading) on that supplier's iSMA request (its allocation basis). true: the signal concerns the iSMA reading, refused with 409 isma_party_not_supplier (a service provider, or a supplier not supplying the connection), connection_not_on_isma (no iSMA basis in force then) or isma_not_supplier_request (iSMA on the customer's consent or a legal provision); false: it concerns P4 requests only",
      }),
    ),
    signalClass: Type.Optional(SignalClassSchema),
    externalReference: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: "The signal's reference at its source (ConsuWijzer, ACM, ...); idempotent like Idempotency-Key",
      }),
    ),
    supplierReportId: Type.Optional({
      ...Uuid,
      description:
        'Open the case from a GT-9 supplier report: connection, party, channel, receivedAt and description default to the report',
    }),
  },
  {
    additionalProperties: false,
    title: 'CaseCreate',
    description:
      'Without supplierReportId: connectionEan, partyGln, channel, receivedAt, reporterName and description are required. With it they default to the report and, when given, must agree with it.',
  },
);
export type CaseCreateBody = Static<typeof CaseCreate>;

/** Opening a case from a supplier report (POST /supplier-reports/{id}/cases): the report supplies the rest. */
export const CaseFromReport = Type.Object(
  {
    isma: Type.Optional(
      Type.Boolean({
        description:
          "GT-4 concerns the supplier's iSMA reading: omit it and it is true only when the party is the connection's supplier of record at the signal and the connection is then on iSMA (not opted out of remote reading) on that supplier's iSMA request (its allocation basis). true: the signal concerns the iSMA reading, refused with 409 isma_party_not_supplier (a service provider, or a supplier not supplying the connection), connection_not_on_isma (no iSMA basis in force then) or isma_not_supplier_request (iSMA on the customer's consent or a legal provision); false: it concerns P4 requests only",
      }),
    ),
    signalClass: Type.Optional(SignalClassSchema),
    description: Type.Optional(Type.String({ minLength: 1, maxLength: 10_000 })),
    externalReference: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false, title: 'CaseFromReport' },
);

// ---------------------------------------------------------------- views

const PartyRef = Type.Object({ id: Uuid, gln: Gln13, name: Type.String() }, { title: 'PartyRef' });

export const DeadlineSchema = Type.Object(
  {
    dueAt: nullable(DateTime),
    doneAt: nullable(DateTime),
    state: DeadlineStateSchema,
    rule: Type.String({
      description: 'GT-1 contact, GT-3 response (72 hours), GT-8 unblock (GT-7 for a wrongful block)',
    }),
  },
  { title: 'Deadline' },
);
export const DeadlinesSchema = Type.Object(
  { contact: DeadlineSchema, response: DeadlineSchema, unblock: DeadlineSchema },
  { title: 'Deadlines' },
);

const summaryFields = {
  id: Uuid,
  reference: Type.String({ description: 'Human reference used in mail, e.g. GT-2026-000042' }),
  status: CaseStatusSchema,
  connectionEan: Ean18,
  party: PartyRef,
  gridOperator: PartyRef,
  channel: ChannelSchema,
  receivedAt: DateTime,
  isma: Type.Boolean(),
  signalClass: Type.Union([SignalClassSchema, Type.Null()]),
  externalReference: nullable(Type.String()),
  supplierReportId: nullable(Uuid),
  createdAt: DateTime,
  closedAt: nullable(DateTime),
  deadlines: DeadlinesSchema,
  nextDueAt: nullable({
    ...DateTime,
    description:
      'When the next deadline not yet done expires (contact, answer, unblock; overdue ones included); null: nothing due',
  }),
  breached: Type.Boolean({ description: 'At least one deadline missed' }),
};

export const CaseSummarySchema = Type.Object(summaryFields, { title: 'CaseSummary' });
export type CaseSummaryDto = Static<typeof CaseSummarySchema>;

export const CaseCreated = Type.Object(
  {
    ...summaryFields,
    created: Type.Boolean({
      description:
        'false: an earlier request with the same Idempotency-Key, external reference or supplier report created this case',
    }),
    blockInForce: Type.Boolean({ description: 'GT-2: the block was committed before this answer' }),
  },
  { title: 'CaseCreated' },
);

export const ResponseSchema = Type.Object(
  {
    id: Uuid,
    status: lit(
      ['staged', 'received', 'refused'] as const,
      'received: counted within the 72 hours (GT-3); refused: after the window (GT-8)',
    ),
    refusedReason: nullable(Type.String()),
    findings: Type.String(),
    complaintHandling: Type.String(),
    submittedAt: DateTime,
    submittedBy: Type.String(),
    evidence: Type.Union([
      Type.Object({
        filename: Type.String(),
        contentType: Type.String(),
        size: Type.Integer(),
        sha256: Type.String({ description: 'Digest kept after the copy is destroyed (GT-8)' }),
        held: Type.Boolean({
          description: 'Whether the copy is still held; it is destroyed after the decision (GT-8)',
        }),
        destroyedAt: nullable(DateTime),
      }),
      Type.Null(),
    ]),
    judgement: Type.Union([lit(['accepted', 'rejected'] as const), Type.Null()]),
    judgementReason: nullable(Type.String()),
    judgedAt: nullable(DateTime),
    judgedBy: nullable(Type.String({ description: 'The judging key (api-key:<id>)' })),
    judgedByName: nullable(
      Type.String({ description: 'The signature: the judging key’s recorded holder (a rejection needs one)' }),
    ),
    judgedByRole: nullable(Type.String({ description: 'The judging key’s role' })),
  },
  { title: 'CaseResponse', description: 'Metadata only: evidence content never leaves the service' },
);

export const TimelineEntrySchema = Type.Object(
  {
    at: DateTime,
    action: Type.String({
      description: 'e.g. case.opened, block.placed, case.contacted, case.evidence_judged, case.closed',
    }),
    actor: Type.Optional(Type.String()),
    actorRole: Type.Optional(nullable(Type.String())),
    data: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { title: 'TimelineEntry' },
);

const SnapshotDeadline = Type.Object({
  dueAt: nullable(DateTime),
  doneAt: nullable(DateTime),
  state: DeadlineStateSchema,
});
export const CaseSnapshotSchema = Type.Object(
  {
    caseId: Uuid,
    reference: Type.String(),
    status: CaseStatusSchema,
    deadlines: Type.Object({ contact: SnapshotDeadline, response: SnapshotDeadline, unblock: SnapshotDeadline }),
    contactedAt: nullable(DateTime),
    responseWindowClosed: Type.Boolean(),
    responses: Type.Array(
      Type.Object({
        responseId: Uuid,
        submittedAt: DateTime,
        hasEvidence: Type.Boolean(),
        judgement: Type.Union([lit(['accepted', 'rejected'] as const), Type.Null()]),
      }),
    ),
    outcome: Type.Union([lit(['accepted', 'not_demonstrated', 'wrongful_block', 'withdrawn'] as const), Type.Null()]),
    nextDeadline: nullable(DateTime),
  },
  { title: 'CaseSnapshot', description: "The case workflow's own view, after the action took effect" },
);

export const WithdrawalReasonSchema = lit(
  WITHDRAWAL_REASONS,
  'GT-7: not_concerning_party (the signal did not concern this party: a wrongful block, lifted within 1 working day with the blocked period released), ' +
    'reporter_withdrew (block lifted now, the blocked period stays closed), duplicate (this block lifted and its period released; the case about the same signal keeps its block), ' +
    'other (block lifted now, the blocked period stays closed; say why in reason)',
);
export const WithdrawBody = Type.Object(
  {
    reasonCode: Type.Optional({
      ...WithdrawalReasonSchema,
      description: `${WithdrawalReasonSchema.description} Default: other.`,
    }),
    reason: Type.String({
      minLength: 1,
      maxLength: 5000,
      description: 'The reason in words (required for every code)',
    }),
  },
  { additionalProperties: false, title: 'Withdrawal' },
);
export const WithdrawalResult = Type.Object(
  {
    ...CaseSnapshotSchema.properties,
    withdrawal: Type.Object(
      {
        reasonCode: WithdrawalReasonSchema,
        outcome: lit(['wrongful_block', 'withdrawn'] as const, 'How the case closed'),
        blockLifted: Type.Boolean(),
        blockedPeriodReleased: Type.Boolean({
          description: 'The party may request the data of the blocked period afterwards (GT-7 / GT-8)',
        }),
        unblockDeadline: Type.Boolean({ description: 'GT-7 as GT-8: lifted within 1 working day of the decision' }),
        rule: Type.String(),
        effect: Type.String({ description: 'What the withdrawal did, in words (also in the case history)' }),
      },
      { title: 'WithdrawalEffect' },
    ),
  },
  { title: 'WithdrawalResult', description: 'The closed case and what the withdrawal did to the block (GT-7)' },
);

export const EvidenceRequestCreate = Type.Object(
  {
    message: Type.String({
      minLength: 1,
      maxLength: 10_000,
      description: 'What further or other evidence is needed; mailed to the party as written',
    }),
  },
  { additionalProperties: false, title: 'EvidenceRequestCreate' },
);
export const EvidenceRequestCreated = Type.Object(
  {
    requestId: Uuid,
    requestedAt: DateTime,
    responseDueAt: {
      ...DateTime,
      description: 'GT-3: the unchanged deadline the mail states (the 72 hours do not restart)',
    },
  },
  { title: 'EvidenceRequestCreated' },
);
export const EvidenceRequestSchema = Type.Object(
  {
    id: Uuid,
    message: Type.String(),
    requestedAt: DateTime,
    requestedBy: Type.Optional(Type.String({ description: 'Not shown to the party' })),
    responseDueAt: DateTime,
    mailedAt: nullable({ ...DateTime, description: 'null while the mail is still being retried' }),
    mail: Type.Optional(
      Type.Object(
        {
          attempts: Type.Integer({ description: 'Attempts of the request mail so far' }),
          lastError: nullable(Type.String({ description: 'Why the last attempt failed (null once mailed)' })),
          lastAttemptAt: nullable(DateTime),
        },
        { description: 'The grid operator and compliance only: the mail while it fails (no hidden retries)' },
      ),
    ),
  },
  { title: 'EvidenceRequest', description: 'GT-3: the handler asked the party for more or other evidence' },
);
export const toEvidenceRequestDto = (r: EvidenceRequest, full: boolean): Static<typeof EvidenceRequestSchema> => ({
  id: r.id,
  message: r.message,
  requestedAt: r.requestedAt.toISOString(),
  ...(full ? { requestedBy: r.requestedBy } : {}),
  responseDueAt: r.responseDueAt.toISOString(),
  mailedAt: r.mailedAt?.toISOString() ?? null,
  ...(full
    ? {
        mail: {
          attempts: r.attempts,
          lastError: r.mailedAt ? null : r.lastError,
          lastAttemptAt: r.lastAttemptAt?.toISOString() ?? null,
        },
      }
    : {}),
});
export const LegalHoldSchema = Type.Object(
  {
    since: DateTime,
    by: Type.String(),
    authority: lit(LEGAL_HOLD_AUTHORITIES, 'Where the case went: the ACM, the AP, or the disputes committee'),
    reason: Type.String(),
  },
  { title: 'LegalHold' },
);
export const CaseDetailSchema = Type.Object(
  {
    ...summaryFields,
    reporterName: Type.Optional(Type.String({ description: 'Not shown to the party the case is about' })),
    reporterContact: Type.Optional(nullable(Type.String())),
    reporterReference: Type.Optional(
      nullable(Type.String({ description: "The reporter's own reference; not shown to the party the case is about" })),
    ),
    description: Type.Optional(Type.String()),
    closedBy: nullable(Type.String()),
    closeReason: nullable(Type.String()),
    withdrawalReason: Type.Union([WithdrawalReasonSchema, Type.Null()], {
      description: 'GT-7: why the handler withdrew the case (withdrawn or wrongful block); null otherwise',
    }),
    acmNotifiedAt: nullable(DateTime),
    profileEffectiveFrom: nullable(DateTime),
    evidenceRequests: Type.Array(EvidenceRequestSchema, {
      description: 'GT-3: the requests for more or other evidence, oldest first',
    }),
    workflow: Type.Union([CaseSnapshotSchema, Type.Null()], {
      description: 'The running workflow’s view; null once it has completed (or cannot be reached)',
    }),
    responses: Type.Array(ResponseSchema),
    timeline: Type.Array(TimelineEntrySchema),
    contact: Type.Optional(
      Type.Object(
        {
          method: Type.Union([lit(['email', ...MANUAL_CONTACT_METHODS] as const), Type.Null()]),
          attempts: Type.Integer({ description: 'Attempts of the contact mail so far' }),
          lastError: nullable(Type.String({ description: 'Why the last attempt failed (null once sent)' })),
          lastAttemptAt: nullable(DateTime),
          groupEmptyAt: nullable({
            ...DateTime,
            description: 'GT-10: the party’s doubt contact group was found empty; the handler was alerted',
          }),
        },
        { description: 'The grid operator and compliance only: how contact was made, or why it has not been yet' },
      ),
    ),
    legalHold: Type.Optional(
      Type.Union([LegalHoldSchema, Type.Null()], {
        description: 'The grid operator and compliance only: the evidence is kept beyond the decision while set',
      }),
    ),
  },
  { title: 'CaseDetail' },
);
export type CaseDetailDto = Static<typeof CaseDetailSchema>;

export const CaseQuery = Type.Intersect([
  Paging,
  Type.Object({
    status: Type.Optional(Type.Array(CaseStatusSchema, { description: 'One or more (repeat the parameter)' })),
    connectionEan: Type.Optional({ ...Ean18, description: 'The connection the signal is about' }),
    reference: Type.Optional(
      Type.String({
        pattern: '^GT-[0-9]{4}-[0-9]{6,}$',
        description: 'The case reference in mail and on the phone (GT-2026-000042)',
      }),
    ),
    reporterReference: Type.Optional(
      Type.String({ minLength: 1, maxLength: 100, description: "The reporter's own reference, exactly as recorded" }),
    ),
    externalReference: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: "The signal's reference at its source (ConsuWijzer, ACM, ...), exactly as recorded",
      }),
    ),
    partyGln: Type.Optional({ ...Gln13, description: 'The party (supplier or service provider) the case is about' }),
    gridOperatorGln: Type.Optional({
      ...Gln13,
      description: 'Compliance and admin; a case handler always sees its own grid operator',
    }),
    channel: Type.Optional(ChannelSchema),
    dueBefore: Type.Optional({
      ...DateTime,
      description: 'Open cases whose next deadline (contact, then response) falls before this instant',
    }),
    breached: Type.Optional(Type.Boolean({ description: 'true: at least one missed deadline; false: none' })),
    q: Type.Optional(
      Type.String({
        minLength: 3,
        maxLength: 100,
        description:
          'Search: the case reference, connection EAN, party GLN or name, or the reporter’s reference (not for the party the case is about), whole or its beginning; any of them matches',
      }),
    ),
    sort: Type.Optional(
      lit(
        CASE_SORTS,
        'received (default): newest signal first; due: the next deadline to expire first (nextDueAt; overdue first, cases with nothing due last)',
      ),
    ),
    format: Type.Optional(
      lit(
        ['json', 'csv'] as const,
        'csv: every matching case as a CSV download (limit and offset do not apply); also Accept: text/csv',
      ),
    ),
  }),
]);
export const CaseList = Page(CaseSummarySchema);

// ---------------------------------------------------------------- the party's response (GT-3)

export const ResponseCreate = Type.Object(
  {
    findings: Type.String({ minLength: 1, maxLength: 20_000 }),
    complaintHandling: Type.String({ minLength: 1, maxLength: 20_000 }),
    evidence: Type.Optional(
      Type.Object(
        {
          filename: Type.String({ minLength: 1, maxLength: 255 }),
          contentType: Type.String({
            minLength: 1,
            maxLength: 100,
            description: 'application/pdf, image/png or image/jpeg; checked against the content',
          }),
          contentBase64: Type.String({
            minLength: 1,
            description: 'The file, base64; at most EVIDENCE_MAX_BYTES decoded',
          }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, title: 'ResponseCreate' },
);

export const ResponseCreated = Type.Object(
  { response: ResponseSchema, receivedAt: DateTime, case: CaseSnapshotSchema },
  { title: 'ResponseCreated' },
);

// ---------------------------------------------------------------- handler actions

export const JudgementCreate = Type.Object(
  {
    responseId: Uuid,
    decision: lit(
      ['accept', 'reject'] as const,
      'accept: the mandate is demonstrated, the case closes (GT-8); reject: this evidence does not demonstrate it — within the 72 hours the case stays open for other evidence (GT-3), after them the last unjudged evidence rejected closes it "not demonstrated" (GT-4)',
    ),
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 5000, description: 'Required to reject' })),
  },
  { additionalProperties: false, title: 'JudgementCreate' },
);
export const ManualContactCreate = Type.Object(
  {
    method: lit(MANUAL_CONTACT_METHODS, 'How the party was reached instead of (or before) the contact mail'),
    contactedAt: Type.Optional({
      ...DateTime,
      description: 'When the contact was made (default: now); between the signal and now. The 72 hours run from it.',
    }),
    contactPerson: Type.String({ minLength: 1, maxLength: 500, description: 'Who was reached at the party' }),
    summary: Type.String({ minLength: 1, maxLength: 5000 }),
  },
  { additionalProperties: false, title: 'ManualContactCreate' },
);
export const ReasonBody = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 5000 }) },
  { additionalProperties: false, title: 'Reason' },
);

export const AcmNotificationCreate = Type.Object(
  { message: Type.String({ minLength: 1, maxLength: 20_000 }) },
  { additionalProperties: false, title: 'AcmNotificationCreate' },
);
export const AcmNotificationResult = Type.Object(
  { notificationId: Uuid, sentAt: DateTime },
  { title: 'AcmNotificationResult' },
);
export const NoteCreate = Type.Object(
  { text: Type.String({ minLength: 1, maxLength: 10_000 }) },
  { additionalProperties: false, title: 'NoteCreate' },
);
export const NoteResult = Type.Object({ at: DateTime }, { title: 'NoteResult' });

// ---------------------------------------------------------------- compliance history

export const HistoryQuery = Type.Object({
  format: Type.Optional(
    lit(
      ['merged', 'export'] as const,
      'export: the raw JSON export (Temporal history JSON + audit rows) as an attachment',
    ),
  ),
});

export const HistoryEntrySchema = Type.Object(
  {
    at: DateTime,
    source: lit(['temporal', 'database'] as const),
    type: Type.String({
      description:
        'Temporal event type (WorkflowExecutionStarted, ActivityTaskScheduled, ...) or audit action (case.opened, ...)',
    }),
    actor: Type.String(),
    actorName: Type.Optional(
      Type.Union([Type.String(), Type.Null()], { description: "The API key holder's name (audit entries)" }),
    ),
    actorRole: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    eventId: Type.Optional(Type.Integer()),
    auditId: Type.Optional(Type.Integer()),
    chainPosition: Type.Optional(
      Type.Integer({ description: 'Position on the audit hash chain (GET /audit/verify); audit entries only' }),
    ),
    hash: Type.Optional(Type.String({ description: 'The audit entry’s chain hash (SHA-256, hex)' })),
    detail: Type.Optional(Type.String({ description: 'Activity, update, timer or child workflow concerned' })),
    data: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { title: 'HistoryEntry' },
);

export const HistorySchema = Type.Object(
  {
    caseId: Uuid,
    reference: Type.String(),
    temporalSource: lit(
      ['live', 'archive', 'none'] as const,
      'live: fetched from Temporal (still retained); archive: case_history_archives; none: neither available',
    ),
    entries: Type.Array(HistoryEntrySchema),
  },
  { title: 'CaseHistory' },
);

export const HistoryExportSchema = Type.Object(
  {
    caseId: Uuid,
    reference: Type.String(),
    exportedAt: DateTime,
    temporal: Type.Object({
      source: lit(['live', 'archive', 'none'] as const),
      history: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
    }),
    audit: Type.Array(Type.Record(Type.String(), Type.Unknown())),
  },
  {
    title: 'CaseHistoryExport',
    description: 'Temporal history as proto3 JSON (replayable) and the audit rows as stored',
  },
);

// ---------------------------------------------------------------- mapping

export function toDeadlineDto(d: DeadlineView) {
  return { dueAt: iso(d.dueAt), doneAt: iso(d.doneAt), state: d.state, rule: d.rule };
}

const partyRef = (p: Party | undefined, id: string) => ({ id, gln: p?.gln ?? '', name: p?.name ?? '' });

export function toCaseSummary(
  row: DoubtCase,
  partiesById: Map<string, Party>,
  deadlines: Record<'contact' | 'response' | 'unblock', DeadlineView>,
): CaseSummaryDto {
  return {
    id: row.id,
    reference: row.reference,
    status: row.status,
    connectionEan: row.connectionEan,
    party: partyRef(partiesById.get(row.partyId), row.partyId),
    gridOperator: partyRef(partiesById.get(row.gridOperatorId), row.gridOperatorId),
    channel: row.channel,
    receivedAt: row.receivedAt.toISOString(),
    isma: row.isma,
    signalClass: row.signalClass,
    externalReference: row.externalReference,
    supplierReportId: row.supplierReportId,
    createdAt: row.createdAt.toISOString(),
    closedAt: iso(row.closedAt),
    deadlines: {
      contact: toDeadlineDto(deadlines.contact),
      response: toDeadlineDto(deadlines.response),
      unblock: toDeadlineDto(deadlines.unblock),
    },
    nextDueAt: iso(nextDueAt(row)),
    breached: isBreached(deadlines),
  };
}

/** `full`: the grid operator's view; the party's names no person or key of the grid operator (judgedBy). */
export function toResponseDto(r: ResponseMetadata, full = true): Static<typeof ResponseSchema> {
  return {
    id: r.id,
    status: r.status,
    refusedReason: r.refusedReason,
    findings: r.findings,
    complaintHandling: r.complaintHandling,
    submittedAt: r.submittedAt.toISOString(),
    submittedBy: r.submittedBy,
    evidence: r.evidenceSha256
      ? {
          filename: r.evidenceFilename ?? '',
          contentType: r.evidenceContentType ?? '',
          size: r.evidenceSize ?? 0,
          sha256: r.evidenceSha256,
          held: r.evidenceHeld,
          destroyedAt: iso(r.evidenceDestroyedAt),
        }
      : null,
    judgement: r.judgement,
    judgementReason: r.judgementReason,
    judgedAt: iso(r.judgedAt),
    judgedBy: full ? r.judgedBy : null,
    judgedByName: full ? r.judgedByName : null,
    judgedByRole: full ? r.judgedByRole : null,
  };
}

/** Full entries for the grid operator and compliance; the party sees what happened and when, not who or internal data. */
export function toTimelineDto(e: AuditEntry, full: boolean): Static<typeof TimelineEntrySchema> {
  return full
    ? { at: e.at.toISOString(), action: e.action, actor: e.actor, actorRole: e.actorRole, data: e.data }
    : { at: e.at.toISOString(), action: e.action };
}

export function toSnapshotDto(s: CaseSnapshot): Static<typeof CaseSnapshotSchema> {
  return s;
}

// ---------------------------------------------------------------- evidence and legal hold (GT-3, GT-8)

export const EvidenceParams = Type.Object({ id: Uuid, responseId: Uuid });

export const LegalHoldCreate = Type.Object(
  {
    authority: lit(LEGAL_HOLD_AUTHORITIES, 'Where the case goes: the ACM, the AP, or the disputes committee'),
    reason: Type.String({ minLength: 1, maxLength: 5000 }),
  },
  { additionalProperties: false, title: 'LegalHoldCreate' },
);
export const LegalHoldRelease = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 5000 }) },
  { additionalProperties: false, title: 'LegalHoldRelease' },
);
export const LegalHoldResult = Type.Object(
  {
    legalHold: Type.Union([LegalHoldSchema, Type.Null()]),
    copiesHeld: Type.Optional(Type.Integer({ description: 'Evidence copies kept by the hold' })),
    evidenceDestroyed: Type.Optional(
      Type.Integer({ description: 'Copies destroyed at the release (the case had closed meanwhile, GT-8)' }),
    ),
  },
  { title: 'LegalHoldResult' },
);

export const toLegalHoldDto = (h: LegalHold | null): Static<typeof LegalHoldSchema> | null =>
  h ? { since: h.since.toISOString(), by: h.by, authority: h.authority, reason: h.reason } : null;
