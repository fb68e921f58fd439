import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  date,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core';
import type { RegisterEntryKind } from '../../domain/gate.js';
import { parties } from './parties.js';
import { connections } from './connections.js';
import { doubtCases } from './cases.js';

/**
 * GT-2: a doubt case blocks one party on one connection for P4 requests that need an additional
 * mandate. One block per case, so placing it is idempotent (retried activities, duplicate intake).
 */
export const blocks = pgTable(
  'blocks',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    partyId: uuid('party_id')
      .notNull()
      .references(() => parties.id),
    connectionEan: varchar('connection_ean', { length: 18 })
      .notNull()
      .references(() => connections.ean),
    /**
     * GT-2: a block exists only as a case's block, placed at intake (services/cases/intake.ts). Null only
     * once the case was purged (DC-9) while the block still counts: lifted without release, it refuses the
     * blocked period (GT-8) until that period's readings are purged too (db/repositories/retention.ts).
     */
    caseId: uuid('case_id').references(() => doubtCases.id),
    /** DC-9: when the case was purged and the block kept without it (then case_id is null, and only then). */
    casePurgedAt: timestamp('case_purged_at', { withTimezone: true }),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    /** GT-7 / GT-8: why the block was lifted ('mandate_accepted', 'wrongful_block', 'case_withdrawn'). */
    liftReason: text('lift_reason'),
    /** GT-8: once lifted after acceptance, requests covering the blocked period are allowed again. */
    retroactive: boolean('retroactive').notNull().default(false),
  },
  (t) => [
    uniqueIndex('blocks_case_uq').on(t.caseId),
    // No block without its case, except one kept after its case was purged (DC-9).
    check('blocks_case_or_purged_ck', sql`(${t.caseId} is null) = (${t.casePurgedAt} is not null)`),
    // The P4 gate reads every block of (party, connection): active ones (GT-2) and lifted
    // non-retroactive ones (GT-8). Blocks are few, so one plain index serves both.
    index('blocks_party_conn_idx').on(t.partyId, t.connectionEan),
  ],
);

/**
 * DC-1: every exchange, allowed or denied: each P4 request, each delivery of its data (decided again at
 * delivery) and each internal read of quarter-hour data (DC-8). Append-only and written on the hot
 * path, so no foreign keys and few indexes.
 *
 * Partitioned by month of decided_at (PostgreSQL declarative range partitioning, UTC months; migration
 * 0010, domain/register-partitions.ts): a month's partition and its indexes are what the hot path writes
 * to, so they stay the size of a month however many years are kept, and DC-9 retention drops whole months
 * (services/register/partitions.ts) instead of deleting rows. drizzle-kit does not model partitioning: the
 * columns, key and indexes below match the partitioned parent; each partition has the same indexes.
 */
