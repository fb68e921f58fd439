import { type AnyPgColumn, index, pgTable, text, timestamp, uniqueIndex, uuid, varchar } from 'drizzle-orm/pg-core';
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
    /** Refused from this instant on; null: no expiry (keys made before issue 20 keep working until rotated). */
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    /** Last authenticated use, written at most once per AUTH_LAST_USED_FLUSH_MS per key (api/plugins/last-used.ts). */
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    /** The key this one replaced (overlapping rotation: the old one stays valid until its expires_at). */
    rotatedFromId: uuid('rotated_from_id').references((): AnyPgColumn => apiKeys.id),
  },
  (t) => [uniqueIndex('api_keys_hash_uq').on(t.keyHash), index('api_keys_party_idx').on(t.partyId)],
);

export type ApiKey = typeof apiKeys.$inferSelect;

/**
 * Client certificates of machine clients (P4 clients, suppliers' systems): mutual TLS as the sector does for
 * B2B traffic (PKIoverheid private). A certificate is registered to a party and role by the SHA-256 fingerprint
 * of its DER encoding; the TLS layer (API or ingress) proves possession of its private key. Refused after
 * not_after (the certificate's own, or earlier when registered so) and once revoked.
 */
export const clientCertificates = pgTable(
  'client_certificates',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** SHA-256 of the DER certificate, 64 lower-case hex digits (no colons). */
    fingerprint: varchar('fingerprint', { length: 64 }).notNull(),
    subject: text('subject').notNull(),
    issuer: text('issuer').notNull(),
    serialNumber: text('serial_number').notNull(),
    label: text('label').notNull(),
    role: text('role').$type<Role>().notNull(),
    partyId: uuid('party_id').references(() => parties.id),
    notAfter: timestamp('not_after', { withTimezone: true }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('client_certificates_fingerprint_uq').on(t.fingerprint),
    index('client_certificates_party_idx').on(t.partyId),
  ],
);

export type ClientCertificate = typeof clientCertificates.$inferSelect;
