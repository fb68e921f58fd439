/**
 * Market parties (suppliers, service providers, grid operators, balance responsible parties),
 * identified by a 13-digit GLN with its GS1 check digit.
 */
import { and, arrayContains, asc, count, eq, inArray, isNull, or, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { mandates, parties, type Party, type PartyRole } from '../schema/index.js';
import { conflict, notFound, validationError } from '../../lib/errors.js';
import { isValidGln13 } from '../../lib/gs1.js';
import { recordAudit } from './audit.js';
import { auditActor, type Actor } from './actor.js';

export function assertGln(gln: string, field = 'gln'): void {
  if (!isValidGln13(gln))
    throw validationError('invalid_gln', `${gln} is not a 13-digit GLN with a valid GS1 check digit`, field);
}

export async function getPartyById(db: DbOrTx, id: string): Promise<Party | undefined> {
  const [row] = await db.select().from(parties).where(eq(parties.id, id));
  return row;
}

export async function getPartyByGln(db: DbOrTx, gln: string): Promise<Party | undefined> {
  const [row] = await db.select().from(parties).where(eq(parties.gln, gln));
  return row;
}

/** A party by GLN, or a 404-kind error naming `field` (validates the check digit first). */
export async function requirePartyByGln(db: DbOrTx, gln: string, field: string): Promise<Party> {
  assertGln(gln, field);
  const party = await getPartyByGln(db, gln);
  if (!party) throw notFound('party_not_found', `No party with GLN ${gln}`, field);
  return party;
}

export async function listParties(
  db: DbOrTx,
  f: { role?: PartyRole; limit: number; offset: number },
): Promise<{ items: Party[]; total: number }> {
  const cond = f.role ? arrayContains(parties.roles, [f.role]) : undefined;
  const items = await db
    .select()
    .from(parties)
    .where(cond)
    .orderBy(asc(parties.name), asc(parties.gln))
    .limit(f.limit)
    .offset(f.offset);
  const [total] = await db.select({ n: count() }).from(parties).where(cond);
  return { items, total: total?.n ?? 0 };
}

export interface PartyInput {
  gln: string;
  name: string;
  roles: PartyRole[];
}

export async function createParty(db: DbOrTx, actor: Actor, input: PartyInput): Promise<Party> {
  assertGln(input.gln, 'gln');
  if (input.roles.length === 0) throw validationError('roles_required', 'A party needs at least one role', 'roles');
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(parties)
      .values({ gln: input.gln, name: input.name, roles: [...new Set(input.roles)] })
      .onConflictDoNothing({ target: parties.gln })
      .returning();
    if (!row) throw conflict('party_exists', `A party with GLN ${input.gln} already exists`, 'gln');
    await recordAudit(tx, {
      ...auditActor(actor),
      action: 'party.created',
      entityType: 'party',
      entityId: row.id,
      data: { gln: row.gln, name: row.name, roles: row.roles },
    });
    return row;
  });
}

export interface PartyPatch {
  name?: string;
  roles?: PartyRole[];
  /** DC-4: false ends every mandate of the party at once. */
  admitted?: boolean;
}

/**
 * Update a party. Withdrawing admission (DC-4) ends all its open mandates in the same transaction;
 * the gate also denies the party directly while it is not admitted.
 */
export async function updateParty(
  db: DbOrTx,
  actor: Actor,
  partyId: string,
  patch: PartyPatch,
  at = new Date(),
): Promise<{ party: Party; mandatesEnded: number }> {
  if (patch.roles && patch.roles.length === 0)
    throw validationError('roles_required', 'A party needs at least one role', 'roles');
  return db.transaction(async (tx) => {
    const [existing] = await tx.select().from(parties).where(eq(parties.id, partyId)).for('update');
    if (!existing) throw notFound('party_not_found', `No party ${partyId}`);
    const [row] = await tx
      .update(parties)
      .set({
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.roles !== undefined ? { roles: [...new Set(patch.roles)] } : {}),
        ...(patch.admitted !== undefined ? { admitted: patch.admitted } : {}),
        updatedAt: at,
      })
      .where(eq(parties.id, partyId))
      .returning();
    if (!row) throw new Error('party update returned nothing');
    let mandatesEnded = 0;
    if (existing.admitted && patch.admitted === false) {
      mandatesEnded = await endAllMandatesOfParty(tx, actor, partyId, at);
    }
    await recordAudit(tx, {
      ...auditActor(actor),
      action: 'party.updated',
      entityType: 'party',
      entityId: partyId,
      data: {
        before: { name: existing.name, roles: existing.roles, admitted: existing.admitted },
        after: { name: row.name, roles: row.roles, admitted: row.admitted },
        ...(mandatesEnded ? { mandatesEnded, rule: 'DC-4' } : {}),
      },
    });
    return { party: row, mandatesEnded };
  });
}

/** DC-4: a party that no longer meets the access conditions loses access on every connection. */
async function endAllMandatesOfParty(db: DbOrTx, actor: Actor, partyId: string, at: Date): Promise<number> {
  const open: SQL = or(eq(mandates.status, 'active'), eq(mandates.status, 'pending_confirmation'))!;
  const ended = await db
    .update(mandates)
    .set({ status: 'ended', endedAt: at, endReason: 'party_not_admitted' })
    .where(and(eq(mandates.partyId, partyId), open, isNull(mandates.endedAt)))
    .returning({ id: mandates.id });
  if (ended.length > 0) {
    await recordAudit(db, {
      ...auditActor(actor),
      action: 'mandates.ended',
      entityType: 'party',
      entityId: partyId,
      data: {
        reason: 'party_not_admitted',
        rule: 'DC-4',
        count: ended.length,
        mandateIds: ended.slice(0, 1000).map((m) => m.id),
      },
    });
  }
  return ended.length;
}

export async function partiesByIds(db: DbOrTx, ids: string[]): Promise<Map<string, Party>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const rows = await db.select().from(parties).where(inArray(parties.id, unique));
  return new Map(rows.map((p) => [p.id, p]));
}
