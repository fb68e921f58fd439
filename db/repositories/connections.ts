/**
 * Connections (18-digit EAN with GS1 check digit), their grid users, and the events that change the
 * supplier or customer (DC-4: a customer switch ends access).
 */
import { and, asc, count, desc, eq, isNull, or, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import {
  connectionEvents,
  connections,
  gridUsers,
  mandates,
  type Connection,
  type ConnectionEvent,
  type ConnectionEventKind,
  type GridUser,
  type Party,
  type PartyRole,
} from '../schema/index.js';
import { conflict, notFound, validationError } from '../../lib/errors.js';
import { isValidEan18 } from '../../lib/gs1.js';
import { recordAudit } from './audit.js';
import { auditActor, type Actor } from './actor.js';
import { requirePartyByGln } from './parties.js';
import { assertBrpForSupplied, recordPartyChange } from './connection-parties.js';
import { insertAllocationBasis, type AllocationBasisInput } from './allocation.js';

export function assertEan(ean: string, field = 'connectionEan'): void {
  if (!isValidEan18(ean))
    throw validationError('invalid_ean', `${ean} is not an 18-digit EAN with a valid GS1 check digit`, field);
}

// ----- grid users -----------------------------------------------------------------------------

export async function createGridUser(
  db: DbOrTx,
  actor: Actor,
  input: { name: string; email?: string | null },
): Promise<GridUser> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(gridUsers)
      .values({ name: input.name, email: input.email ?? null })
      .returning();
    if (!row) throw new Error('grid user insert returned nothing');
    await recordAudit(tx, {
      ...auditActor(actor),
      action: 'grid_user.created',
      entityType: 'grid_user',
      entityId: row.id,
      data: { name: row.name },
    });
    return row;
  });
}

export async function getGridUser(db: DbOrTx, id: string): Promise<GridUser | undefined> {
  const [row] = await db.select().from(gridUsers).where(eq(gridUsers.id, id));
  return row;
}

async function requireGridUser(db: DbOrTx, id: string, field: string): Promise<GridUser> {
  const u = await getGridUser(db, id);
  if (!u) throw notFound('grid_user_not_found', `No grid user ${id}`, field);
  return u;
}

// ----- connections ----------------------------------------------------------------------------

async function partyInRole(db: DbOrTx, gln: string, role: PartyRole, field: string): Promise<Party> {
  const party = await requirePartyByGln(db, gln, field);
  if (!party.roles.includes(role))
    throw validationError('party_role_mismatch', `Party ${gln} does not hold the role ${role}`, field);
  return party;
}

export async function getConnection(db: DbOrTx, ean: string): Promise<Connection | undefined> {
  const [row] = await db.select().from(connections).where(eq(connections.ean, ean));
  return row;
}

/** A connection the caller may see, or 404 (also when it exists but belongs to someone else). */
export async function requireConnection(
  db: DbOrTx,
  ean: string,
  field = 'connectionEan',
  visible: (c: Connection) => boolean = () => true,
): Promise<Connection> {
  assertEan(ean, field);
  const c = await getConnection(db, ean);
  if (!c || !visible(c)) throw notFound('connection_not_found', `No connection ${ean}`, field);
  return c;
}

export interface ConnectionInput {
  ean: string;
  gridOperatorGln: string;
  gridArea: string;
  supplierGln?: string | null;
  balanceResponsiblePartyGln?: string | null;
  gridUserId?: string | null;
  capacityKw: number;
  remoteReadingOptOut?: boolean;
  profileCategory?: string;
  annualStandardVolumeKwh?: number;
  feedInProfileCategory?: string;
  annualStandardFeedInKwh?: number;
  /** Initial allocation basis (effective-dated history starts here; AL-4: none, profile). */
  allocationMethod?: Omit<AllocationBasisInput, 'connectionEan' | 'reason'>;
}

