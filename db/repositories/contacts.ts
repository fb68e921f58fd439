/**
 * CPR contact register (GT-10): contact persons per party in contact groups. Each party maintains its
 * own contacts; the doubt-case workflow mails the "Gerede twijfel Klantmandaat" group.
 */
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { contactPersons, DOUBT_CONTACT_GROUP, parties, type ContactPerson } from '../schema/index.js';
import { conflict, notFound } from '../../lib/errors.js';
import { recordAudit } from './audit.js';
import { auditActor, type Actor } from './actor.js';

/** GT-10: the active contacts of a party's doubt contact group, by name (empty when none). */
export async function doubtContacts(db: DbOrTx, partyId: string): Promise<ContactPerson[]> {
  return listContacts(db, partyId, { group: DOUBT_CONTACT_GROUP });
}

export async function listContacts(
  db: DbOrTx,
  partyId: string,
  opts: { group?: string; includeRemoved?: boolean } = {},
): Promise<ContactPerson[]> {
  const where = [eq(contactPersons.partyId, partyId)];
  if (opts.group) where.push(eq(contactPersons.contactGroup, opts.group));
  if (!opts.includeRemoved) where.push(isNull(contactPersons.removedAt));
  return db
    .select()
    .from(contactPersons)
    .where(and(...where))
    .orderBy(asc(contactPersons.contactGroup), asc(contactPersons.name), asc(contactPersons.id));
}

export interface ContactInput {
  contactGroup: string;
  name: string;
  email: string;
  phone?: string | null;
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.code === '23505' || e?.cause?.code === '23505';
}

export async function addContact(
  db: DbOrTx,
  actor: Actor,
  partyId: string,
  input: ContactInput,
): Promise<ContactPerson> {
  return db.transaction(async (tx) => {
    const [party] = await tx.select({ id: parties.id }).from(parties).where(eq(parties.id, partyId));
    if (!party) throw notFound('party_not_found', `No party ${partyId}`);
    const [dup] = await tx
      .select({ id: contactPersons.id })
      .from(contactPersons)
      .where(
        and(
          eq(contactPersons.partyId, partyId),
          eq(contactPersons.contactGroup, input.contactGroup),
          sql`lower(${contactPersons.email}) = lower(${input.email})`,
          isNull(contactPersons.removedAt),
        ),
      );
    if (dup)
      throw conflict('contact_exists', `${input.email} is already in contact group ${input.contactGroup}`, 'email', {
        id: dup.id,
      });
    let row: ContactPerson | undefined;
    try {
      [row] = await tx
        .insert(contactPersons)
        .values({
          partyId,
          contactGroup: input.contactGroup,
          name: input.name,
          email: input.email,
          phone: input.phone ?? null,
        })
        .returning();
    } catch (err) {
      if (isUniqueViolation(err))
        throw conflict('contact_exists', `${input.email} is already in contact group ${input.contactGroup}`, 'email');
      throw err;
    }
    if (!row) throw new Error('contact insert returned nothing');
    await recordAudit(tx, {
      ...auditActor(actor),
      action: 'contact.added',
      entityType: 'party',
      entityId: partyId,
      data: { contactId: row.id, contactGroup: row.contactGroup, name: row.name, email: row.email, rule: 'GT-10' },
    });
    return row;
  });
}

/** Update name/email/phone of an active contact of the party (404 when it is not the party's). */
export async function updateContact(
  db: DbOrTx,
  actor: Actor,
  partyId: string,
  contactId: string,
  patch: Partial<Omit<ContactInput, 'contactGroup'>>,
): Promise<ContactPerson> {
  return db.transaction(async (tx) => {
    const [existing] = await tx
      .select()
      .from(contactPersons)
      .where(
        and(eq(contactPersons.id, contactId), eq(contactPersons.partyId, partyId), isNull(contactPersons.removedAt)),
      )
      .for('update');
    if (!existing) throw notFound('contact_not_found', `No contact ${contactId}`);
    let row: ContactPerson | undefined;
    try {
      [row] = await tx
        .update(contactPersons)
        .set({
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(patch.email !== undefined ? { email: patch.email } : {}),
          ...(patch.phone !== undefined ? { phone: patch.phone } : {}),
        })
        .where(eq(contactPersons.id, contactId))
        .returning();
    } catch (err) {
      if (isUniqueViolation(err))
        throw conflict(
          'contact_exists',
          `${patch.email} is already in contact group ${existing.contactGroup}`,
          'email',
        );
      throw err;
    }
    if (!row) throw new Error('contact update returned nothing');
    await recordAudit(tx, {
      ...auditActor(actor),
      action: 'contact.updated',
      entityType: 'party',
      entityId: partyId,
      data: {
        contactId,
        before: { name: existing.name, email: existing.email, phone: existing.phone },
        after: { name: row.name, email: row.email, phone: row.phone },
      },
    });
    return row;
  });
}

/** Soft-remove (the audit trail keeps who was contacted when). Idempotent for an already removed contact. */
export async function removeContact(
  db: DbOrTx,
  actor: Actor,
  partyId: string,
  contactId: string,
  at = new Date(),
): Promise<ContactPerson> {
  return db.transaction(async (tx) => {
    const [existing] = await tx
      .select()
      .from(contactPersons)
      .where(and(eq(contactPersons.id, contactId), eq(contactPersons.partyId, partyId)))
      .for('update');
    if (!existing) throw notFound('contact_not_found', `No contact ${contactId}`);
    if (existing.removedAt) return existing;
    const [row] = await tx
      .update(contactPersons)
      .set({ removedAt: at })
      .where(eq(contactPersons.id, contactId))
      .returning();
    if (!row) throw new Error('contact update returned nothing');
    await recordAudit(tx, {
      ...auditActor(actor),
      action: 'contact.removed',
      entityType: 'party',
      entityId: partyId,
      data: { contactId, contactGroup: existing.contactGroup, email: existing.email },
    });
    return row;
  });
}
