/**
 * GT-2 / GT-7 / GT-8: blocks of one party on one connection for P4 requests that need an additional
 * mandate. Called by the doubt-case workflow's activities (retried, so idempotent per case) and by the
 * blocks API. The P4 gate never caches blocks: a block denies from the instant its transaction commits.
 */
import { and, count, desc, eq, isNotNull, isNull, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { blocks, connections, parties, type Block } from '../schema/index.js';
import { conflict, notFound, validationError } from '../../lib/errors.js';
import { recordAudit } from './audit.js';
import { auditActor, type Actor } from './actor.js';
import { LIFT_REASONS, liftRule, type LiftReason } from '../../domain/case.js';

export { LIFT_REASONS, type LiftReason };

export interface PlaceBlockInput extends Actor {
  caseId: string;
  partyId: string;
  connectionEan: string;
  /** When the block takes effect (the report's moment, GT-2). */
  at: Date;
}

export interface LiftBlockInput extends Actor {
  caseId: string;
  at: Date;
  reason: LiftReason;
  /** GT-8: the party may afterwards request data over the blocked period too. */
  retroactive: boolean;
}

/**
 * GT-2: place the block of a case. Idempotent per case: a second call with the same case returns the
 * existing block (whatever its state) and writes nothing; the same case with another party or
 * connection is a conflict.
 */
export async function placeBlock(db: DbOrTx, input: PlaceBlockInput): Promise<{ block: Block; created: boolean }> {
  return db.transaction(async (tx) => {
    const [party] = await tx.select({ id: parties.id }).from(parties).where(eq(parties.id, input.partyId));
    if (!party) throw notFound('party_not_found', `No party ${input.partyId}`, 'partyId');
    const [conn] = await tx
      .select({ ean: connections.ean })
      .from(connections)
      .where(eq(connections.ean, input.connectionEan));
    if (!conn) throw notFound('connection_not_found', `No connection ${input.connectionEan}`, 'connectionEan');

    const [inserted] = await tx
      .insert(blocks)
      .values({ caseId: input.caseId, partyId: input.partyId, connectionEan: input.connectionEan, startedAt: input.at })
      .onConflictDoNothing({ target: blocks.caseId })
      .returning();
    if (inserted) {
      await recordAudit(tx, {
        ...auditActor(input),
        action: 'block.placed',
        entityType: 'block',
        entityId: inserted.id,
        data: {
          caseId: input.caseId,
          partyId: input.partyId,
          connectionEan: input.connectionEan,
          startedAt: input.at.toISOString(),
          rule: 'GT-2',
        },
      });
      return { block: inserted, created: true };
    }
    const [existing] = await tx.select().from(blocks).where(eq(blocks.caseId, input.caseId));
    if (!existing) throw new Error(`block of case ${input.caseId} neither inserted nor found`);
    if (existing.partyId !== input.partyId || existing.connectionEan !== input.connectionEan) {
      throw conflict(
        'block_case_mismatch',
        `Case ${input.caseId} already blocks another party or connection`,
        'caseId',
        {
          partyId: existing.partyId,
          connectionEan: existing.connectionEan,
        },
      );
    }
    return { block: existing, created: false };
  });
}

/**
 * GT-7 / GT-8: lift the block of a case. Idempotent: lifting a lifted block returns it unchanged.
 * `retroactive` (GT-8) lets the party request data over the blocked period afterwards; without it,
 * requests whose period overlaps [startedAt, endedAt) stay denied.
 */
export async function liftBlock(db: DbOrTx, input: LiftBlockInput): Promise<{ block: Block; lifted: boolean }> {
  if (!(LIFT_REASONS as readonly string[]).includes(input.reason)) {
    throw validationError('invalid_lift_reason', `reason must be one of ${LIFT_REASONS.join(', ')}`, 'reason');
  }
  return db.transaction(async (tx) => {
    const [existing] = await tx.select().from(blocks).where(eq(blocks.caseId, input.caseId)).for('update');
    if (!existing) throw notFound('block_not_found', `No block for case ${input.caseId}`, 'caseId');
    if (existing.endedAt) return { block: existing, lifted: false };
    // A lift can't precede the block (clock skew between workflow and API): clamp to the start.
    const endedAt = input.at < existing.startedAt ? existing.startedAt : input.at;
    const [updated] = await tx
      .update(blocks)
      .set({ endedAt, liftReason: input.reason, retroactive: input.retroactive })
      .where(and(eq(blocks.id, existing.id), isNull(blocks.endedAt)))
      .returning();
    if (!updated) throw new Error(`block ${existing.id} vanished while locked`);
    await recordAudit(tx, {
      ...auditActor(input),
      action: 'block.lifted',
      entityType: 'block',
      entityId: updated.id,
      data: {
        caseId: input.caseId,
        reason: input.reason,
        retroactive: input.retroactive,
        endedAt: endedAt.toISOString(),
        rule: liftRule(input.reason),
      },
    });
    return { block: updated, lifted: true };
  });
}

export async function getBlockByCase(db: DbOrTx, caseId: string): Promise<Block | undefined> {
  const [row] = await db.select().from(blocks).where(eq(blocks.caseId, caseId));
  return row;
}

export async function getBlock(db: DbOrTx, id: string): Promise<Block | undefined> {
  const [row] = await db.select().from(blocks).where(eq(blocks.id, id));
  return row;
}

export interface BlockFilter {
  connectionEan?: string;
  partyId?: string;
  gridOperatorId?: string;
  active?: boolean;
  limit: number;
  offset: number;
}

/** Blocks, newest first; `gridOperatorId` limits to that operator's connections (case handlers). */
export async function listBlocks(db: DbOrTx, f: BlockFilter): Promise<{ items: Block[]; total: number }> {
  const where: SQL[] = [];
  if (f.connectionEan) where.push(eq(blocks.connectionEan, f.connectionEan));
  if (f.partyId) where.push(eq(blocks.partyId, f.partyId));
  if (f.active === true) where.push(isNull(blocks.endedAt));
  if (f.active === false) where.push(isNotNull(blocks.endedAt));
  if (f.gridOperatorId) where.push(eq(connections.gridOperatorId, f.gridOperatorId));
  const cond = where.length ? and(...where) : undefined;
  const rows = await db
    .select({ block: blocks })
    .from(blocks)
    .innerJoin(connections, eq(connections.ean, blocks.connectionEan))
    .where(cond)
    .orderBy(desc(blocks.startedAt), desc(blocks.id))
    .limit(f.limit)
    .offset(f.offset);
  const [total] = await db
    .select({ n: count() })
    .from(blocks)
    .innerJoin(connections, eq(connections.ean, blocks.connectionEan))
    .where(cond);
  return { items: rows.map((r) => r.block), total: total?.n ?? 0 };
}
