/** GT-5: the agreement rule and what counts as a similar signal (domain/review.ts). */
import { describe, expect, it } from 'vitest';
import {
  AGREEMENT_RULES,
  agreement,
  countsAsSignal,
  proposes,
  similarGroups,
  votesNeeded,
} from '../../domain/review.js';

const ops = ['a', 'b', 'c'];
const v = (gridOperatorId: string, agree: boolean) => ({ gridOperatorId, agree });

describe('agreement (GT-5)', () => {
  it('majority: more than half of the operators involved, at least one', () => {
    expect(agreement('majority', ['a'], [v('a', true)])).toBe('agreed');
    expect(agreement('majority', ['a'], [v('a', false)])).toBe('rejected');
    expect(agreement('majority', ['a', 'b'], [v('a', true)])).toBe('pending');
    expect(agreement('majority', ['a', 'b'], [v('a', true), v('b', true)])).toBe('agreed');
    expect(agreement('majority', ['a', 'b'], [v('a', false)])).toBe('rejected');
    expect(agreement('majority', ops, [v('a', true), v('b', true)])).toBe('agreed');
    expect(agreement('majority', ops, [v('a', true), v('b', false)])).toBe('pending');
    expect(agreement('majority', ops, [v('a', false), v('b', false)])).toBe('rejected');
    expect(agreement('majority', [], [])).toBe('rejected');
  });

  it('votes of operators not involved do not count', () => {
    expect(agreement('majority', ['a', 'b'], [v('a', true), v('x', true)])).toBe('pending');
  });

  it('every configurable rule name has a meaning (lib/agreement-rules.ts names them, domain/review.ts gives them one)', () => {
    expect(AGREEMENT_RULES.map((r) => [r, votesNeeded(r, 4)])).toEqual([
      ['majority', 3],
      ['unanimous', 4],
    ]);
  });

  it('unanimous: all operators involved', () => {
    expect(agreement('unanimous', ops, [v('a', true), v('b', true)])).toBe('pending');
    expect(agreement('unanimous', ops, [v('a', true), v('b', true), v('c', true)])).toBe('agreed');
    expect(agreement('unanimous', ops, [v('a', true), v('b', false)])).toBe('rejected');
  });
});

describe('similar signals (GT-5)', () => {
  it('won, wrongful-block and withdrawn cases are not signals against the party', () => {
    expect(countsAsSignal('closed_mandate_accepted')).toBe(false);
    expect(countsAsSignal('closed_wrongful_block')).toBe(false);
    expect(countsAsSignal('closed_withdrawn')).toBe(false);
    expect(countsAsSignal('closed_mandate_not_demonstrated')).toBe(true);
    expect(countsAsSignal('awaiting_response')).toBe(true);
  });

  it('a group of similar signals at the threshold proposes; unclassified ones group together', () => {
    const s = [
      { signalClass: 'no_mandate_given' as const },
      { signalClass: 'no_mandate_given' as const },
      { signalClass: 'other' as const },
      { signalClass: null },
    ];
    expect(similarGroups(s)).toEqual({ no_mandate_given: 2, other: 1, unclassified: 1 });
    expect(proposes(s, 2)).toBe(true);
    expect(proposes(s, 3)).toBe(false);
  });
});
