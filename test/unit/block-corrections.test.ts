/**
 * The admin's block correction (domain/block-corrections.ts blockCorrection): only on a closed case; `lift` ends a
 * block in force and keeps its period closed (GT-7, GT-8), `release_period` releases the period and ends a block
 * still in force with it (GT-8); the same correction twice is refused.
 */
import { describe, expect, it } from 'vitest';
import { blockCorrection, BLOCK_CORRECTION_KINDS } from '../../domain/block-corrections.js';
import { CLOSED_STATUSES, OPEN_STATUSES } from '../../domain/case.js';

const inForce = { endedAt: null, retroactive: false };
const liftedClosed = { endedAt: new Date('2026-03-01T10:00:00Z'), retroactive: false };
const released = { endedAt: new Date('2026-03-01T10:00:00Z'), retroactive: true };

describe('blockCorrection', () => {
  it('refuses every correction while the case runs: its workflow owns the block', () => {
    for (const caseStatus of OPEN_STATUSES)
      for (const kind of BLOCK_CORRECTION_KINDS)
        for (const block of [inForce, liftedClosed, released])
          expect(blockCorrection({ caseStatus, block }, kind)).toEqual({ code: 'case_running' });
  });

  it('on a closed case: lift ends a block in force without releasing its period, once', () => {
    for (const caseStatus of CLOSED_STATUSES) {
      expect(blockCorrection({ caseStatus, block: inForce }, 'lift')).toEqual({
        lift: true,
        release: false,
        rule: 'GT-7',
      });
      expect(blockCorrection({ caseStatus, block: liftedClosed }, 'lift')).toEqual({ code: 'block_already_lifted' });
      expect(blockCorrection({ caseStatus, block: released }, 'lift')).toEqual({ code: 'block_already_lifted' });
    }
  });

  it('on a closed case: release_period releases the period (lifting a block still in force with it), once', () => {
    const status = 'closed_mandate_not_demonstrated' as const;
    expect(blockCorrection({ caseStatus: status, block: inForce }, 'release_period')).toEqual({
      lift: true,
      release: true,
      rule: 'GT-8',
    });
    expect(blockCorrection({ caseStatus: 'closed_withdrawn', block: liftedClosed }, 'release_period')).toEqual({
      lift: false,
      release: true,
      rule: 'GT-8',
    });
    expect(blockCorrection({ caseStatus: status, block: released }, 'release_period')).toEqual({
      code: 'period_already_released',
    });
  });
});
