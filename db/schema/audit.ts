import { bigint, bigserial, index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/**
 * Every state change, with who and when. Written in the same transaction as the change it
 * describes, so the trail can never disagree with the data. A doubt case's timeline is the
 * entries with entity_type 'case' and its id (plus its archived Temporal history).
 *
 * Append-only and tamper-evident (custom migration audit_chain): the database refuses UPDATE, DELETE and
 * TRUNCATE, and a BEFORE INSERT trigger puts each entry on ONE global hash chain — chain_position,
 * prev_hash (the previous entry's hash) and hash (SHA-256 over prev_hash and the entry, audit_entry_hash()).
 * It also names the actor (actor_name, actor_role) from the API key's holder. The columns it fills carry
 * placeholder defaults here only so that inserts need not name them; the trigger always overwrites them.
 */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    /** 'api-key:<id>', 'workflow:<id>', 'system', ... */
    actor: text('actor').notNull(),
    actorRole: text('actor_role'),
    actorPartyId: uuid('actor_party_id'),
    action: text('action').notNull(),
    entityType: text('entity_type').notNull(),
    entityId: text('entity_id').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    /** The person or process: the API key's holder name (else its label), set by the chain trigger. */
    actorName: text('actor_name'),
    /** 1, 2, 3, ... over the whole log, without gaps (set by the chain trigger). */
    chainPosition: bigint('chain_position', { mode: 'number' }).notNull().default(0),
    /** The hash of the entry at chain_position - 1 (64 zeros for the first entry). */
    prevHash: text('prev_hash').notNull().default(''),
    /** audit_entry_hash(): SHA-256 (hex) over prev_hash and every column of the entry. */
    hash: text('hash').notNull().default(''),
  },
  (t) => [
    index('audit_log_entity_idx').on(t.entityType, t.entityId, t.id),
    index('audit_log_at_idx').on(t.at),
    uniqueIndex('audit_log_chain_uq').on(t.chainPosition),
  ],
);

export type AuditEntry = typeof auditLog.$inferSelect;
