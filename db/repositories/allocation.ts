/**
 * The allocation basis history and the '0'-values state (GT-4, AL-4, AL-6). The doubt-case workflow's
 * activities call the GT-4 steps, which retry: each of those is idempotent per case.
 */
import { and, asc, desc, eq, isNotNull, isNull, lte } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import {
  allocationMethods,
  connections,
  zeroAllocations,
  type AllocationBasisKind,
  type AllocationMethod,
  type AllocationMethodRow,
  type Connection,
  type ZeroAllocation,
} from '../schema/index.js';
import { checkAllocationBasis, basisOutcome } from '../../domain/allocation.js';
import { DomainError, notFound } from '../../lib/errors.js';
import { recordAudit } from './audit.js';
import { auditActor, type Actor } from './actor.js';
import { refreshLatestAllocationMethod, supplierOfRecordAt } from './connection-parties.js';

/**
 * The connection, locked: its basis rows are added one writer at a time, so the connection row's copy of the
 * latest one (refreshLatestAllocationMethod) is never left behind by a concurrent writer.
 */
async function lockConnection(db: DbOrTx, ean: string): Promise<Connection> {
  const [conn] = await db.select().from(connections).where(eq(connections.ean, ean)).for('update');
  if (!conn) throw notFound('connection_not_found', `No connection ${ean}`, 'connectionEan');
  return conn;
}

async function requireConnection(db: DbOrTx, ean: string): Promise<void> {
  const [conn] = await db.select({ ean: connections.ean }).from(connections).where(eq(connections.ean, ean));
  if (!conn) throw notFound('connection_not_found', `No connection ${ean}`, 'connectionEan');
}

/**
 * GT-4 / AL-6: while an iSMA doubt case is open the connection stays on iSMA but is allocated with
 * '0' values. One zero allocation per case; a repeated call returns the existing one.
 */
export async function startZeroAllocation(
  db: DbOrTx,
  input: Actor & { caseId: string; connectionEan: string; at: Date },
): Promise<{ zeroAllocation: ZeroAllocation; created: boolean }> {
  return db.transaction(async (tx) => {
    await requireConnection(tx, input.connectionEan);
    const [inserted] = await tx
      .insert(zeroAllocations)
      .values({ caseId: input.caseId, connectionEan: input.connectionEan, startedAt: input.at })
      .onConflictDoNothing({ target: zeroAllocations.caseId })
      .returning();
    if (inserted) {
      await recordAudit(tx, {
        ...auditActor(input),
        action: 'allocation.zero_started',
        entityType: 'connection',
        entityId: input.connectionEan,
        data: { caseId: input.caseId, startedAt: input.at.toISOString(), rule: 'AL-6' },
      });
      return { zeroAllocation: inserted, created: true };
    }
    const [existing] = await tx.select().from(zeroAllocations).where(eq(zeroAllocations.caseId, input.caseId));
    if (!existing) throw new Error(`zero allocation of case ${input.caseId} neither inserted nor found`);
    return { zeroAllocation: existing, created: false };
  });
}

/** AL-6: end the '0'-values allocation of a case. Idempotent; a case without one is not found. */
export async function endZeroAllocation(
  db: DbOrTx,
  input: Actor & { caseId: string; at: Date; reason: string },
): Promise<{ zeroAllocation: ZeroAllocation; ended: boolean }> {
  return db.transaction(async (tx) => {
    const [existing] = await tx
      .select()
      .from(zeroAllocations)
      .where(eq(zeroAllocations.caseId, input.caseId))
      .for('update');
    if (!existing) throw notFound('zero_allocation_not_found', `No zero allocation for case ${input.caseId}`, 'caseId');
    if (existing.endedAt) return { zeroAllocation: existing, ended: false };
    const endedAt = input.at < existing.startedAt ? existing.startedAt : input.at;
    const [updated] = await tx
      .update(zeroAllocations)
      .set({ endedAt, endReason: input.reason })
      .where(and(eq(zeroAllocations.id, existing.id), isNull(zeroAllocations.endedAt)))
      .returning();
    if (!updated) throw new Error(`zero allocation ${existing.id} vanished while locked`);
    await recordAudit(tx, {
      ...auditActor(input),
      action: 'allocation.zero_ended',
      entityType: 'connection',
      entityId: existing.connectionEan,
      data: { caseId: input.caseId, endedAt: endedAt.toISOString(), reason: input.reason, rule: 'AL-6' },
    });
    return { zeroAllocation: updated, ended: true };
  });
}

/**
 * GT-4 / AL-6: after a negative outcome of an iSMA case the connection is allocated by profile from
 * `effectiveFrom`: a new basis period (profile, reason GT-4, the case) that supersedes the supplier's iSMA
 * request. One switch per case (unique index on case_id); a repeated call returns it. Ending the '0'-values
 * period is a separate step (endZeroAllocation).
 */
