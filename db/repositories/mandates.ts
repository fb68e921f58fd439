/**
 * Mandates (DC-2): party, connection, data kinds, purpose, access period, history consent, how and by
 * whom granted. DC-3: granted by someone other than the grid user, a mandate stays pending until the
 * grid user confirms. DC-4: revocation by the grid user, withdrawal by the party, end on a customer
 * switch (connections.ts) and when the party loses its access conditions (parties.ts). Expiry is not a
 * stored state: a mandate past valid_to is expired by definition.
 */
import { and, arrayOverlaps, asc, count, desc, eq, gt, inArray, isNull, lt, or, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import {
  blocks,
  connections,
  doubtCases,
  mandates,
  parties,
  type DataKind,
  type Mandate,
  type MandateEndReason,
  MANDATE_GRANTED_VIA,
} from '../schema/index.js';
import { conflict, invalidState, notFound, validationError } from '../../lib/errors.js';
import { recordAudit } from './audit.js';
import { auditActor, type Actor } from './actor.js';
import { registrationStatus } from '../../domain/mandate.js';

export type GrantedVia = (typeof MANDATE_GRANTED_VIA)[number];

/** The state a reader sees: stored status plus the clock (expiry, not yet valid). */
export type MandateState = 'pending_confirmation' | 'active' | 'not_yet_valid' | 'expired' | 'ended';

export function mandateState(m: Pick<Mandate, 'status' | 'validFrom' | 'validTo'>, now: Date): MandateState {
  if (m.status === 'ended') return 'ended';
  if (m.status === 'pending_confirmation') return 'pending_confirmation';
  if (now >= m.validTo) return 'expired';
  if (now < m.validFrom) return 'not_yet_valid';
  return 'active';
}

export interface MandateInput {
  partyId: string;
  connectionEan: string;
  dataKinds: DataKind[];
  purpose: string;
  validFrom: Date;
  validTo: Date;
  historyIncluded: boolean;
  grantedVia: GrantedVia;
  grantedByName: string;
  /**
   * DC-3: false keeps the mandate pending until the grid user confirms. The party's word: after a negative
   * outcome on the connection (GT-8b) the mandate waits for the grid user's confirmation all the same.
   */
  grantedByIsGridUser: boolean;
  /** The grid user registers it themself with their own key (the portal): their confirmation is the act itself. */
  registeredByGridUser?: boolean;
}

/**
 * GT-8b: does the party's doubt case on this connection stand closed "mandate not demonstrated" with its block
 * kept? The same condition as the gate's kept block (domain/gate.ts lastKept, decideAndRegister's kept_block).
 */
async function afterNegativeOutcome(db: DbOrTx, partyId: string, connectionEan: string): Promise<boolean> {
  const [kept] = await db
    .select({ id: blocks.id })
    .from(blocks)
    .innerJoin(doubtCases, eq(doubtCases.id, blocks.caseId))
    .where(
      and(
        eq(blocks.partyId, partyId),
        eq(blocks.connectionEan, connectionEan),
        isNull(blocks.endedAt),
        eq(doubtCases.status, 'closed_mandate_not_demonstrated'),
      ),
    )
    .limit(1);
  return kept !== undefined;
}

const OPEN: SQL = or(eq(mandates.status, 'active'), eq(mandates.status, 'pending_confirmation'))!;

/**
 * Register a mandate. Refused (nothing written) when the period ends before it starts or already lies
 * in the past, the party is not a supplier or service provider or is not admitted (DC-4), the
 * connection is unknown, or an open mandate of the same party on the same connection overlaps in both
 * period and data kinds (a duplicate: the existing one must be withdrawn or expire first).
 */
export async function createMandate(db: DbOrTx, actor: Actor, input: MandateInput, now = new Date()): Promise<Mandate> {
  if (!(input.validTo > input.validFrom))
    throw validationError('period_invalid', 'validTo must be later than validFrom', 'validTo');
  if (input.validTo <= now)
    throw validationError('period_in_past', 'validTo lies in the past: such a mandate gives no access', 'validTo');
  const kinds = [...new Set(input.dataKinds)];
  if (kinds.length === 0)
    throw validationError('data_kinds_required', 'At least one data kind is required', 'dataKinds');
  return db.transaction(async (tx) => {
    const [party] = await tx.select().from(parties).where(eq(parties.id, input.partyId));
    if (!party) throw notFound('party_not_found', `No party ${input.partyId}`, 'partyId');
    if (!party.roles.includes('supplier') && !party.roles.includes('service_provider')) {
      throw validationError('party_role_mismatch', 'Only suppliers and service providers hold mandates', 'partyId');
    }
    if (!party.admitted)
      throw invalidState('party_not_admitted', 'The party does not meet the access conditions (DC-4)');
    // Lock the connection: concurrent registrations for it are serialised, so the overlap check holds.
    const [conn] = await tx
      .select({ ean: connections.ean })
      .from(connections)
      .where(eq(connections.ean, input.connectionEan))
      .for('update');
    if (!conn) throw notFound('connection_not_found', `No connection ${input.connectionEan}`, 'connectionEan');
    const [dup] = await tx
      .select({ id: mandates.id })
      .from(mandates)
      .where(
        and(
          eq(mandates.partyId, input.partyId),
          eq(mandates.connectionEan, input.connectionEan),
          OPEN,
          lt(mandates.validFrom, input.validTo),
          gt(mandates.validTo, input.validFrom),
          arrayOverlaps(mandates.dataKinds, kinds),
        ),
      )
      .limit(1);
    if (dup) {
      throw conflict(
        'mandate_overlap',
        'An open mandate of this party on this connection already covers part of this period and these data kinds',
        'body',
        { mandateId: dup.id },
      );
    }
    // DC-3, GT-8b (domain/mandate.ts registrationStatus): active on the party's declaration only where no
    // negative outcome stands against it on this connection.
    const negative = await afterNegativeOutcome(tx, input.partyId, input.connectionEan);
    const reg = registrationStatus({
      grantedByIsGridUser: input.grantedByIsGridUser,
      afterNegativeOutcome: negative,
      registeredByGridUser: input.registeredByGridUser === true,
    });
    const active = reg.status === 'active';
    const [row] = await tx
      .insert(mandates)
      .values({
        partyId: input.partyId,
        connectionEan: input.connectionEan,
        dataKinds: kinds,
        purpose: input.purpose,
        validFrom: input.validFrom,
        validTo: input.validTo,
        historyIncluded: input.historyIncluded,
        grantedVia: input.grantedVia,
        grantedByName: input.grantedByName,
        grantedByIsGridUser: input.grantedByIsGridUser,
        status: reg.status,
        confirmedAt: active ? now : null,
        confirmedBy: reg.confirmedBy,
        createdBy: actor.actor,
      })
      .returning();
    if (!row) throw new Error('mandate insert returned nothing');
    await recordAudit(tx, {
      ...auditActor(actor),
      action: 'mandate.created',
      entityType: 'mandate',
      entityId: row.id,
      data: {
        partyId: row.partyId,
        connectionEan: row.connectionEan,
        dataKinds: row.dataKinds,
        validFrom: row.validFrom.toISOString(),
        validTo: row.validTo.toISOString(),
        historyIncluded: row.historyIncluded,
        grantedVia: row.grantedVia,
        grantedByIsGridUser: row.grantedByIsGridUser,
        status: row.status,
        ...(negative ? { afterNegativeOutcome: true } : {}),
        confirmedBy: row.confirmedBy,
        rule: active ? 'DC-2' : negative ? 'GT-8b, DC-3' : 'DC-3',
      },
    });
    return row;
  });
}

export async function getMandate(db: DbOrTx, id: string): Promise<Mandate | undefined> {
  const [row] = await db.select().from(mandates).where(eq(mandates.id, id));
  return row;
}

export interface MandateFilter {
  partyId?: string;
  connectionEan?: string;
  gridOperatorId?: string;
  gridUserId?: string;
  status?: Mandate['status'];
  limit: number;
  offset: number;
}

export async function listMandates(db: DbOrTx, f: MandateFilter): Promise<{ items: Mandate[]; total: number }> {
  const where: SQL[] = [];
  if (f.partyId) where.push(eq(mandates.partyId, f.partyId));
  if (f.connectionEan) where.push(eq(mandates.connectionEan, f.connectionEan));
  if (f.status) where.push(eq(mandates.status, f.status));
  if (f.gridOperatorId) where.push(eq(connections.gridOperatorId, f.gridOperatorId));
  if (f.gridUserId) where.push(eq(connections.gridUserId, f.gridUserId));
  const cond = where.length ? and(...where) : undefined;
  const rows = await db
    .select({ m: mandates })
    .from(mandates)
    .innerJoin(connections, eq(connections.ean, mandates.connectionEan))
    .where(cond)
    .orderBy(desc(mandates.createdAt), asc(mandates.id))
    .limit(f.limit)
    .offset(f.offset);
  const [total] = await db
    .select({ n: count() })
    .from(mandates)
    .innerJoin(connections, eq(connections.ean, mandates.connectionEan))
    .where(cond);
  return { items: rows.map((r) => r.m), total: total?.n ?? 0 };
}

/** The mandate if the grid user is the grid user of its connection now; else undefined. */
async function mandateOfGridUser(db: DbOrTx, gridUserId: string, mandateId: string): Promise<Mandate | undefined> {
  const [row] = await db
    .select({ m: mandates })
    .from(mandates)
    .innerJoin(connections, eq(connections.ean, mandates.connectionEan))
    .where(and(eq(mandates.id, mandateId), eq(connections.gridUserId, gridUserId)))
    .for('update', { of: mandates });
  return row?.m;
}

/**
 * DC-3: the grid user confirms a mandate. Idempotent for one they confirmed. One active on the party's
 * declaration that the grid user granted it gets the grid user's own confirmation recorded (what GT-8b asks
 * after a negative outcome, domain/mandate.ts gridUserMustConfirm).
 */
export async function confirmMandate(
  db: DbOrTx,
  actor: Actor,
  gridUserId: string,
  mandateId: string,
  now = new Date(),
): Promise<Mandate> {
  return db.transaction(async (tx) => {
    const m = await mandateOfGridUser(tx, gridUserId, mandateId);
    if (!m) throw notFound('mandate_not_found', `No mandate ${mandateId}`, 'mandateId');
    if (m.status === 'active' && m.confirmedBy === 'grid_user') return m;
    if (m.status === 'ended') throw invalidState('mandate_ended', 'The mandate has ended and cannot be confirmed');
    if (now >= m.validTo) throw invalidState('mandate_expired', 'The mandate’s access period has ended');
    const [row] = await tx
      .update(mandates)
      .set({ status: 'active', confirmedAt: now, confirmedBy: 'grid_user' })
      .where(eq(mandates.id, m.id))
      .returning();
    if (!row) throw new Error('mandate update returned nothing');
    await recordAudit(tx, {
      ...auditActor(actor),
      action: 'mandate.confirmed',
      entityType: 'mandate',
      entityId: m.id,
      data: { rule: 'DC-3' },
    });
    return row;
  });
}

async function endMandate(db: DbOrTx, actor: Actor, m: Mandate, reason: MandateEndReason, now: Date): Promise<Mandate> {
  if (m.status === 'ended') return m; // idempotent
  const [row] = await db
    .update(mandates)
    .set({ status: 'ended', endedAt: now, endReason: reason })
    .where(eq(mandates.id, m.id))
    .returning();
  if (!row) throw new Error('mandate update returned nothing');
  await recordAudit(db, {
    ...auditActor(actor),
    action: 'mandate.ended',
    entityType: 'mandate',
    entityId: m.id,
    data: { reason, rule: 'DC-4' },
  });
  return row;
}

/** DC-4: the grid user revokes (or declines, when pending) a mandate on their connection. */
export async function revokeMandate(
  db: DbOrTx,
  actor: Actor,
  gridUserId: string,
  mandateId: string,
  now = new Date(),
): Promise<Mandate> {
  return db.transaction(async (tx) => {
    const m = await mandateOfGridUser(tx, gridUserId, mandateId);
    if (!m) throw notFound('mandate_not_found', `No mandate ${mandateId}`, 'mandateId');
    return endMandate(tx, actor, m, 'revoked_by_grid_user', now);
  });
}

/** The party withdraws its own mandate (`partyId` null: an admin acting for it). */
export async function withdrawMandate(
  db: DbOrTx,
  actor: Actor,
  partyId: string | null,
  mandateId: string,
  now = new Date(),
): Promise<Mandate> {
  return db.transaction(async (tx) => {
    const [m] = await tx.select().from(mandates).where(eq(mandates.id, mandateId)).for('update');
    if (!m || (partyId !== null && m.partyId !== partyId))
      throw notFound('mandate_not_found', `No mandate ${mandateId}`, 'mandateId');
    return endMandate(tx, actor, m, 'withdrawn_by_party', now);
  });
}

/** DC-4: the grid user stops a party's access to their connection: every open mandate of it ends. */
export async function stopPartyAccess(
  db: DbOrTx,
  actor: Actor,
  connectionEan: string,
  partyId: string,
  now = new Date(),
): Promise<Mandate[]> {
  return db.transaction(async (tx) => {
    const ended = await tx
      .update(mandates)
      .set({ status: 'ended', endedAt: now, endReason: 'revoked_by_grid_user' })
      .where(
        and(eq(mandates.connectionEan, connectionEan), eq(mandates.partyId, partyId), OPEN, isNull(mandates.endedAt)),
      )
      .returning();
    await recordAudit(tx, {
      ...auditActor(actor),
      action: 'access.stopped',
      entityType: 'connection',
      entityId: connectionEan,
      data: { partyId, mandatesEnded: ended.map((m) => m.id), rule: 'DC-4' },
    });
    return ended;
  });
}

export async function mandatesByIds(db: DbOrTx, ids: string[]): Promise<Mandate[]> {
  if (ids.length === 0) return [];
  return db.select().from(mandates).where(inArray(mandates.id, ids));
}
