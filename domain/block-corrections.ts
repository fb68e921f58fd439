/**
 * An admin's correction of a closed case's block (issue 18, item 3): the case process places and lifts blocks
 * (GT-2, GT-7, GT-8); once the case is closed its workflow has finished, and what is left to correct — a block
 * still in force that a decision outside the case says must end, or a blocked period that must become available
 * again — is corrected here, as its own action with a reason, stamped when it is made (never backdated).
 *
 * No `reinstate`: placing a block is GT-2's answer to a signal, and it comes with its case (contact, 72 hours,
 * a decision, an end). A block put back on a closed case would have none of them — the side door this issue
 * closed. Whoever finds a lift was wrong (e.g. an accepted mandate later found forged) reports it as a new
 * signal: a new case, a new block.
 *
 * Pure: the repository (db/repositories/blocks.ts correctBlock) reads the facts and applies the effect.
 */
import { isClosedStatus, type CaseStatus } from './case.js';

/**
 * `lift`: end a block still in force (its period stays closed, GT-8: consent for it was not demonstrated).
 * `release_period`: the blocked period becomes available again (GT-8's retroactive lift); a block still in
 * force ends with it.
 */
export const BLOCK_CORRECTION_KINDS = ['lift', 'release_period'] as const;
export type BlockCorrectionKind = (typeof BLOCK_CORRECTION_KINDS)[number];

/** What the correction rests on; `reason` says it in words, `reference` names the decision or ticket. */
export const BLOCK_CORRECTION_REASONS = [
  'court_decision',
  'acm_decision',
  'disputes_committee',
  'data_error',
  'other',
] as const;
export type BlockCorrectionReason = (typeof BLOCK_CORRECTION_REASONS)[number];

/** The lift reason a block lifted by a correction carries (blocks.lift_reason; the case's own are LIFT_REASONS). */
export const CORRECTION_LIFT_REASON = 'admin_correction';

export interface BlockCorrectionFacts {
  caseStatus: CaseStatus;
  block: { endedAt: Date | null; retroactive: boolean };
}

export type BlockCorrectionRefusal = { code: 'case_running' | 'block_already_lifted' | 'period_already_released' };

export interface BlockCorrectionEffect {
  /** The block ends now (it was in force). */
  lift: boolean;
  /** The blocked period is released (retroactive). */
  release: boolean;
  /** GT-7: a block ended that should no longer be in force; GT-8: its period made available again. */
  rule: 'GT-7' | 'GT-8';
}

/**
 * May this correction be made, and what does it do? A running case's block is its workflow's (409 case_running:
 * its own actions lift it, informing the workflow and keeping its deadlines). The same correction twice is
 * refused (409), so a repeated request changes nothing and says why.
 */
export function blockCorrection(
  f: BlockCorrectionFacts,
  kind: BlockCorrectionKind,
): BlockCorrectionEffect | BlockCorrectionRefusal {
  if (!isClosedStatus(f.caseStatus)) return { code: 'case_running' };
  const inForce = f.block.endedAt === null;
  if (kind === 'lift') return inForce ? { lift: true, release: false, rule: 'GT-7' } : { code: 'block_already_lifted' };
  if (f.block.retroactive && !inForce) return { code: 'period_already_released' };
  return { lift: inForce, release: true, rule: 'GT-8' };
}

export const isCorrectionRefusal = (r: BlockCorrectionEffect | BlockCorrectionRefusal): r is BlockCorrectionRefusal =>
  'code' in r;