export async function switchToProfileAllocation(
  db: DbOrTx,
  input: Actor & { caseId: string; connectionEan: string; effectiveFrom: Date },
): Promise<{ allocationMethod: AllocationMethodRow; created: boolean }> {
  return db.transaction(async (tx) => {
    await lockConnection(tx, input.connectionEan);
    const [inserted] = await tx
      .insert(allocationMethods)
      .values({
        connectionEan: input.connectionEan,
        method: 'profile',
        effectiveFrom: input.effectiveFrom,
        caseId: input.caseId,
        reason: 'GT-4: mandate not demonstrated',
        recordedBy: input.actor,
      })
      .onConflictDoNothing({ target: allocationMethods.caseId, where: isNotNull(allocationMethods.caseId) })
      .returning();
    if (inserted) {
      await refreshLatestAllocationMethod(tx, input.connectionEan);
      await recordAudit(tx, {
        ...auditActor(input),
        action: 'allocation.switched_to_profile',
        entityType: 'connection',
        entityId: input.connectionEan,
        data: { caseId: input.caseId, effectiveFrom: input.effectiveFrom.toISOString(), rule: 'GT-4' },
      });
      return { allocationMethod: inserted, created: true };
    }
    const [existing] = await tx.select().from(allocationMethods).where(eq(allocationMethods.caseId, input.caseId));
    if (!existing) throw new Error(`allocation switch of case ${input.caseId} neither inserted nor found`);
    return { allocationMethod: existing, created: false };
  });
}

export interface AllocationBasisInput {
  connectionEan: string;
  method: AllocationMethod;
  effectiveFrom: Date;
  basis: AllocationBasisKind | null;
  /** supplier_isma_request: the supplier named (null: the supplier of record at effectiveFrom). */
  supplierId: string | null;
  reference: string | null;
  reason: string;
}

/**
 * Record the connection's allocation basis from `effectiveFrom` on (DOMAIN.md, allocation basis; AL-4): a new
 * period that supersedes the one before it, never overwriting it; audited with its actor. Refused as
 * `checkAllocationBasis` says (iSMA names its basis; the supplier's iSMA request is the supplier of record's).
 */
export async function recordAllocationBasis(
  db: DbOrTx,
  input: Actor & AllocationBasisInput,
): Promise<AllocationMethodRow> {
  return db.transaction(async (tx) => insertAllocationBasis(tx, await lockConnection(tx, input.connectionEan), input));
}

/** recordAllocationBasis on a connection the caller holds locked, or has just created, in its transaction. */
export async function insertAllocationBasis(
  tx: DbOrTx,
  conn: Connection,
  input: Actor & AllocationBasisInput,
): Promise<AllocationMethodRow> {
  const checked = checkAllocationBasis({
    method: input.method,
    basis: input.basis,
    supplierId: input.supplierId,
    reference: input.reference,
    supplierOfRecordId: await supplierOfRecordAt(tx, conn, input.effectiveFrom),
  });
  if ('code' in checked) throw new DomainError(checked.kind, checked.code, checked.message, checked.field);
  const [row] = await tx
    .insert(allocationMethods)
    .values({
      connectionEan: conn.ean,
      method: input.method,
      effectiveFrom: input.effectiveFrom,
      basis: input.basis,
      basisPartyId: checked.basisPartyId,
      basisReference: input.reference,
      reason: input.reason,
      recordedBy: input.actor,
    })
    .returning();
  if (!row) throw new Error('allocation basis insert returned nothing');
  await refreshLatestAllocationMethod(tx, conn.ean);
  await recordAudit(tx, {
    ...auditActor(input),
    action: 'allocation.basis_recorded',
    entityType: 'connection',
    entityId: conn.ean,
    data: {
      id: row.id,
      method: row.method,
      effectiveFrom: row.effectiveFrom.toISOString(),
      basis: row.basis,
      basisPartyId: row.basisPartyId,
      basisReference: row.basisReference,
      reason: row.reason,
      rule: 'AL-4',
    },
  });
  return row;
}

/** The basis period in force at `at`: the row with the latest effective_from ≤ at (null: none recorded). */
export async function allocationBasisAt(
  db: DbOrTx,
  connectionEan: string,
  at: Date,
): Promise<AllocationMethodRow | null> {
  const [row] = await db
    .select()
    .from(allocationMethods)
    .where(and(eq(allocationMethods.connectionEan, connectionEan), lte(allocationMethods.effectiveFrom, at)))
    .orderBy(desc(allocationMethods.effectiveFrom), desc(allocationMethods.recordedAt))
    .limit(1);
  return row ?? null;
}

export interface AllocationState {
  history: AllocationMethodRow[];
  /** The basis period in force (null: none recorded). */
  inForce: AllocationMethodRow | null;
  /** How the connection is allocated now under it (basisOutcome): iSMA, or profile and why. */
  outcome: ReturnType<typeof basisOutcome>;
  /** AL-6: the open '0'-values allocation, if any. */
  zeroAllocation: ZeroAllocation | null;
  zeroAllocations: ZeroAllocation[];
}

export async function allocationState(db: DbOrTx, conn: Connection, at: Date): Promise<AllocationState> {
  const history = await db
    .select()
    .from(allocationMethods)
    .where(eq(allocationMethods.connectionEan, conn.ean))
    .orderBy(asc(allocationMethods.effectiveFrom), asc(allocationMethods.recordedAt));
  const zeros = await db
    .select()
    .from(zeroAllocations)
    .where(eq(zeroAllocations.connectionEan, conn.ean))
    .orderBy(asc(zeroAllocations.startedAt));
  let inForce: AllocationMethodRow | null = null;
  for (const h of history) if (h.effectiveFrom <= at) inForce = h;
  const outcome = basisOutcome(inForce, await supplierOfRecordAt(db, conn, at));
  const open = zeros.find((z) => z.startedAt <= at && (!z.endedAt || z.endedAt > at)) ?? null;
  return { history, inForce, outcome, zeroAllocation: open, zeroAllocations: zeros };
}
