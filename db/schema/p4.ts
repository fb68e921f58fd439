import { sql } from 'drizzle-orm';
import { boolean, check, index, pgTable, text, timestamp, uniqueIndex, uuid, varchar } from 'drizzle-orm/pg-core';
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
 * path, so no foreign keys and only the index that transparency (DC-5) needs, besides the primary key.
 */
export const accessRegister = pgTable(
  'access_register',
  {
    /**
     * UUIDv7 assigned by the gate before the row is written (time-ordered, so the primary key index
     * grows at its right edge like a sequence; unguessable, so it doubles as the data handle).
     */
    id: uuid('id').primaryKey(),
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
    index('access_register_conn_idx').on(t.connectionEan, t.decidedAt),
    // No (party_id, decided_at) index: every index costs the hot path an insert per decision (it cost
    // ~20 % of the database time per request in bench:p4). Reads by party go through a time window,
    // which the time-ordered primary key (UUIDv7) serves (listAccessRegister).
  ],
);

export type Block = typeof blocks.$inferSelect;
export type AccessRegisterEntry = typeof accessRegister.$inferSelect;
