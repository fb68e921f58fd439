/**
 * An admin's correction of a closed case's block (domain/block-corrections.ts): one transaction — the block
 * changed, the case's unblockedAt set when the block ends, and the audit entry `case.block_corrected` on the
 * case (its timeline and history list it; the entry is the correction's record, its details erasable under
 * DC-9 with the case). Stamped with the server's clock at the correction, never a time the caller gives.
 */
import { and, eq, isNull } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { blocks, doubtCases, type Block } from '../schema/index.js';
import { conflict, notFound } from '../../lib/errors.js';
import {
  blockCorrection,
  CORRECTION_LIFT_REASON,
  isCorrectionRefusal,
  type BlockCorrectionKind,
  type BlockCorrectionReason,
  type BlockCorrectionRefusal,
} from '../../domain/block-corrections.js';
import { recordAudit } from './audit.js';
import type { Actor } from './actor.js';
import { caseAudit } from './cases.js';

export interface BlockCorrectionInput extends Actor {
  caseId: string;
  kind: BlockCorrectionKind;
  reasonCode: BlockCorrectionReason;
  reason: string;
  reference: string | null;
}

export interface BlockCorrectionResult {
  caseId: string;
  kind: BlockCorrectionKind;
  reasonCode: BlockCorrectionReason;
  correctedAt: Date;
  /** The block's period end (now when the correction lifted it) and whether its period is released. */
  block: Block;
  rule: 'GT-7' | 'GT-8';
}

const REFUSALS: Record<BlockCorrectionRefusal['code'], string> = {
  case_running:
    'The case is running: its workflow owns the block. Use the case’s actions (POST /cases/{id}/lift-block, /withdraw, /judgements)',
  block_already_lifted: 'The block was already lifted; to make its period available again use kind release_period',
  period_already_released: 'The blocked period was already released',
};

/** Correct the block of a closed case; 404 case_not_found / block_not_found, 409 as blockCorrection() refuses. */
export async function correctBlock(db: DbOrTx, input: BlockCorrectionInput): Promise<BlockCorrectionResult> {
  return db.transaction(async (tx) => {
    // The case row first (as the closing step takes it), then its block: a close cannot slip in between.
    const [row] = await tx
      .select({ id: doubtCases.id, status: doubtCases.status, unblockedAt: doubtCases.unblockedAt })
      .from(doubtCases)
      .where(eq(doubtCases.id, input.caseId))
      .for('update');
    if (!row) throw notFound('case_not_found', `No case ${input.caseId}`, 'params.id');
    const [block] = await tx.select().from(blocks).where(eq(blocks.caseId, row.id)).for('update');
    if (!block) throw notFound('block_not_found', `No block for case ${row.id}`, 'params.id');
    const effect = blockCorrection({ caseStatus: row.status, block }, input.kind);
    if (isCorrectionRefusal(effect))
      throw conflict(effect.code, REFUSALS[effect.code], effect.code === 'case_running' ? 'params.id' : 'body.kind', {
        status: row.status,
        endedAt: block.endedAt?.toISOString() ?? null,
        retroactive: block.retroactive,
      });
    const at = new Date();
    const [updated] = await tx
      .update(blocks)
      .set({
        ...(effect.lift
          ? { endedAt: at < block.startedAt ? block.startedAt : at, liftReason: CORRECTION_LIFT_REASON }
          : {}),
        ...(effect.release ? { retroactive: true } : {}),
      })
      .where(eq(blocks.id, block.id))
      .returning();
    if (!updated) throw new Error(`block ${block.id} vanished while locked`);
    // The case says when its block ended (its unblock deadline, if it had one, reads it: met or late, never hidden).
    if (effect.lift)
      await tx
        .update(doubtCases)
        .set({ unblockedAt: updated.endedAt })
        .where(and(eq(doubtCases.id, row.id), isNull(doubtCases.unblockedAt)));
    await recordAudit(
      tx,
      caseAudit(
        row.id,
        input,
        'case.block_corrected',
        {
          kind: input.kind,
          reasonCode: input.reasonCode,
          reason: input.reason,
          reference: input.reference,
          blockId: updated.id,
          blockLifted: effect.lift,
          periodReleased: effect.release,
          endedAt: updated.endedAt?.toISOString() ?? null,
          retroactive: updated.retroactive,
          caseStatus: row.status,
          rule: effect.rule,
        },
        at,
      ),
    );
    return {
      caseId: row.id,
      kind: input.kind,
      reasonCode: input.reasonCode,
      correctedAt: at,
      block: updated,
      rule: effect.rule,
    };
  });
}
