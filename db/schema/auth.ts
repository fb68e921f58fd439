import { index, pgTable, text, timestamp, uniqueIndex, uuid, varchar } from 'drizzle-orm/pg-core';
import { parties } from './parties.js';
import { gridUsers } from './connections.js';

import { ROLES, type Role } from '../../domain/visibility.js';

export { ROLES, type Role };

/**
 * API keys. Only the SHA-256 of a key is stored: keys are 32 random bytes, so a fast hash is
 * enough (no dictionary to protect against) and keeps authentication off the P4 hot path's budget.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    keyHash: varchar('key_hash', { length: 64 }).notNull(),
    /** First characters of the key, to recognise it in listings and logs without revealing it. */
    prefix: varchar('prefix', { length: 12 }).notNull(),
    label: text('label').notNull(),
    /** The person the key is issued to; audit entries name them (actor_name), falling back to the label. */
    holderName: text('holder_name'),
    role: text('role').$type<Role>().notNull(),
    /** The grid operator (case-handler) or the party (supplier, p4-client, brp) the key acts for. */
    partyId: uuid('party_id').references(() => parties.id),
    /** The grid user the key acts for (grid-user role). */
    gridUserId: uuid('grid_user_id').references(() => gridUsers.id),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('api_keys_hash_uq').on(t.keyHash), index('api_keys_party_idx').on(t.partyId)],
);

export type ApiKey = typeof apiKeys.$inferSelect;
