/**
 * An admin's correction of a closed case's block (issue 18 item 3; domain/block-corrections.ts), as a case action
 * under an Idempotency-Key (issue 20): the correction, its audit entry and the first outcome commit together, so
 * a repeat after a lost answer or a 503 replays the correction instead of answering 409 or writing it twice.
 */
import type { Db } from '../../db/client.js';
import {
  correctBlock,
  type BlockCorrectionInput,
  type BlockCorrectionResult,
} from '../../db/repositories/block-corrections.js';
import { idempotentTransaction } from '../idempotency/action.js';

export function correctCaseBlock(db: Db, input: BlockCorrectionInput): Promise<BlockCorrectionResult> {
  return idempotentTransaction(db, (tx) => correctBlock(tx, input));
}