export async function createConnection(db: DbOrTx, actor: Actor, input: ConnectionInput): Promise<Connection> {
  assertEan(input.ean, 'ean');
  return db.transaction(async (tx) => {
    const operator = await partyInRole(tx, input.gridOperatorGln, 'grid_operator', 'gridOperatorGln');
    const supplier = input.supplierGln ? await partyInRole(tx, input.supplierGln, 'supplier', 'supplierGln') : null;
    const brp = input.balanceResponsiblePartyGln
      ? await partyInRole(
          tx,
          input.balanceResponsiblePartyGln,
          'balance_responsible_party',
          'balanceResponsiblePartyGln',
        )
      : null;
    assertBrpForSupplied(supplier?.id ?? null, brp?.id ?? null, 'balanceResponsiblePartyGln');
    if (input.gridUserId) await requireGridUser(tx, input.gridUserId, 'gridUserId');
    const [row] = await tx
      .insert(connections)
      .values({
        ean: input.ean,
        gridOperatorId: operator.id,
        gridArea: input.gridArea,
        supplierId: supplier?.id ?? null,
        balanceResponsiblePartyId: brp?.id ?? null,
        gridUserId: input.gridUserId ?? null,
        capacityKw: input.capacityKw,
        remoteReadingOptOut: input.remoteReadingOptOut ?? false,
        ...(input.profileCategory ? { profileCategory: input.profileCategory } : {}),
        ...(input.annualStandardVolumeKwh !== undefined
          ? { annualStandardVolumeKwh: input.annualStandardVolumeKwh }
          : {}),
        ...(input.feedInProfileCategory ? { feedInProfileCategory: input.feedInProfileCategory } : {}),
        ...(input.annualStandardFeedInKwh !== undefined
          ? { annualStandardFeedInKwh: input.annualStandardFeedInKwh }
          : {}),
      })
      .onConflictDoNothing({ target: connections.ean })
      .returning();
    if (!row) throw conflict('connection_exists', `Connection ${input.ean} already exists`, 'ean');
    await recordAudit(tx, {
      ...auditActor(actor),
      action: 'connection.created',
      entityType: 'connection',
      entityId: row.ean,
      data: {
        gridOperatorId: row.gridOperatorId,
        supplierId: row.supplierId,
        gridUserId: row.gridUserId,
        capacityKw: row.capacityKw,
        remoteReadingOptOut: row.remoteReadingOptOut,
      },
    });
    if (!input.allocationMethod) return row;
    await insertAllocationBasis(tx, row, {
      ...actor,
      ...input.allocationMethod,
      connectionEan: row.ean,
      reason: 'initial',
    });
    const [withBasis] = await tx.select().from(connections).where(eq(connections.ean, row.ean));
    return withBasis!;
  });
}

export interface ConnectionFilter {
  gridOperatorId?: string;
  gridUserId?: string;
  supplierId?: string;
  limit: number;
  offset: number;
}

export async function listConnections(
  db: DbOrTx,
  f: ConnectionFilter,
): Promise<{ items: Connection[]; total: number }> {
  const where: SQL[] = [];
  if (f.gridOperatorId) where.push(eq(connections.gridOperatorId, f.gridOperatorId));
  if (f.gridUserId) where.push(eq(connections.gridUserId, f.gridUserId));
  if (f.supplierId) where.push(eq(connections.supplierId, f.supplierId));
  const cond = where.length ? and(...where) : undefined;
  const items = await db
    .select()
    .from(connections)
    .where(cond)
    .orderBy(asc(connections.ean))
    .limit(f.limit)
    .offset(f.offset);
  const [total] = await db.select({ n: count() }).from(connections).where(cond);
  return { items, total: total?.n ?? 0 };
}

export interface ConnectionPatch {
  gridArea?: string;
  balanceResponsiblePartyGln?: string | null;
  capacityKw?: number;
  /** AL-5 */
  remoteReadingOptOut?: boolean;
  profileCategory?: string;
  annualStandardVolumeKwh?: number;
  feedInProfileCategory?: string;
  annualStandardFeedInKwh?: number;
}

/**
 * Technical and administrative attributes. Supplier and customer change through events (DC-4); a change
 * of BRP or grid area is recorded in the effective-dated history from `at` on.
 */
