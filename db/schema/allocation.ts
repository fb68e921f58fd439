/**
 * Allocation (AL-1 … AL-6): quarter-hour register readings as one row per connection-day, effective-
 * dated master data, profile fractions, and the versioned allocation runs with their aggregates.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  date,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core';
import type { AllocationReason, Direction, QuarterHourMethod } from '../../domain/allocation.js';
import { connections } from './connections.js';
import { parties } from './parties.js';

/**
 * AL-1: the registers of one connection for one Amsterdam day, n+1 values each (n = 92, 96 or 100
 * quarter-hours): index 1 (SQL arrays are 1-based) at the day's start, index k+1 at the end of quarter-hour
 * k; null = not read. One row per connection-day rather than per quarter-hour: 1 M rows a day instead of
 * 96 M, an eighth of the space and of the import time (docs/decisions/0012-readings-one-row-per-connection-day.md).
 */
export const meterReadingDays = pgTable(
  'meter_reading_days',
  {
    /** Day first: the run reads one day of all connections; PostgreSQL 18 skip-scans it per connection. */
    day: date('day', { mode: 'string' }).notNull(),
    connectionEan: varchar('connection_ean', { length: 18 })
      .notNull()
      .references(() => connections.ean),
    offtakeWh: bigint('offtake_wh', { mode: 'number' }).array().notNull(),
    feedInWh: bigint('feed_in_wh', { mode: 'number' }).array().notNull(),
    /** Registers not read, both registers together (0: the day is complete). */
    missing: smallint('missing').notNull(),
    importedAt: timestamp('imported_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.day, t.connectionEan] })],
);

export const READING_IMPORT_SOURCES = ['api', 'bulk'] as const;

/** One import of readings (per-row API batch or bulk file), with what it accepted and rejected. */
export const readingImports = pgTable('reading_imports', {
  id: uuid('id').primaryKey().defaultRandom(),
  source: text('source').$type<(typeof READING_IMPORT_SOURCES)[number]>().notNull(),
  actor: text('actor').notNull(),
  startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
  finishedAt: timestamp('finished_at', { withTimezone: true }).notNull(),
  summary: jsonb('summary').$type<Record<string, unknown>>().notNull(),
});

/**
 * AL-2: readings refused on import. The run names "readings_invalid" rather than "readings_missing" as
 * the reason of a profile fallback when its connection-day has one.
 */
export const meterReadingRejects = pgTable(
  'meter_reading_rejects',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    importId: uuid('import_id')
      .notNull()
      .references(() => readingImports.id),
    day: date('day', { mode: 'string' }).notNull(),
    connectionEan: varchar('connection_ean', { length: 18 }).notNull(),
    register: text('register').$type<Direction>(),
    code: text('code').notNull(),
    message: text('message').notNull(),
  },
  (t) => [index('meter_reading_rejects_day_conn_idx').on(t.day, t.connectionEan)],
);

/**
 * Effective-dated master data: supplier, balance responsible party and grid area of a connection. The row
 * with the latest effective_from ≤ t applies at t; the connection row carries the latest one (kept in the
 * same transaction), so a day before any later row is allocated from the connection row alone.
 */
export const connectionPartyHistory = pgTable(
  'connection_party_history',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    connectionEan: varchar('connection_ean', { length: 18 })
      .notNull()
      .references(() => connections.ean),
    effectiveFrom: timestamp('effective_from', { withTimezone: true }).notNull(),
    supplierId: uuid('supplier_id').references(() => parties.id),
    balanceResponsiblePartyId: uuid('balance_responsible_party_id').references(() => parties.id),
    gridArea: text('grid_area').notNull(),
    reason: text('reason').notNull(),
    recordedAt: timestamp('recorded_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('connection_party_history_conn_idx').on(t.connectionEan, t.effectiveFrom),
    index('connection_party_history_from_idx').on(t.effectiveFrom),
  ],
);

/** AL-4: a loaded set of profile fractions for one calendar year (the latest loaded set of a year is used). */
export const profileSets = pgTable(
  'profile_sets',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    year: integer('year').notNull(),
    /** 'generated' (development stand-in) or the file name of the sector's publication. */
    source: text('source').notNull(),
    categories: text('categories').array().notNull(),
    loadedBy: text('loaded_by').notNull(),
    loadedAt: timestamp('loaded_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('profile_sets_year_idx').on(t.year, t.loadedAt)],
);

export const profileFractions = pgTable(
  'profile_fractions',
  {
    profileSetId: uuid('profile_set_id')
      .notNull()
      .references(() => profileSets.id),
    category: text('category').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    /** One fraction per quarter-hour of the day, exact (15 decimals). */
    fractions: numeric('fractions').array().notNull(),
  },
  (t) => [primaryKey({ columns: [t.profileSetId, t.category, t.day] })],
);

/** AL-3: an aggregation cell, balance responsible party × supplier × grid area (shared by all runs). */
export const allocationCells = pgTable(
  'allocation_cells',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    balanceResponsiblePartyId: uuid('balance_responsible_party_id')
      .notNull()
      .references(() => parties.id),
    supplierId: uuid('supplier_id')
      .notNull()
      .references(() => parties.id),
    gridArea: text('grid_area').notNull(),
  },
  (t) => [
    uniqueIndex('allocation_cells_uq').on(t.balanceResponsiblePartyId, t.supplierId, t.gridArea),
    index('allocation_cells_supplier_idx').on(t.supplierId),
  ],
);

export const ALLOCATION_RUN_STATUSES = ['requested', 'running', 'completed', 'failed'] as const;
export type AllocationRunStatus = (typeof ALLOCATION_RUN_STATUSES)[number];
export const ALLOCATION_RUN_TRIGGERS = ['schedule', 'request'] as const;
export type AllocationRunTrigger = (typeof ALLOCATION_RUN_TRIGGERS)[number];

/** One allocation of one day for one grid operator; re-running the day makes the next version. */
export const allocationRuns = pgTable(
  'allocation_runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    gridOperatorId: uuid('grid_operator_id')
      .notNull()
      .references(() => parties.id),
    day: date('day', { mode: 'string' }).notNull(),
    version: integer('version').notNull(),
    status: text('status').$type<AllocationRunStatus>().notNull(),
    trigger: text('trigger').$type<AllocationRunTrigger>().notNull(),
    /** Idempotency: the same request key gives the same run (schedule: one per operator and day). */
    requestKey: text('request_key').notNull(),
    reason: text('reason').notNull(),
    requestedBy: text('requested_by').notNull(),
    requestedAt: timestamp('requested_at', { withTimezone: true }).notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    profileSetId: uuid('profile_set_id').references(() => profileSets.id),
    /** The version this one was compared with (the latest completed earlier version). */
    previousRunId: uuid('previous_run_id'),
    summary: jsonb('summary').$type<Record<string, unknown>>(),
    difference: jsonb('difference').$type<Record<string, unknown>>(),
    failure: text('failure'),
  },
  (t) => [
    uniqueIndex('allocation_runs_version_uq').on(t.gridOperatorId, t.day, t.version),
    uniqueIndex('allocation_runs_request_key_uq').on(t.requestKey),
    index('allocation_runs_status_idx')
      .on(t.status)
      .where(sql`${t.status} in ('requested', 'running')`),
  ],
);

