import { sql } from 'drizzle-orm';
import { bigint, bigserial, index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/**
 * Every state change, with who and when. Written in the same transaction as the change it
 * describes, so the trail can never disagree with the data. A doubt case's timeline is the
 * entries with entity_type 'case' and its id (plus its archived Temporal history).
 *
 * Append-only and tamper-evident (custom migrations audit_chain and audit_details_erasable): the database
 * refuses UPDATE, DELETE and TRUNCATE, and a BEFORE INSERT trigger puts each entry on ONE global hash chain —
 * chain_position, prev_hash (the previous entry's hash) and hash (audit_entry_hash(): SHA-256 over prev_hash,
 * the entry's non-personal columns and details_digest). It also names the actor (actor_name, actor_role) from
 * the API key's holder. The columns it fills carry placeholder defaults here only so that inserts need not
 * name them; the trigger always overwrites them.
 *
 * DC-9: the entry's personal part — its details: `data` and `actor_name` — is outside the chain; the chain
 * covers only details_digest, a SHA-256 over a random per-entry salt and the details (audit_details_digest()).
 * The retention purge erases the details (and the salt, so the digest left behind can no longer confirm a
 * guess) through audit_erase_details(), the one change the append-only trigger lets through; the chain still
 * verifies, and the entry says when and by which purge entry its details went (docs/retention.md).
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
    /** Details (personal part, DC-9): `{}` once erased. */
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    /** Details: the person or process, the API key's holder name (else its label), set by the chain trigger. */
    actorName: text('actor_name'),
    /** 1, 2, 3, ... over the whole log, without gaps (set by the chain trigger). */
    chainPosition: bigint('chain_position', { mode: 'number' }).notNull().default(0),
    /** The hash of the entry at chain_position - 1 (64 zeros for the first entry). */
    prevHash: text('prev_hash').notNull().default(''),
    /** audit_entry_hash(): SHA-256 (hex) over prev_hash, the non-personal columns and details_digest. */
    hash: text('hash').notNull().default(''),
    /** Random per-entry salt of details_digest (set by the chain trigger); erased with the details. */
    detailsSalt: text('details_salt'),
    /** audit_details_digest(): SHA-256 (hex) over the salt, actor_name and data; chained, kept after erasure. */
    detailsDigest: text('details_digest').notNull().default(''),
    /** Entries written before the details left the chain: their original hash, chained by the re-seal (0004). */
    legacyHash: text('legacy_hash'),
    /** DC-9: when the details were erased (null: still present). */
    detailsErasedAt: timestamp('details_erased_at', { withTimezone: true }),
    /** DC-9: the id of the 'retention.purged' entry that erased them. */
    detailsErasedBy: bigint('details_erased_by', { mode: 'number' }),
  },
  (t) => [
    index('audit_log_entity_idx').on(t.entityType, t.entityId, t.id),
    index('audit_log_at_idx').on(t.at),
    uniqueIndex('audit_log_chain_uq').on(t.chainPosition),
    // DC-9: the retention purge walks the entries whose details are still there, oldest first.
    index('audit_log_unerased_idx')
      .on(t.at, t.id)
      .where(sql`${t.detailsErasedAt} is null`),
  ],
);

export type AuditEntry = typeof auditLog.$inferSelect;
