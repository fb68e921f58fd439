import { bigserial, index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * Every state change, with who and when. Written in the same transaction as the change it
 * describes, so the trail can never disagree with the data. A doubt case's timeline is the
 * entries with entity_type 'case' and its id (plus its archived Temporal history).
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
  },
  (t) => [index('audit_log_entity_idx').on(t.entityType, t.entityId, t.id), index('audit_log_at_idx').on(t.at)],
);

export type AuditEntry = typeof auditLog.$inferSelect;
