import { index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { parties } from './parties.js';
import type { Role } from '../../domain/visibility.js';

/**
 * People who work in the console (issue 19), each known by the OpenID Connect provider of their grid operator:
 * (issuer, subject) is who they are; the grid operator is the one the issuer speaks for by configuration (never a
 * claim); roles are mapped from the provider's groups at every sign-in. Their acts are audited as `user:<id>`
 * (the audit chain trigger names them from this table).
 */
export const people = pgTable(
  'people',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    issuer: text('issuer').notNull(),
    subject: text('subject').notNull(),
    name: text('name').notNull(),
    email: text('email'),
    gridOperatorId: uuid('grid_operator_id')
      .notNull()
      .references(() => parties.id),
    /** Mapped at the last sign-in; empty: the provider named no group this console knows (the person sees nothing). */
    roles: text('roles').array().$type<Role[]>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastSignInAt: timestamp('last_sign_in_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('people_issuer_subject_uq').on(t.issuer, t.subject)],
);

export type Person = typeof people.$inferSelect;

/**
 * Console sessions, server-side (@fastify/session's store: services/people/sessions.ts). The browser holds only
 * the signed session id; tokens never leave the server (and are not kept: the console needs the identity, not
 * the provider's APIs). A row ends at idle_expires_at (moved on each use) or absolute_expires_at (fixed at sign-in),
 * when deleted (sign-out, revocation, OIDC back-channel logout by the provider's `sid` or the person).
 */
export const consoleSessions = pgTable(
  'console_sessions',
  {
    sid: text('sid').primaryKey(),
    /**
     * The session's handle on the sessions page (issue 19: revocable): the sid itself is the bearer secret the
     * signed cookie carries, so it never appears in a page or the audit chain; this id does.
     */
    id: uuid('id').notNull().defaultRandom(),
    personId: uuid('person_id').references(() => people.id, { onDelete: 'cascade' }),
    /** The provider's session id (`sid` claim), for back-channel logout. */
    oidcSid: text('oidc_sid'),
    issuer: text('issuer'),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** The last request in this session (each one saves it: rolling sessions). */
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
    /** The browser's User-Agent at sign-in (at most 300 characters), summarised on the sessions page. */
    userAgent: text('user_agent'),
    idleExpiresAt: timestamp('idle_expires_at', { withTimezone: true }).notNull(),
    absoluteExpiresAt: timestamp('absolute_expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    uniqueIndex('console_sessions_id_uq').on(t.id),
    index('console_sessions_person_idx').on(t.personId),
    index('console_sessions_oidc_sid_idx').on(t.issuer, t.oidcSid),
    index('console_sessions_expiry_idx').on(t.idleExpiresAt),
  ],
);

export type ConsoleSession = typeof consoleSessions.$inferSelect;
