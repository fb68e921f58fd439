import {
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core';
import { parties } from './parties.js';
import { doubtCases } from './cases.js';
import { BREACH_CLOCKS, BREACH_TRIGGERS, type BreachClock, type BreachTrigger } from '../../domain/breach.js';

export { BREACH_TRIGGERS, BREACH_CLOCKS, type BreachTrigger, type BreachClock };

/** What the access register says this party received for this connection (prefill of the assessment). */
export interface BreachPrefill {
  deliveries: number;
  firstDeliveredAt: string | null;
  lastDeliveredAt: string | null;
  dataKinds: string[];
  /** Delivered periods, merged per data kind where they touch or overlap. */
  periods: { dataKind: string; from: string; to: string; deliveries: number }[];
}

/**
 * GT-11: a possible personal-data breach, assessed by the grid operator's privacy officer. One per case
 * (the close "mandate not demonstrated" and a handler's earlier request open the same one). The 72-hour
 * clock of GDPR art. 33 runs from aware_at; the breach-assessment workflow keeps it (reminders, met/missed).
 */
export const breachAssessments = pgTable(
  'breach_assessments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    caseId: uuid('case_id')
      .notNull()
      .references(() => doubtCases.id),
    gridOperatorId: uuid('grid_operator_id')
      .notNull()
      .references(() => parties.id),
    partyId: uuid('party_id')
      .notNull()
      .references(() => parties.id),
    connectionEan: varchar('connection_ean', { length: 18 }).notNull(),
    trigger: text('trigger').$type<BreachTrigger>().notNull(),
    /** When the grid operator became aware (the close, or the handler's request): art. 33 clock start. */
    awareAt: timestamp('aware_at', { withTimezone: true }).notNull(),
    /** aware_at + 72 hours. */
    dueAt: timestamp('due_at', { withTimezone: true }).notNull(),
    prefill: jsonb('prefill').$type<BreachPrefill>().notNull(),
    clock: text('clock').$type<BreachClock>().notNull().default('running'),
    /** Reminders sent while the clock ran (BREACH_REMINDER_HOURS_BEFORE). */
    remindersSent: integer('reminders_sent').notNull().default(0),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    /** Audit actor of the decision (api-key:<id>), the key's recorded holder (its signature) and role. */
    decidedBy: text('decided_by'),
    decidedByName: text('decided_by_name'),
    decidedByRole: text('decided_by_role'),
    /** Art. 33: notify the Autoriteit Persoonsgegevens; when not, the reason is required. */
    notifyAp: boolean('notify_ap'),
    apReason: text('ap_reason'),
    /** Art. 34: inform the grid user; when not, the reason is required. */
    informGridUser: boolean('inform_grid_user'),
    gridUserReason: text('grid_user_reason'),
    /** The privacy officer's own assessment text (nature, likely consequences, measures). */
    assessment: text('assessment'),
    /** A decision after the 72 hours: the reasons for the delay (art. 33(1)). */
    delayReason: text('delay_reason'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('breach_assessments_case_uq').on(t.caseId),
    index('breach_assessments_gop_idx').on(t.gridOperatorId),
  ],
);

export type BreachAssessment = typeof breachAssessments.$inferSelect;
