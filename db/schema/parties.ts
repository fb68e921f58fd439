import { sql } from 'drizzle-orm';
import { boolean, index, pgTable, text, timestamp, uniqueIndex, uuid, varchar } from 'drizzle-orm/pg-core';

/** Market roles a party can hold (glossary: leverancier, dienstenaanbieder, netbeheerder, BRP). */
export const PARTY_ROLES = ['supplier', 'service_provider', 'grid_operator', 'balance_responsible_party'] as const;
export type PartyRole = (typeof PARTY_ROLES)[number];

/** The CPR contact group that receives all doubt-case communication (GT-10). */
export const DOUBT_CONTACT_GROUP = 'gerede-twijfel-klantmandaat';

export const parties = pgTable(
  'parties',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** 13-digit GLN/EAN with GS1 check digit. */
    gln: varchar('gln', { length: 13 }).notNull(),
    name: text('name').notNull(),
    roles: text('roles').array().$type<PartyRole[]>().notNull(),
    /** DC-4: a party that no longer meets the access conditions loses access on every connection. */
    admitted: boolean('admitted').notNull().default(true),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('parties_gln_uq').on(t.gln)],
);

/** CPR (ContactPersonenRegister): contact persons per party, organised in contact groups (GT-10). */
export const contactPersons = pgTable(
  'contact_persons',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    partyId: uuid('party_id')
      .notNull()
      .references(() => parties.id),
    contactGroup: text('contact_group').notNull(),
    name: text('name').notNull(),
    email: text('email').notNull(),
    phone: text('phone'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    removedAt: timestamp('removed_at', { withTimezone: true }),
  },
  (t) => [
    index('contact_persons_party_group_idx').on(t.partyId, t.contactGroup),
    uniqueIndex('contact_persons_active_uq')
      .on(t.partyId, t.contactGroup, sql`lower(${t.email})`)
      .where(sql`${t.removedAt} is null`),
  ],
);

export type Party = typeof parties.$inferSelect;
export type ContactPerson = typeof contactPersons.$inferSelect;