export async function updateConnection(
  db: DbOrTx,
  actor: Actor,
  ean: string,
  patch: ConnectionPatch,
  at = new Date(),
): Promise<Connection> {
  return db.transaction(async (tx) => {
    const [existing] = await tx.select().from(connections).where(eq(connections.ean, ean)).for('update');
    if (!existing) throw notFound('connection_not_found', `No connection ${ean}`, 'ean');
    let brpId: string | null | undefined;
    if (patch.balanceResponsiblePartyGln !== undefined) {
      brpId =
        patch.balanceResponsiblePartyGln === null
          ? null
          : (
              await partyInRole(
                tx,
                patch.balanceResponsiblePartyGln,
                'balance_responsible_party',
                'balanceResponsiblePartyGln',
              )
            ).id;
      assertBrpForSupplied(existing.supplierId, brpId, 'balanceResponsiblePartyGln');
    }
    if (
      (brpId !== undefined && brpId !== existing.balanceResponsiblePartyId) ||
      (patch.gridArea !== undefined && patch.gridArea !== existing.gridArea)
    ) {
      await recordPartyChange(
        tx,
        existing,
        {
          effectiveFrom: at,
          ...(brpId !== undefined ? { balanceResponsiblePartyId: brpId } : {}),
          ...(patch.gridArea !== undefined ? { gridArea: patch.gridArea } : {}),
          reason: 'connection updated',
        },
        at,
      );
    }
    const [row] = await tx
      .update(connections)
      .set({
        ...(patch.capacityKw !== undefined ? { capacityKw: patch.capacityKw } : {}),
        ...(patch.remoteReadingOptOut !== undefined ? { remoteReadingOptOut: patch.remoteReadingOptOut } : {}),
        ...(patch.profileCategory !== undefined ? { profileCategory: patch.profileCategory } : {}),
        ...(patch.annualStandardVolumeKwh !== undefined
          ? { annualStandardVolumeKwh: patch.annualStandardVolumeKwh }
          : {}),
        ...(patch.feedInProfileCategory !== undefined ? { feedInProfileCategory: patch.feedInProfileCategory } : {}),
        ...(patch.annualStandardFeedInKwh !== undefined
          ? { annualStandardFeedInKwh: patch.annualStandardFeedInKwh }
          : {}),
        updatedAt: at,
      })
      .where(eq(connections.ean, ean))
      .returning();
    if (!row) throw new Error('connection update returned nothing');
    await recordAudit(tx, {
      ...auditActor(actor),
      action: 'connection.updated',
      entityType: 'connection',
      entityId: ean,
      data: { patch: { ...patch }, ...(patch.remoteReadingOptOut !== undefined ? { rule: 'AL-5' } : {}) },
    });
    return row;
  });
}

// ----- events (DC-4) --------------------------------------------------------------------------

export interface ConnectionEventInput {
  kind: ConnectionEventKind;
  effectiveAt: Date;
  newSupplierGln?: string | null;
  /** The new supplier's BRP; without it the connection keeps its BRP. */
  newBalanceResponsiblePartyGln?: string | null;
  newGridUserId?: string | null;
}

/**
 * Record a change of supplier and/or customer and apply it to the connection. A change of customer
 * (with or without a change of supplier) ends every open mandate on the connection (DC-4). A change
 * of supplier alone ends no mandate: the old supplier simply stops being the supplier of record, so
 * the gate no longer lets it read billing registers without a mandate.
 */