/**
 * Individual results of the connection-days a run allocated uniformly (one method, cell and profile all
 * day), grouped: one row per kind, cell and profile categories with the connections as an array (a million
 * rows with an index would cost the run more than all its other writes). Stay inside (DC-8).
 */
export const allocationRunMembers = pgTable(
  'allocation_run_members',
  {
    runId: uuid('run_id').notNull(),
    /** 'measured', 'profile:<reason>', 'zero:doubt_case_open', 'unallocated:<reason>' (both directions alike). */
    kind: text('kind').notNull(),
    cellId: integer('cell_id'),
    offtakeProfileCategory: text('offtake_profile_category').notNull(),
    feedInProfileCategory: text('feed_in_profile_category').notNull(),
    connectionEans: varchar('connection_eans', { length: 18 }).array().notNull(),
    /** Aligned with connectionEans, for profile kinds (empty for the others: their volumes need none). */
    annualOfftakeKwh: integer('annual_offtake_kwh').array().notNull(),
    annualFeedInKwh: integer('annual_feed_in_kwh').array().notNull(),
  },
  (t) => [index('allocation_run_members_run_idx').on(t.runId, t.kind)],
);

/**
 * Individual results of the mixed connection-days (stay inside: the grid operator only, DC-8): the quarter-hour ranges
 * with their cell and method per direction. Volumes follow from them: measured from the stored registers
 * (final once stored), profile from the run's profile set and the annual volume kept here, '0' as 0.
 */
export const allocationConnectionResults = pgTable(
  'allocation_connection_results',
  {
    runId: uuid('run_id').notNull(),
    connectionEan: varchar('connection_ean', { length: 18 }).notNull(),
    qhFrom: smallint('qh_from').notNull(),
    qhTo: smallint('qh_to').notNull(),
    /** null: not allocated (no supplier or no BRP). */
    cellId: integer('cell_id'),
    offtakeMethod: text('offtake_method').$type<QuarterHourMethod>().notNull(),
    offtakeReason: text('offtake_reason').$type<AllocationReason>(),
    feedInMethod: text('feed_in_method').$type<QuarterHourMethod>().notNull(),
    feedInReason: text('feed_in_reason').$type<AllocationReason>(),
    offtakeProfileCategory: text('offtake_profile_category').notNull(),
    feedInProfileCategory: text('feed_in_profile_category').notNull(),
    annualOfftakeKwh: integer('annual_offtake_kwh').notNull(),
    annualFeedInKwh: integer('annual_feed_in_kwh').notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.connectionEan, t.qhFrom] })],
);

/** AL-3: what leaves — the sum per quarter-hour × cell × direction, with how it was made up. */
export const allocationAggregates = pgTable(
  'allocation_aggregates',
  {
    runId: uuid('run_id').notNull(),
    cellId: integer('cell_id').notNull(),
    direction: text('direction').$type<Direction>().notNull(),
    qh: smallint('qh').notNull(),
    /** Exact: measured Wh plus profile fraction × annual kWh × 1000. */
    volumeWh: numeric('volume_wh').notNull(),
    connections: integer('connections').notNull(),
    measured: integer('measured').notNull(),
    profile: integer('profile').notNull(),
    estimated: integer('estimated').notNull(),
    zero: integer('zero').notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.cellId, t.direction, t.qh] })],
);

export type MeterReadingDay = typeof meterReadingDays.$inferSelect;
export type ConnectionPartyHistoryRow = typeof connectionPartyHistory.$inferSelect;
export type ProfileSetRow = typeof profileSets.$inferSelect;
export type AllocationRun = typeof allocationRuns.$inferSelect;
export type AllocationCell = typeof allocationCells.$inferSelect;
