import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
  index,
  integer,
  numeric,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core';
import { ALLOCATION_METHODS, type AllocationBasisKind, type AllocationMethod } from '../../domain/allocation.js';
import { parties } from './parties.js';

/** The person at a connection whose data it is (aangeslotene / netgebruiker). */
export const gridUsers = pgTable('grid_users', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  email: text('email'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export { ALLOCATION_METHODS, ALLOCATION_BASIS_KINDS } from '../../domain/allocation.js';
export type { AllocationBasisKind, AllocationMethod } from '../../domain/allocation.js';

export const connections = pgTable(
  'connections',
  {
    /** 18-digit EAN with GS1 check digit (Dutch ones start with 871). */
    ean: varchar('ean', { length: 18 }).primaryKey(),
    gridOperatorId: uuid('grid_operator_id')
      .notNull()
      .references(() => parties.id),
    gridArea: text('grid_area').notNull(),
    supplierId: uuid('supplier_id').references(() => parties.id),
    balanceResponsiblePartyId: uuid('balance_responsible_party_id').references(() => parties.id),
    gridUserId: uuid('grid_user_id').references(() => gridUsers.id),
    /**
     * DC-7: since when the current grid user is the grid user (effective instant of the last change of
     * customer); null: since the connection's data begins. Kept here so the P4 gate reads it with the row.
     */
    gridUserSince: timestamp('grid_user_since', { withTimezone: true, precision: 3 }),
    /**
     * DC-7 / GT-2: since when the supplier of record supplies the connection (effective instant of the last
     * supplier switch); null: since the connection's data begins. Its billing reads cover only the period from
     * the later of this and grid_user_since (supplyStart() in domain/gate.ts); read by the P4 gate with the row.
     */
    supplierSince: timestamp('supplier_since', { withTimezone: true, precision: 3 }),
    /** AL-2: technical capacity; no quarter-hour volume may exceed capacityKw × 0.25 h. */
    capacityKw: numeric('capacity_kw', { precision: 10, scale: 3, mode: 'number' }).notNull(),
    /** AL-5: the customer opted out of remote reading; no quarter-hour data exists. */
    remoteReadingOptOut: boolean('remote_reading_opt_out').notNull().default(false),
    /** AL-4 inputs: offtake profile and annual standard volume (SJV); feed-in profile and volume (SJI). */
    profileCategory: text('profile_category').notNull().default('E1A'),
    annualStandardVolumeKwh: integer('annual_standard_volume_kwh').notNull().default(3000),
    feedInProfileCategory: text('feed_in_profile_category').notNull().default('PV'),
    annualStandardFeedInKwh: integer('annual_standard_feed_in_kwh').notNull().default(0),
    /**
     * The latest allocation_methods row's method, basis and basis party (null: none recorded, i.e. profile, AL-4);
     * kept with the history in the same transaction: the allocation run's fast path reads them here.
     */
    allocationMethod: text('allocation_method').$type<AllocationMethod>(),
    allocationBasis: text('allocation_basis').$type<AllocationBasisKind>(),
    allocationBasisPartyId: uuid('allocation_basis_party_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('connections_grid_operator_idx').on(t.gridOperatorId),
    index('connections_grid_user_idx').on(t.gridUserId),
    index('connections_supplier_idx').on(t.supplierId),
  ],
);

/**
 * The allocation basis as effective-dated history (DOMAIN.md, allocation basis; AL-4): the row with the latest
 * effective_from ≤ t applies at t. Rows are only ever added: a new basis supersedes the one before, never
 * overwrites it. iSMA rests on a basis (the supplier's iSMA request, the customer's consent, a legal
 * provision); profile needs none; no row in force is profile. An iSMA row without a basis is one recorded before
 * bases were whose supplier was unknown (the allocation_basis migration): it counts as none.
 */
export const allocationMethods = pgTable(
  'allocation_methods',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    connectionEan: varchar('connection_ean', { length: 18 })
      .notNull()
      .references(() => connections.ean),
    method: text('method').$type<AllocationMethod>().notNull(),
    effectiveFrom: timestamp('effective_from', { withTimezone: true }).notNull(),
    /** What the iSMA reading rests on (null for profile). */
    basis: text('basis').$type<AllocationBasisKind>(),
    /** supplier_isma_request: the supplier whose request (under its mandate as supplier) it is. */
    basisPartyId: uuid('basis_party_id').references(() => parties.id),
    /** legal_provision: the provision; customer_consent: where the consent is kept (optional). */
    basisReference: text('basis_reference'),
    /** GT-4: the doubt case that switched the connection back to profile allocation. */
    caseId: uuid('case_id'),
    reason: text('reason').notNull(),
    /** Who recorded it (the audit actor: an API key, a case's workflow). */
    recordedBy: text('recorded_by').notNull(),
    recordedAt: timestamp('recorded_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('allocation_methods_conn_idx').on(t.connectionEan, t.effectiveFrom),
    // The run looks for connections whose basis changes during or after its day (as connection_party_history).
    index('allocation_methods_from_idx').on(t.effectiveFrom),
    check(
      'allocation_methods_basis_ck',
      sql`case ${t.method}
            when 'profile' then ${t.basis} is null and ${t.basisPartyId} is null and ${t.basisReference} is null
            else ${t.basis} is null or (${t.basis} = 'supplier_isma_request' and ${t.basisPartyId} is not null)
              or (${t.basis} = 'customer_consent' and ${t.basisPartyId} is null)
              or (${t.basis} = 'legal_provision' and ${t.basisPartyId} is null and ${t.basisReference} is not null)
          end`,
    ),
    // Switching is idempotent per case: a retried activity cannot record the switch twice.
    uniqueIndex('allocation_methods_case_uq')
      .on(t.caseId)
      .where(sql`${t.caseId} is not null`),
  ],
);

/** GT-4 / AL-6: while an iSMA doubt case is open the connection is allocated with '0' values. */
export const zeroAllocations = pgTable(
  'zero_allocations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    connectionEan: varchar('connection_ean', { length: 18 })
      .notNull()
      .references(() => connections.ean),
    caseId: uuid('case_id').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    endReason: text('end_reason'),
  },
  (t) => [uniqueIndex('zero_allocations_case_uq').on(t.caseId), index('zero_allocations_conn_idx').on(t.connectionEan)],
);

export const CONNECTION_EVENT_KINDS = ['supplier_switch', 'customer_switch', 'customer_and_supplier_switch'] as const;
export type ConnectionEventKind = (typeof CONNECTION_EVENT_KINDS)[number];

/** Changes of supplier or customer at a connection (DC-4: a customer switch ends access). */
export const connectionEvents = pgTable(
  'connection_events',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    connectionEan: varchar('connection_ean', { length: 18 })
      .notNull()
      .references(() => connections.ean),
    kind: text('kind').$type<ConnectionEventKind>().notNull(),
    effectiveAt: timestamp('effective_at', { withTimezone: true }).notNull(),
    previousSupplierId: uuid('previous_supplier_id'),
    newSupplierId: uuid('new_supplier_id'),
    previousGridUserId: uuid('previous_grid_user_id'),
    newGridUserId: uuid('new_grid_user_id'),
    recordedAt: timestamp('recorded_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('connection_events_conn_idx').on(t.connectionEan, t.effectiveAt)],
);

export type GridUser = typeof gridUsers.$inferSelect;
export type Connection = typeof connections.$inferSelect;
export type AllocationMethodRow = typeof allocationMethods.$inferSelect;
export type ZeroAllocation = typeof zeroAllocations.$inferSelect;
export type ConnectionEvent = typeof connectionEvents.$inferSelect;