// long: one transaction: the event, the parties' history and DC-4's ended mandates with their audit entries commit together
export async function recordConnectionEvent(
  db: DbOrTx,
  actor: Actor,
  ean: string,
  input: ConnectionEventInput,
  now = new Date(),
): Promise<{ event: ConnectionEvent; connection: Connection; mandatesEnded: number }> {
  const supplierChange = input.kind === 'supplier_switch' || input.kind === 'customer_and_supplier_switch';
  const customerChange = input.kind === 'customer_switch' || input.kind === 'customer_and_supplier_switch';
  if (supplierChange && !input.newSupplierGln)
    throw validationError('new_supplier_required', `${input.kind} needs newSupplierGln`, 'newSupplierGln');
  if (customerChange && !input.newGridUserId)
    throw validationError('new_grid_user_required', `${input.kind} needs newGridUserId`, 'newGridUserId');
  if (!supplierChange && input.newSupplierGln)
    throw validationError('unexpected_field', `${input.kind} takes no newSupplierGln`, 'newSupplierGln');
  if (!customerChange && input.newGridUserId)
    throw validationError('unexpected_field', `${input.kind} takes no newGridUserId`, 'newGridUserId');
  if (!supplierChange && input.newBalanceResponsiblePartyGln)
    throw validationError(
      'unexpected_field',
      `${input.kind} takes no newBalanceResponsiblePartyGln`,
      'newBalanceResponsiblePartyGln',
    );
  // Events are applied when recorded; announcing future switches is the market's switching process, not ours.
  if (input.effectiveAt.getTime() > now.getTime() + 60_000) {
    throw validationError('effective_in_future', 'effectiveAt may not lie in the future', 'effectiveAt');
  }
  return db.transaction(
    // long: one transaction: the event, the parties' history and DC-4's ended mandates commit together
    async (tx) => {
      const [conn] = await tx.select().from(connections).where(eq(connections.ean, ean)).for('update');
      if (!conn) throw notFound('connection_not_found', `No connection ${ean}`, 'ean');
      const [last] = await tx
        .select({ effectiveAt: connectionEvents.effectiveAt })
        .from(connectionEvents)
        .where(eq(connectionEvents.connectionEan, ean))
        .orderBy(desc(connectionEvents.effectiveAt))
        .limit(1);
      if (last && input.effectiveAt < last.effectiveAt) {
        throw conflict(
          'event_out_of_order',
          `The last event on ${ean} took effect at ${last.effectiveAt.toISOString()}`,
          'effectiveAt',
        );
      }
      const newSupplier = supplierChange
        ? await partyInRole(tx, input.newSupplierGln!, 'supplier', 'newSupplierGln')
        : null;
      const newBrp = input.newBalanceResponsiblePartyGln
        ? await partyInRole(
            tx,
            input.newBalanceResponsiblePartyGln,
            'balance_responsible_party',
            'newBalanceResponsiblePartyGln',
          )
        : null;
      if (customerChange) await requireGridUser(tx, input.newGridUserId!, 'newGridUserId');
      if (newSupplier && newSupplier.id === conn.supplierId)
        throw conflict('same_supplier', 'The new supplier is already the supplier of record', 'newSupplierGln');
      if (customerChange && input.newGridUserId === conn.gridUserId)
        throw conflict('same_grid_user', 'The new grid user is already the grid user', 'newGridUserId');

      const [event] = await tx
        .insert(connectionEvents)
        .values({
          connectionEan: ean,
          kind: input.kind,
          effectiveAt: input.effectiveAt,
          previousSupplierId: supplierChange ? conn.supplierId : null,
          newSupplierId: newSupplier?.id ?? null,
          previousGridUserId: customerChange ? conn.gridUserId : null,
          newGridUserId: customerChange ? input.newGridUserId! : null,
        })
        .returning();
      if (!event) throw new Error('event insert returned nothing');
      // A supplier switch takes effect at its moment for allocation too (effective-dated parties).
      if (newSupplier) {
        await recordPartyChange(
          tx,
          conn,
          {
            effectiveFrom: input.effectiveAt,
            supplierId: newSupplier.id,
            ...(newBrp ? { balanceResponsiblePartyId: newBrp.id } : {}),
            reason: `connection.${input.kind}`,
          },
          now,
          'effectiveAt',
        );
      }
      const [updated] = await tx
        .update(connections)
        .set({
          ...(customerChange ? { gridUserId: input.newGridUserId!, gridUserSince: input.effectiveAt } : {}),
          // DC-7: the new supplier's billing reads begin here (recordPartyChange set supplier_id above).
          ...(newSupplier ? { supplierSince: input.effectiveAt } : {}),
          updatedAt: now,
        })
        .where(eq(connections.ean, ean))
        .returning();
      if (!updated) throw new Error('connection update returned nothing');
      let mandatesEnded = 0;
      if (customerChange) {
        // DC-4: access ends on a change of customer (with or without a change of supplier).
        const ended = await tx
          .update(mandates)
          .set({ status: 'ended', endedAt: input.effectiveAt, endReason: 'customer_switch' })
          .where(
            and(
              eq(mandates.connectionEan, ean),
              or(eq(mandates.status, 'active'), eq(mandates.status, 'pending_confirmation')),
              isNull(mandates.endedAt),
            ),
          )
          .returning({ id: mandates.id });
        mandatesEnded = ended.length;
      }
      await recordAudit(tx, {
        ...auditActor(actor),
        action: `connection.${input.kind}`,
        entityType: 'connection',
        entityId: ean,
        data: {
          eventId: event.id,
          effectiveAt: input.effectiveAt.toISOString(),
          previousSupplierId: event.previousSupplierId,
          newSupplierId: event.newSupplierId,
          previousGridUserId: event.previousGridUserId,
          newGridUserId: event.newGridUserId,
          ...(newBrp ? { newBalanceResponsiblePartyId: newBrp.id } : {}),
          ...(customerChange ? { mandatesEnded, rule: 'DC-4' } : {}),
        },
      });
      return { event, connection: updated, mandatesEnded };
    },
  );
}

export async function listConnectionEvents(db: DbOrTx, ean: string): Promise<ConnectionEvent[]> {
  return db
    .select()
    .from(connectionEvents)
    .where(eq(connectionEvents.connectionEan, ean))
    .orderBy(asc(connectionEvents.effectiveAt), asc(connectionEvents.recordedAt));
}

/**
 * Since when `gridUserId` is the grid user of the connection: the latest change of customer to them,
 * or the connection's creation. Transparency (DC-5) shows a grid user only their own period.
 */
export async function gridUserSince(db: DbOrTx, conn: Connection, gridUserId: string): Promise<Date> {
  const [ev] = await db
    .select({ effectiveAt: connectionEvents.effectiveAt })
    .from(connectionEvents)
    .where(and(eq(connectionEvents.connectionEan, conn.ean), eq(connectionEvents.newGridUserId, gridUserId)))
    .orderBy(desc(connectionEvents.effectiveAt))
    .limit(1);
  return ev?.effectiveAt ?? new Date(0);
}
