/**
 * GT-10, seed 000 §4: a party looks up the doubt contact group of the other side of a case it has (open or
 * closed) to consult it. Whether it may is domain/visibility.ts doubtContactsVisibleTo; another party's
 * contacts it may not see are answered as absent. A lookup of another party's contacts (personal data of its
 * staff) is recorded: who looked, whose group, which contacts it was shown.
 */
import type { Db } from '../../db/client.js';
import type { Actor } from '../../db/repositories/actor.js';
import { auditActor } from '../../db/repositories/actor.js';
import { recordAudit } from '../../db/repositories/audit.js';
import { hasCaseBetween } from '../../db/repositories/cases.js';
import { doubtContacts } from '../../db/repositories/contacts.js';
import { requirePartyByGln } from '../../db/repositories/parties.js';
import { DOUBT_CONTACT_GROUP, type ContactPerson, type Party } from '../../db/schema/index.js';
import { counterpartCase, doubtContactsVisibleTo, type Principal } from '../../domain/visibility.js';
import { notFound } from '../../lib/errors.js';

export async function lookUpDoubtContacts(
  db: Db,
  by: Principal & Actor,
  gln: string,
): Promise<{ party: Party; contacts: ContactPerson[] }> {
  const party = await requirePartyByGln(db, gln, 'gln');
  const sides = counterpartCase(by, party);
  const caseBetween = sides !== null && (await hasCaseBetween(db, sides));
  if (!doubtContactsVisibleTo(by, party, caseBetween))
    throw notFound(
      'contact_group_not_found',
      `No doubt contact group of ${gln} for this key: a party sees its own, and that of the other side of a case it has`,
      'gln',
    );
  const contacts = await doubtContacts(db, party.id);
  if (by.partyId !== party.id)
    await recordAudit(db, {
      ...auditActor(by),
      action: 'contact_group.consulted',
      entityType: 'party',
      entityId: party.id,
      data: { contactGroup: DOUBT_CONTACT_GROUP, contacts: contacts.map((c) => c.id) },
    });
  return { party, contacts };
}
