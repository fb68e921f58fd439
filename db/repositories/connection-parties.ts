/**
 * Effective-dated master data of a connection: supplier, balance responsible party and grid area over
 * time (a day is allocated to that day's parties; a switch takes effect at its moment). Each history row
 * is a full snapshot that holds until the next one. The connection row carries the latest snapshot,
 * written in the same transaction, and a connection without history rows has always had its row's values.
 */
import { asc, desc, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { connectionPartyHistory, connections, type Connection, type ConnectionPartyHistoryRow } from '../schema/index.js';
import { conflict, validationError } from '../../lib/errors.js';

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
    throw validationError('balance_responsible_party_required', 'A connection with a supplier must have a balance responsible party', field);
  }
}

/** Write the baseline snapshot (the connection's values since ever) when the connection has no history yet. */
async function ensureBaseline(tx: DbOrTx, conn: Connection): Promise<void> {
  const [any] = await tx.select({ id: connectionPartyHistory.id }).from(connectionPartyHistory).where(eq(connectionPartyHistory.connectionEan, conn.ean)).limit(1);
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
export async function recordPartyChange(tx: DbOrTx, conn: Connection, change: PartyChange, at: Date, field = 'effectiveFrom'): Promise<ConnectionPartyHistoryRow> {
  await ensureBaseline(tx, conn);
  const [last] = await tx
    .select()
    .from(connectionPartyHistory)
    .where(eq(connectionPartyHistory.connectionEan, conn.ean))
    .orderBy(desc(connectionPartyHistory.effectiveFrom), desc(connectionPartyHistory.recordedAt))
    .limit(1);
  if (last && change.effectiveFrom < last.effectiveFrom) {
    throw conflict('change_out_of_order', `The latest change of ${conn.ean}'s parties took effect at ${last.effectiveFrom.toISOString()}`, field);
  }
  const supplierId = change.supplierId !== undefined ? change.supplierId : conn.supplierId;
  const balanceResponsiblePartyId = change.balanceResponsiblePartyId !== undefined ? change.balanceResponsiblePartyId : conn.balanceResponsiblePartyId;
  const gridArea = change.gridArea ?? conn.gridArea;
  const [row] = await tx
    .insert(connectionPartyHistory)
    .values({ connectionEan: conn.ean, effectiveFrom: change.effectiveFrom, supplierId, balanceResponsiblePartyId, gridArea, reason: change.reason, recordedAt: at })
    .returning();
  if (!row) throw new Error('party history insert returned nothing');
  await tx.update(connections).set({ supplierId, balanceResponsiblePartyId, gridArea, updatedAt: at }).where(eq(connections.ean, conn.ean));
  return row;
}

export async function listPartyHistory(db: DbOrTx, ean: string): Promise<ConnectionPartyHistoryRow[]> {
  return db.select().from(connectionPartyHistory).where(eq(connectionPartyHistory.connectionEan, ean)).orderBy(asc(connectionPartyHistory.effectiveFrom), asc(connectionPartyHistory.recordedAt));
}

/** Keep connections.allocation_method equal to the latest allocation_methods row (the run's fast path reads it). */
export async function refreshLatestAllocationMethod(tx: DbOrTx, ean: string): Promise<void> {
  await tx.execute(sql`
    update connections set allocation_method = (
      select method from allocation_methods where connection_ean = ${ean} order by effective_from desc, recorded_at desc limit 1)
     where ean = ${ean}`);
}
