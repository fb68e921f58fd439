/**
 * Effective-dated master data of a connection: supplier, balance responsible party and grid area over
 * time (a day is allocated to that day's parties; a switch takes effect at its moment). Each history row
 * is a full snapshot that holds until the next one. The connection row carries the latest snapshot,
 * written in the same transaction, and a connection without history rows has always had its row's values.
 */
import { asc, desc, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import {
  connectionPartyHistory,
  connections,
  type Connection,
  type ConnectionPartyHistoryRow,
} from '../schema/index.js';
import { conflict, notFound, validationError } from '../../lib/errors.js';
import { recordAudit } from './audit.js';
import { auditActor, type Actor } from './actor.js';
import { requirePartyByGln } from './parties.js';

/** The first snapshot of a connection registered without earlier history: it holds since ever. */
export const SINCE_EVER = new Date(0);

export interface PartyChange {
  effectiveFrom: Date;
  supplierId?: string | null;
  balanceResponsiblePartyId?: string | null;
  gridArea?: string;
  reason: string;
}

/** Rule: a supplied connection has a balance responsible party (the supplier arranges it). */
export function assertBrpForSupplied(supplierId: string | null, brpId: string | null, field: string): void {
  if (supplierId !== null && brpId === null) {
    throw validationError(
      'balance_responsible_party_required',
      'A connection with a supplier must have a balance responsible party',
      field,
    );
  }
}

/** Write the baseline snapshot (the connection's values since ever) when the connection has no history yet. */
async function ensureBaseline(tx: DbOrTx, conn: Connection): Promise<void> {
  const [any] = await tx
    .select({ id: connectionPartyHistory.id })
    .from(connectionPartyHistory)
    .where(eq(connectionPartyHistory.connectionEan, conn.ean))
    .limit(1);
  if (any) return;
  await tx.insert(connectionPartyHistory).values({
    connectionEan: conn.ean,
    effectiveFrom: SINCE_EVER,
    supplierId: conn.supplierId,
    balanceResponsiblePartyId: conn.balanceResponsiblePartyId,
    gridArea: conn.gridArea,
    reason: 'registered',
  });
}

/**
 * Record a change from `effectiveFrom` on: a snapshot of the values in force then, with the change
 * applied; the connection row takes its values. Changes are recorded in time order (a snapshot holds
 * until the next one, so a change before the latest snapshot would not reach the snapshots after it):
 * an earlier one is refused. The caller holds the connection row locked (FOR UPDATE) and audits.
 */
export async function recordPartyChange(
  tx: DbOrTx,
  conn: Connection,
  change: PartyChange,
  at: Date,
  field = 'effectiveFrom',
): Promise<ConnectionPartyHistoryRow> {
  await ensureBaseline(tx, conn);
  const [last] = await tx
    .select()
    .from(connectionPartyHistory)
    .where(eq(connectionPartyHistory.connectionEan, conn.ean))
    .orderBy(desc(connectionPartyHistory.effectiveFrom), desc(connectionPartyHistory.recordedAt))
    .limit(1);
  if (last && change.effectiveFrom < last.effectiveFrom) {
    throw conflict(
      'change_out_of_order',
      `The latest change of ${conn.ean}'s parties took effect at ${last.effectiveFrom.toISOString()}`,
      field,
    );
  }
  const supplierId = change.supplierId !== undefined ? change.supplierId : conn.supplierId;
  const balanceResponsiblePartyId =
    change.balanceResponsiblePartyId !== undefined ? change.balanceResponsiblePartyId : conn.balanceResponsiblePartyId;
  const gridArea = change.gridArea ?? conn.gridArea;
  const [row] = await tx
    .insert(connectionPartyHistory)
    .values({
      connectionEan: conn.ean,
      effectiveFrom: change.effectiveFrom,
      supplierId,
      balanceResponsiblePartyId,
      gridArea,
      reason: change.reason,
      recordedAt: at,
    })
    .returning();
  if (!row) throw new Error('party history insert returned nothing');
  await tx
    .update(connections)
    .set({ supplierId, balanceResponsiblePartyId, gridArea, updatedAt: at })
    .where(eq(connections.ean, conn.ean));
  return row;
}

export async function listPartyHistory(db: DbOrTx, ean: string): Promise<ConnectionPartyHistoryRow[]> {
  return db
    .select()
    .from(connectionPartyHistory)
    .where(eq(connectionPartyHistory.connectionEan, ean))
    .orderBy(asc(connectionPartyHistory.effectiveFrom), asc(connectionPartyHistory.recordedAt));
}

/**
 * Keep connections.allocation_method, allocation_basis and allocation_basis_party_id equal to the latest
 * allocation_methods row's (the run's fast path reads them; none: null, i.e. profile, AL-4).
 */
export async function refreshLatestAllocationMethod(tx: DbOrTx, ean: string): Promise<void> {
  await tx.execute(sql`
    update connections set (allocation_method, allocation_basis, allocation_basis_party_id) = (
      select method, basis, basis_party_id from allocation_methods
       where connection_ean = ${ean} order by effective_from desc, recorded_at desc limit 1)
     where ean = ${ean}`);
}

/**
 * The connection's supplier at `at`: the party history's row in force then; a connection without history has
 * always had its row's supplier (see the module comment).
 */
export async function supplierOfRecordAt(db: DbOrTx, conn: Connection, at: Date): Promise<string | null> {
  const rows = await db
    .select({ supplierId: connectionPartyHistory.supplierId, effectiveFrom: connectionPartyHistory.effectiveFrom })
    .from(connectionPartyHistory)
    .where(eq(connectionPartyHistory.connectionEan, conn.ean))
    .orderBy(desc(connectionPartyHistory.effectiveFrom), desc(connectionPartyHistory.recordedAt));
  if (rows.length === 0) return conn.supplierId;
  return rows.find((r) => r.effectiveFrom <= at)?.supplierId ?? null;
}

/**
 * An effective-dated change of the balance responsible party and/or grid area (the supplier changes by a
 * supplier-switch event). A supplied connection keeps a BRP; changes are recorded in time order.
 */
export async function changeConnectionParties(
  db: DbOrTx,
  actor: Actor,
  ean: string,
  input: { effectiveFrom: Date; balanceResponsiblePartyGln?: string | null; gridArea?: string; reason: string },
  now = new Date(),
): Promise<ConnectionPartyHistoryRow> {
  if (input.effectiveFrom.getTime() > now.getTime() + 60_000)
    throw validationError('effective_in_future', 'effectiveFrom may not lie in the future', 'body.effectiveFrom');
  if (input.balanceResponsiblePartyGln === undefined && input.gridArea === undefined) {
    throw validationError('nothing_to_change', 'Give balanceResponsiblePartyGln and/or gridArea', 'body');
  }
  return db.transaction(async (tx) => {
    const [conn] = await tx.select().from(connections).where(eq(connections.ean, ean)).for('update');
    if (!conn) throw notFound('connection_not_found', `No connection ${ean}`, 'params.ean');
    let brpId: string | null | undefined;
    if (input.balanceResponsiblePartyGln !== undefined) {
      if (input.balanceResponsiblePartyGln === null) brpId = null;
      else {
        const brp = await requirePartyByGln(tx, input.balanceResponsiblePartyGln, 'body.balanceResponsiblePartyGln');
        if (!brp.roles.includes('balance_responsible_party')) {
          throw validationError(
            'party_role_mismatch',
            `Party ${brp.gln} does not hold the role balance_responsible_party`,
            'body.balanceResponsiblePartyGln',
          );
        }
        brpId = brp.id;
      }
      assertBrpForSupplied(conn.supplierId, brpId, 'body.balanceResponsiblePartyGln');
    }
    const row = await recordPartyChange(
      tx,
      conn,
      {
        effectiveFrom: input.effectiveFrom,
        ...(brpId !== undefined ? { balanceResponsiblePartyId: brpId } : {}),
        ...(input.gridArea !== undefined ? { gridArea: input.gridArea } : {}),
        reason: input.reason,
      },
      now,
      'body.effectiveFrom',
    );
    await recordAudit(tx, {
      ...auditActor(actor),
      action: 'connection.parties_changed',
      entityType: 'connection',
      entityId: ean,
      data: {
        historyId: row.id,
        effectiveFrom: row.effectiveFrom.toISOString(),
        balanceResponsiblePartyId: row.balanceResponsiblePartyId,
        gridArea: row.gridArea,
        reason: row.reason,
      },
    });
    return row;
  });
}