export const accessRegister = pgTable(
  'access_register',
  {
    /**
     * UUIDv7 assigned by the gate before the row is written, of the same millisecond as decided_at
     * (time-ordered, so the key index grows at its right edge like a sequence; unguessable, so it
     * doubles as the data handle).
     */
    id: uuid('id').notNull(),
    decidedAt: timestamp('decided_at', { withTimezone: true }).notNull(),
    requestId: text('request_id').notNull(),
    partyId: uuid('party_id').notNull(),
    connectionEan: varchar('connection_ean', { length: 18 }).notNull(),
    dataKind: text('data_kind').notNull(),
    periodFrom: timestamp('period_from', { withTimezone: true }).notNull(),
    periodTo: timestamp('period_to', { withTimezone: true }).notNull(),
    allowed: boolean('allowed').notNull(),
    reasonCode: text('reason_code').notNull(),
    rule: text('rule').notNull(),
    mandateId: uuid('mandate_id'),
    blockId: uuid('block_id'),
    kind: text('kind').$type<RegisterEntryKind>().notNull().default('request'),
    /** A delivery: the P4 request (register id) whose data it delivered. */
    deliveryOf: uuid('delivery_of'),
    /** Internal access (DC-8): who read (audit actor, e.g. api-key:<id>) and for what purpose. */
    actor: text('actor'),
    purpose: text('purpose'),
  },
  (t) => [
    // A partitioned table's key must contain the partition key. id first: UUIDv7 is time-ordered, so
    // each insert lands at the right edge of the current month's key index (one hot leaf page), and a
    // lookup by id (the data handle) is one probe per partition, one partition once decided_at is known.
    primaryKey({ name: 'access_register_pkey', columns: [t.id, t.decidedAt] }),
    // DC-5 "who accessed this connection": the one index whose inserts are random (millions of
    // connections), paid for on the hot path because the grid user's question must be answered by index.
    // Per partition it is a month's worth of keys, so the pages the inserts touch stay in memory.
    // Migration 0013 adds INCLUDE (party_id, allowed), which drizzle-kit cannot express: the DC-5 statistics
    // (accessOverview) are then an index-only scan, no heap page per row of the connection (bench:register).
    index('access_register_conn_idx').on(t.connectionEan, t.decidedAt),
    // A party's decisions in a window (case handling, GT-5, compliance): parties are few (tens to a few
    // hundred), and within a party decided_at only grows, so each insert lands at its party's right edge —
    // as many hot leaf pages as parties, all in memory. It replaces reading a window by the key and
    // filtering on party, which at ~550,000 rows a day reads the whole day for one party.
    index('access_register_party_idx').on(t.partyId, t.decidedAt),
    // Deliveries of a decision: only deliveries are indexed (partial), and delivery_of is the UUIDv7 of
    // a recent request, so these inserts, rarer than decisions, also land near the right edge.
    index('access_register_delivery_idx')
      .on(t.deliveryOf)
      .where(sql`${t.deliveryOf} is not null`),
  ],
);

/**
 * DC-5 at volume (issue 21, decisions/0020): a closed month of the register rolled up per (connection, party), so the
 * grid user's per-party statistics read one index range of this table instead of descending the connection index of
 * every month. Written by the month's compaction from its verified copy (services/register/partitions.ts), read by
 * accessOverview only for months with a marker in access_register_months_counted. Personal data like the register
 * (who read which connection, when): removed with the month by DC-9 retention (dropExpiredRegisterMonths).
 * Not partitioned: one connection's months are one range of the primary key.
 */
export const accessRegisterMonthCounts = pgTable(
  'access_register_month_counts',
  {
    /** The month's first day (UTC): access_register_pYYYYMM. */
    month: date('month', { mode: 'string' }).notNull(),
    connectionEan: varchar('connection_ean', { length: 18 }).notNull(),
    partyId: uuid('party_id').notNull(),
    total: integer('total').notNull(),
    allowed: integer('allowed').notNull(),
    firstAt: timestamp('first_at', { withTimezone: true }).notNull(),
    lastAt: timestamp('last_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    // Migration 0017 adds INCLUDE (total, allowed, first_at, last_at), which drizzle-kit cannot express: a
    // connection's months are then an index-only scan of one range, no heap page per month.
    primaryKey({ name: 'access_register_month_counts_pkey', columns: [t.connectionEan, t.month, t.partyId] }),
    // A month's counts replaced (a re-run) or removed (DC-9) without reading the whole table.
    index('access_register_month_counts_month_idx').on(t.month),
  ],
);

/**
 * The months whose counts are complete (decisions/0020): written in the transaction that writes a month's counts,
 * removed first when the month is dropped (DC-9), so accessOverview never takes counts of a month half written or
 * gone. `rows`: the month's row count, which the counts' totals were checked against.
 */
export const accessRegisterMonthsCounted = pgTable('access_register_months_counted', {
  month: date('month', { mode: 'string' }).primaryKey(),
  rows: bigint('rows', { mode: 'number' }).notNull(),
  countedAt: timestamp('counted_at', { withTimezone: true }).notNull().defaultNow(),
});

export type Block = typeof blocks.$inferSelect;
export type AccessRegisterEntry = typeof accessRegister.$inferSelect;
