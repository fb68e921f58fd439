import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgSequence,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core';
import { parties } from './parties.js';
import { connections } from './connections.js';
import {
  CLOSED_STATUSES,
  type CaseStatus,
  type ContactMethod,
  type LegalHoldAuthority,
  type SignalChannel,
  type WithdrawalReason,
} from '../../domain/case.js';
import type { AgreementRule, SignalClass } from '../../domain/review.js';

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

// The lists are domain rules (domain/case.ts); re-exported for the schema's users.
export { CASE_STATUSES, SIGNAL_CHANNELS, type CaseStatus, type SignalChannel } from '../../domain/case.js';

/** Numbers the human case reference (GT-2026-000042). */
export const doubtCaseReferenceSeq = pgSequence('doubt_case_reference_seq', { startWith: 1, increment: 1 });

const CLOSED_LIST = CLOSED_STATUSES.map((st) => `'${st}'`).join(', ');

/** One row per doubt case; the workflow (workflow id = case id) is the source of truth while it runs. */
export const doubtCases = pgTable(
  'doubt_cases',
  {
    id: uuid('id').primaryKey(),
    /** Human reference used in mail and on the phone, e.g. GT-2026-000042. */
    reference: text('reference').notNull(),
    gridOperatorId: uuid('grid_operator_id')
      .notNull()
      .references(() => parties.id),
    partyId: uuid('party_id')
      .notNull()
      .references(() => parties.id),
    connectionEan: varchar('connection_ean', { length: 18 })
      .notNull()
      .references(() => connections.ean),
    channel: text('channel').$type<SignalChannel>().notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull(),
    reporterName: text('reporter_name').notNull(),
    reporterContact: text('reporter_contact'),
    /** The reporter's own reference ("uw kenmerk"): a handler finds the case by it; echoed in mail to the reporter. */
    reporterReference: text('reporter_reference'),
    description: text('description').notNull(),
    /** GT-4: the signal concerns reading the meter for iSMA. */
    isma: boolean('isma').notNull(),
    /** GT-5: what the signal was about (domain/review.ts SIGNAL_CLASSES), at intake or by the handler. */
    signalClass: text('signal_class').$type<SignalClass>(),
    externalReference: text('external_reference'),
    idempotencyKey: text('idempotency_key'),
    supplierReportId: uuid('supplier_report_id'),
    status: text('status').$type<CaseStatus>().notNull(),
    /** Deadlines (UTC instants computed on the Amsterdam clock) and when they were met. */
    contactDueAt: timestamp('contact_due_at', { withTimezone: true }).notNull(),
    contactedAt: timestamp('contacted_at', { withTimezone: true }),
    responseDueAt: timestamp('response_due_at', { withTimezone: true }),
    respondedAt: timestamp('responded_at', { withTimezone: true }),
    judgedAt: timestamp('judged_at', { withTimezone: true }),
    unblockDueAt: timestamp('unblock_due_at', { withTimezone: true }),
    unblockedAt: timestamp('unblocked_at', { withTimezone: true }),
    allocationRevertedAt: timestamp('allocation_reverted_at', { withTimezone: true }),
    /** GT-1: contact not achieved before the 1-working-day deadline neared: handler alerted, miss recorded. */
    contactAlertedAt: timestamp('contact_alerted_at', { withTimezone: true }),
    contactMissRecordedAt: timestamp('contact_miss_recorded_at', { withTimezone: true }),
    contactMessageId: text('contact_message_id'),
    /** GT-1: how the party was reached: the contact mail, or telephone / meeting / letter recorded by the handler. */
    contactMethod: text('contact_method').$type<ContactMethod>(),
    /** The contact mail while it fails (no hidden retries): attempts so far, the last error and when. */
    contactAttempts: integer('contact_attempts').notNull().default(0),
    contactLastError: text('contact_last_error'),
    contactLastAttemptAt: timestamp('contact_last_attempt_at', { withTimezone: true }),
    /** GT-10: the party's doubt contact group was found empty; the handler was alerted at once. */
    contactGroupEmptyAt: timestamp('contact_group_empty_at', { withTimezone: true }),
    /**
     * GT-3: the reply-by instant the contact mail states, fixed before the first send and stated again by
     * any resend after a crash, so the party never holds two different deadlines (services/cases/contact.ts).
     */
    statedResponseDueAt: timestamp('stated_response_due_at', { withTimezone: true }),
    /** GT-4: profile allocation in force from this instant (iSMA cases closed "mandate not demonstrated"). */
    profileEffectiveFrom: timestamp('profile_effective_from', { withTimezone: true }),
    acmNotifiedAt: timestamp('acm_notified_at', { withTimezone: true }),
    closedAt: timestamp('closed_at', { withTimezone: true }),
    closedBy: text('closed_by'),
    closeReason: text('close_reason'),
    /** GT-7: why the handler withdrew the case (domain/case.ts WITHDRAWAL_REASONS); its effect follows from it. */
    withdrawalReason: text('withdrawal_reason').$type<WithdrawalReason>(),
    /** Legal hold (GT-8 postponed): the evidence is not destroyed at the decision while set; released, it is. */
    legalHoldSince: timestamp('legal_hold_since', { withTimezone: true }),
    legalHoldBy: text('legal_hold_by'),
    legalHoldAuthority: text('legal_hold_authority').$type<LegalHoldAuthority>(),
    legalHoldReason: text('legal_hold_reason'),
    /**
     * The next deadline's due instant, for GET /cases?sort=due: SQL mirror of domain/case.ts `nextDueAt` (held to
     * it by test/reports/case-deadlines-agreement.test.ts; an answered open case keeps its 72 hours' end, GT-3).
     * Stored, so the sort is an index walk.
     */
    nextDueAt: timestamp('next_due_at', { withTimezone: true }).generatedAlwaysAs(
      sql.raw(`least(
        case when status not in (${CLOSED_LIST}) and contacted_at is null then contact_due_at end,
        case when status not in (${CLOSED_LIST}) then response_due_at end,
        case when unblocked_at is null then unblock_due_at end)`),
    ),
    /** Set once the case workflow is known to run; open rows without it are restarted by the worker. */
    workflowStartedAt: timestamp('workflow_started_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    createdBy: text('created_by').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('doubt_cases_reference_uq').on(t.reference),
    uniqueIndex('doubt_cases_idem_uq')
      .on(t.gridOperatorId, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} is not null`),
    uniqueIndex('doubt_cases_extref_uq')
      .on(t.gridOperatorId, t.externalReference)
      .where(sql`${t.externalReference} is not null`),
    // One case per GT-9 supplier report: concurrent intakes from one report race here, the loser answers with the winner.
    uniqueIndex('doubt_cases_supplier_report_uq')
      .on(t.supplierReportId)
      .where(sql`${t.supplierReportId} is not null`),
    index('doubt_cases_party_idx').on(t.partyId, t.receivedAt),
    index('doubt_cases_operator_idx').on(t.gridOperatorId, t.status),
    index('doubt_cases_received_idx').on(t.receivedAt),
    // Finding a case (GET /cases): by its connection, or by the reference on the reporter's letter.
    index('doubt_cases_connection_idx').on(t.connectionEan, t.receivedAt),
    index('doubt_cases_reporter_reference_idx')
      .on(t.reporterReference)
      .where(sql`${t.reporterReference} is not null`),
    // GET /cases?sort=due, per grid operator and across them (admin); id is the stable tiebreaker.
    index('doubt_cases_operator_next_due_idx').on(t.gridOperatorId, t.nextDueAt, t.id),
    index('doubt_cases_next_due_idx').on(t.nextDueAt, t.id),
    // GET /cases?q=: the beginning of a reference, connection EAN or reporter reference (LIKE 'x%' in any collation).
    index('doubt_cases_reference_prefix_idx').using('btree', t.reference.op('text_pattern_ops')),
    index('doubt_cases_connection_prefix_idx').using('btree', t.connectionEan.op('varchar_pattern_ops')),
    index('doubt_cases_reporter_reference_prefix_idx')
      .using('btree', t.reporterReference.op('text_pattern_ops'))
      .where(sql`${t.reporterReference} is not null`),
  ],
);

/**
 * GT-3: the handler asks the party for more or other evidence within the 72 hours (which do not restart).
 * The row holds what was asked, so a retried mail states the same text; mailedAt once the mail went out.
 */
export const evidenceRequests = pgTable(
  'evidence_requests',
  {
    id: uuid('id').primaryKey(),
    caseId: uuid('case_id')
      .notNull()
      .references(() => doubtCases.id),
    message: text('message').notNull(),
    requestedAt: timestamp('requested_at', { withTimezone: true }).notNull(),
    requestedBy: text('requested_by').notNull(),
    /** The reply-by instant the mail states: the case's unchanged GT-3 deadline. */
    responseDueAt: timestamp('response_due_at', { withTimezone: true }).notNull(),
    mailedAt: timestamp('mailed_at', { withTimezone: true }),
    messageId: text('message_id'),
    recipients: jsonb('recipients').$type<string[]>(),
    /** The mail while it fails (no hidden retries): attempts so far and the last error. */
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    lastAttemptAt: timestamp('last_attempt_at', { withTimezone: true }),
  },
  (t) => [index('evidence_requests_case_idx').on(t.caseId, t.requestedAt)],
);
export type EvidenceRequest = typeof evidenceRequests.$inferSelect;

export const RESPONSE_STATUSES = [
  'staged', // stored by the API, not yet accepted by the case workflow
  'received', // accepted within the 72 hours (GT-3)
  'refused', // arrived after the window closed (GT-8): content dropped at once
] as const;
export type ResponseStatus = (typeof RESPONSE_STATUSES)[number];

/** GT-3: the party's answer. GT-8: the evidence copy is destroyed after the decision; metadata and digest stay. */
export const caseResponses = pgTable(
  'case_responses',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    caseId: uuid('case_id')
      .notNull()
      .references(() => doubtCases.id),
    partyId: uuid('party_id').notNull(),
    status: text('status').$type<ResponseStatus>().notNull().default('staged'),
    refusedReason: text('refused_reason'),
    findings: text('findings').notNull(),
    complaintHandling: text('complaint_handling').notNull(),
    submittedAt: timestamp('submitted_at', { withTimezone: true }).notNull(),
    submittedBy: text('submitted_by').notNull(),
    evidenceFilename: text('evidence_filename'),
    evidenceContentType: text('evidence_content_type'),
    evidenceSize: integer('evidence_size'),
    evidenceSha256: varchar('evidence_sha256', { length: 64 }),
    evidenceContent: bytea('evidence_content'),
    evidenceDestroyedAt: timestamp('evidence_destroyed_at', { withTimezone: true }),
    judgement: text('judgement').$type<'accepted' | 'rejected'>(),
    judgementReason: text('judgement_reason'),
    judgedAt: timestamp('judged_at', { withTimezone: true }),
    judgedBy: text('judged_by'),
    /** The signature of the judgement: the key's recorded holder and the key's role (judged_by names the key). */
    judgedByName: text('judged_by_name'),
    judgedByRole: text('judged_by_role'),
  },
  (t) => [
    index('case_responses_case_idx').on(t.caseId),
    // The work queue's count of evidence awaiting a judgement (db/repositories/work-items.ts): only those rows.
    index('case_responses_awaiting_idx')
      .on(t.caseId)
      .where(sql`${t.status} = 'received' and ${t.judgement} is null`),
  ],
);

/** Compliance: the full Temporal history of a closed case, kept beyond the namespace retention. */
export const caseHistoryArchives = pgTable('case_history_archives', {
  caseId: uuid('case_id')
    .primaryKey()
    .references(() => doubtCases.id),
  archivedAt: timestamp('archived_at', { withTimezone: true }).notNull().defaultNow(),
  eventCount: integer('event_count').notNull(),
  /** Temporal's JSON history export (proto3 JSON), replayable. */
  history: jsonb('history').$type<Record<string, unknown>>().notNull(),
});

/** GT-9: a customer signal received by the supplier/service provider, reported to the grid operator. */
export const supplierReports = pgTable(
  'supplier_reports',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    partyId: uuid('party_id')
      .notNull()
      .references(() => parties.id),
    gridOperatorId: uuid('grid_operator_id')
      .notNull()
      .references(() => parties.id),
    connectionEan: varchar('connection_ean', { length: 18 })
      .notNull()
      .references(() => connections.ean),
    signalReceivedAt: timestamp('signal_received_at', { withTimezone: true }).notNull(),
    reportedAt: timestamp('reported_at', { withTimezone: true }).notNull(),
    /** GT-9: reported before the end of the first working day after the signal. */
    reportedWithinOneWorkingDay: boolean('reported_within_one_working_day').notNull(),
    customerSatisfaction: text('customer_satisfaction').$type<'unknown' | 'dissatisfied'>().notNull(),
    /** GT-5: what the signal was about (domain/review.ts SIGNAL_CLASSES). */
    signalClass: text('signal_class').$type<SignalClass>(),
    findings: text('findings').notNull(),
    actions: text('actions').notNull(),
    caseId: uuid('case_id'),
    /** GT-10: the grid operator's doubt contact group was mailed. */
    notifiedAt: timestamp('notified_at', { withTimezone: true }),
    /** Set once the notification workflow is known to run; rows without it (and not notified) are started by the worker. */
    notificationStartedAt: timestamp('notification_started_at', { withTimezone: true }),
    createdBy: text('created_by').notNull(),
  },
  (t) => [
    index('supplier_reports_party_idx').on(t.partyId, t.signalReceivedAt),
    index('supplier_reports_operator_idx').on(t.gridOperatorId, t.reportedAt),
  ],
);

/**
 * GT-5: proposed by the scan → (the grid operators agree) contacting → follow_up → awaiting_decision →
 * reported_to_acm | not_reported; or proposed → not_agreed.
 */
export const REVIEW_STATUSES = [
  'proposed',
  'not_agreed',
  'contacting',
  'follow_up',
  'awaiting_decision',
  'reported_to_acm',
  'not_reported',
] as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];

/** GT-5: improvement review of a repeat offender, on behalf of all grid operators. */
export const improvementReviews = pgTable(
  'improvement_reviews',
  {
    id: uuid('id').primaryKey(),
    partyId: uuid('party_id')
      .notNull()
      .references(() => parties.id),
    openedAt: timestamp('opened_at', { withTimezone: true }).notNull(),
    windowDays: integer('window_days').notNull(),
    signalsAtOpen: integer('signals_at_open').notNull(),
    threshold: integer('threshold').notNull(),
    followUpDays: integer('follow_up_days').notNull(),
    contactedAt: timestamp('contacted_at', { withTimezone: true }),
    followUpFrom: timestamp('follow_up_from', { withTimezone: true }),
    followUpUntil: timestamp('follow_up_until', { withTimezone: true }),
    signalsAfterFollowUp: integer('signals_after_follow_up'),
    status: text('status').$type<ReviewStatus>().notNull(),
    /** The agreement rule the votes are counted by (domain/review.ts). */
    agreementRule: text('agreement_rule').$type<AgreementRule>().notNull().default('majority'),
    /**
     * GT-5 "jointly": the grid operators who judge the proposal (vote, sign the ACM decision), fixed when it is
     * made (domain/review.ts reviewElectorate: every grid operator in the system). Reviews proposed before it was
     * recorded got their signal holders (migration 0006), which is what their running workflows count.
     */
    electorate: uuid('electorate').array().notNull(),
    /** The proposal lapses (not_agreed) when the rule is not met by then. */
    votingUntil: timestamp('voting_until', { withTimezone: true }),
    agreedAt: timestamp('agreed_at', { withTimezone: true }),
    /** The party's improvement commitment, as recorded by a case handler. */
    commitment: text('commitment'),
    commitmentRecordedAt: timestamp('commitment_recorded_at', { withTimezone: true }),
    commitmentRecordedBy: text('commitment_recorded_by'),
    /** The decision on the ACM report after the follow-up: who (key holder's name) signed, and why. */
    decision: text('decision').$type<'report' | 'do_not_report'>(),
    decisionReason: text('decision_reason'),
    decidedBy: text('decided_by'),
    decidedByName: text('decided_by_name'),
    decidedByRole: text('decided_by_role'),
    decidedByGridOperatorId: uuid('decided_by_grid_operator_id'),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    closedAt: timestamp('closed_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('improvement_reviews_open_uq')
      .on(t.partyId)
      .where(sql`${t.closedAt} is null`),
  ],
);

/** GT-5 / GT-6: reports sent to the ACM, with the content as sent. */
export const acmNotifications = pgTable(
  'acm_notifications',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    caseId: uuid('case_id'),
    reviewId: uuid('review_id'),
    sentAt: timestamp('sent_at', { withTimezone: true }).notNull(),
    sentBy: text('sent_by').notNull(),
    report: jsonb('report').$type<Record<string, unknown>>().notNull(),
    messageId: text('message_id'),
    /** Deduplicates retried sends of the same notification. */
    dedupeKey: text('dedupe_key').notNull(),
    signalCount: bigint('signal_count', { mode: 'number' }),
  },
  (t) => [uniqueIndex('acm_notifications_dedupe_uq').on(t.dedupeKey)],
);

export type DoubtCase = typeof doubtCases.$inferSelect;
export type CaseResponse = typeof caseResponses.$inferSelect;
export type SupplierReport = typeof supplierReports.$inferSelect;
export type ImprovementReview = typeof improvementReviews.$inferSelect;
export type AcmNotification = typeof acmNotifications.$inferSelect;
