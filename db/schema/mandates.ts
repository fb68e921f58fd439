import { sql } from 'drizzle-orm';
import { boolean, check, index, pgTable, text, timestamp, uuid, varchar } from 'drizzle-orm/pg-core';
import { parties } from './parties.js';
import { connections } from './connections.js';
import {
  type DataKind,
  type MandateConfirmedBy,
  type MandateEndReason,
  type MandateGrantedVia,
  type MandateStatus,
} from '../../domain/mandate.js';

// The lists are the domain's (domain/mandate.ts); re-exported so schema users keep one import.
export {
  DATA_KINDS,
  MANDATE_CONFIRMED_BY,
  MANDATE_END_REASONS,
  MANDATE_GRANTED_VIA,
  MANDATE_STATUSES,
} from '../../domain/mandate.js';
export type {
  DataKind,
  MandateConfirmedBy,
  MandateEndReason,
  MandateGrantedVia,
  MandateStatus,
} from '../../domain/mandate.js';

/**
 * DC-2: party, connection, scope (data kinds, purpose), access period, history consent.
 * DC-3: a mandate granted by someone other than the grid user stays pending until the grid user confirms.
 * Expiry is not a status: a mandate past valid_to is expired by definition (no job needed to flip it).
 */
export const mandates = pgTable(
  'mandates',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    partyId: uuid('party_id')
      .notNull()
      .references(() => parties.id),
    connectionEan: varchar('connection_ean', { length: 18 })
      .notNull()
      .references(() => connections.ean),
    dataKinds: text('data_kinds').array().$type<DataKind[]>().notNull(),
    purpose: text('purpose').notNull(),
    validFrom: timestamp('valid_from', { withTimezone: true }).notNull(),
    validTo: timestamp('valid_to', { withTimezone: true }).notNull(),
    /** DC-2 / Datacode 5.3.11 §3: historical data only with explicit consent for it. */
    historyIncluded: boolean('history_included').notNull().default(false),
    grantedVia: text('granted_via').$type<MandateGrantedVia>().notNull(),
    grantedByName: text('granted_by_name').notNull(),
    grantedByIsGridUser: boolean('granted_by_is_grid_user').notNull(),
    status: text('status').$type<MandateStatus>().notNull(),
    confirmedAt: timestamp('confirmed_at', { withTimezone: true }),
    /**
     * DC-3: who confirmed it — the party's declaration that the grid user granted it, or the grid user themself.
     * GT-8b: after a negative outcome only 'grid_user' counts (domain/mandate.ts gridUserMustConfirm).
     */
    confirmedBy: text('confirmed_by').$type<MandateConfirmedBy>(),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    endReason: text('end_reason').$type<MandateEndReason>(),
    /**
     * Registration instant: the past before it is history (DC-2), and after a negative doubt-case outcome
     * only mandates registered later count (GT-8b). Millisecond precision, as every instant the gate
     * compares it with (decide() works in milliseconds, the SQL mirror must see the same value).
     */
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    /** Audit actor that registered the mandate ('api-key:<id>', 'system', ...). */
    createdBy: text('created_by').notNull().default('system'),
  },
  (t) => [
    index('mandates_party_conn_idx').on(t.partyId, t.connectionEan),
    index('mandates_conn_idx').on(t.connectionEan),
    check('mandates_period_ck', sql`${t.validTo} > ${t.validFrom}`),
  ],
);

export type Mandate = typeof mandates.$inferSelect;
