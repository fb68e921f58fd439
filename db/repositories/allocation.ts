/**
 * Allocation method history and the '0'-values state (GT-4, AL-4, AL-6). Called by the doubt-case
 * workflow's activities, which retry: every function is idempotent per case.
 */
import { and, asc, desc, eq, isNotNull, isNull, lte } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import {
  allocationMethods,
  connections,
  zeroAllocations,
  type AllocationMethod,
  type AllocationMethodRow,
  type ZeroAllocation,
} from '../schema/index.js';
import { notFound } from '../../lib/errors.js';
import { recordAudit } from './audit.js';
import { auditActor, type Actor } from './actor.js';
import { refreshLatestAllocationMethod } from './connection-parties.js';

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
 * `effectiveFrom`. One switch per case (unique index on case_id); a repeated call returns it.
 * Ending the '0'-values period is a separate step (endZeroAllocation).
 */
export async function switchToProfileAllocation(
  db: DbOrTx,
  input: Actor & { caseId: string; connectionEan: string; effectiveFrom: Date },
): Promise<{ allocationMethod: AllocationMethodRow; created: boolean }> {
  return db.transaction(async (tx) => {
    await requireConnection(tx, input.connectionEan);
    const [inserted] = await tx
      .insert(allocationMethods)
      .values({
        connectionEan: input.connectionEan,
        method: 'profile',
        effectiveFrom: input.effectiveFrom,
        caseId: input.caseId,
        reason: 'GT-4: mandate not demonstrated',
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

/** Record an allocation method from a moment on (admin; the history is effective-dated). */
export async function setAllocationMethod(
  db: DbOrTx,
  input: Actor & { connectionEan: string; method: AllocationMethod; effectiveFrom: Date; reason: string },
): Promise<AllocationMethodRow> {
  return db.transaction(async (tx) => {
    await requireConnection(tx, input.connectionEan);
    const [row] = await tx
      .insert(allocationMethods)
      .values({
        connectionEan: input.connectionEan,
        method: input.method,
        effectiveFrom: input.effectiveFrom,
        reason: input.reason,
      })
      .returning();
    if (!row) throw new Error('allocation method insert returned nothing');
    await refreshLatestAllocationMethod(tx, input.connectionEan);
    await recordAudit(tx, {
      ...auditActor(input),
      action: 'allocation.method_set',
      entityType: 'connection',
      entityId: input.connectionEan,
      data: { method: input.method, effectiveFrom: input.effectiveFrom.toISOString(), reason: input.reason },
    });
    return row;
  });
}

/** The method in force at `at`: the row with the latest effective_from ≤ at (null: none recorded). */
export async function allocationMethodAt(
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
  current: AllocationMethod | null;
  /** AL-6: the open '0'-values allocation, if any. */
  zeroAllocation: ZeroAllocation | null;
  zeroAllocations: ZeroAllocation[];
}

export async function allocationState(db: DbOrTx, connectionEan: string, at: Date): Promise<AllocationState> {
  const history = await db
    .select()
    .from(allocationMethods)
    .where(eq(allocationMethods.connectionEan, connectionEan))
    .orderBy(asc(allocationMethods.effectiveFrom), asc(allocationMethods.recordedAt));
  const zeros = await db
    .select()
    .from(zeroAllocations)
    .where(eq(zeroAllocations.connectionEan, connectionEan))
    .orderBy(asc(zeroAllocations.startedAt));
  let current: AllocationMethod | null = null;
  for (const h of history) if (h.effectiveFrom <= at) current = h.method;
  const open = zeros.find((z) => z.startedAt <= at && (!z.endedAt || z.endedAt > at)) ?? null;
  return { history, current, zeroAllocation: open, zeroAllocations: zeros };
}
