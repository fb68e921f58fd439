import { index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * Idempotency-Key of the case actions (IETF draft httpapi-idempotency-key-header; services/idempotency/):
 * one row per (principal, key). `in_progress` while the first request holds it (owner, until lease_until),
 * `done` with the first outcome, replayed to every repeat. Where the action writes the database, `done` is
 * recorded in the same transaction as its write, so a request answered 503 after its commit cannot write
 * twice when repeated. Removed after expires_at by the retention purge (services/retention/purge.ts).
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    /** The authenticated principal (API key id): a key is only ever matched against its own principal's. */
    principal: text('principal').notNull(),
    key: text('key').notNull(),
    /** sha-256 of method, route, path parameters and body: the same key with another request is 422. */
    fingerprint: text('fingerprint').notNull(),
    status: text('status').$type<'in_progress' | 'done'>().notNull(),
    /** The request that holds an in_progress key (a random token per attempt). */
    owner: uuid('owner').notNull(),
    leaseUntil: timestamp('lease_until', { withTimezone: true }).notNull(),
    responseStatus: integer('response_status'),
    responseBody: jsonb('response_body'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.principal, t.key] }), index('idempotency_keys_expires_idx').on(t.expiresAt)],
);

export type IdempotencyKeyRow = typeof idempotencyKeys.$inferSelect;
