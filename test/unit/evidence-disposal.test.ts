/**
 * GT-8 read as data minimisation (domain/evidence.ts): the copy goes after an acceptance or when the party was
 * not at fault; after "not demonstrated" it waits for the GT-11 assessment and GT-5 reviews; a legal hold wins.
 */
import { describe, expect, it } from 'vitest';
import { evidenceDisposal, type EvidenceFacts } from '../../domain/evidence.js';

const facts = (f: Partial<EvidenceFacts>): EvidenceFacts => ({
  status: 'closed_mandate_accepted',
  withdrawalReason: null,
  legalHold: false,
  breachAssessmentDecided: false,
  openReviewsCiting: 0,
  ...f,
});

describe('evidenceDisposal (GT-8)', () => {
  it('keeps the copy while the case is open', () => {
    expect(evidenceDisposal(facts({ status: 'awaiting_judgement' }))).toEqual({
      destroy: false,
      waitsFor: ['case_decision'],
    });
  });

  it('destroys after an acceptance, a wrongful block and any withdrawal, naming why', () => {
    expect(evidenceDisposal(facts({}))).toEqual({ destroy: true, reason: 'acceptance' });
    expect(evidenceDisposal(facts({ status: 'closed_wrongful_block' }))).toEqual({
      destroy: true,
      reason: 'not_at_fault',
    });
    expect(evidenceDisposal(facts({ status: 'closed_withdrawn', withdrawalReason: 'not_concerning_party' }))).toEqual({
      destroy: true,
      reason: 'not_at_fault',
    });
    for (const withdrawalReason of ['reporter_withdrew', 'duplicate', 'other', null] as const)
      expect(evidenceDisposal(facts({ status: 'closed_withdrawn', withdrawalReason }))).toEqual({
        destroy: true,
        reason: 'withdrawn',
      });
  });

  it('after "not demonstrated" waits for the GT-11 assessment (also before it is opened) and open GT-5 reviews', () => {
    const nd = { status: 'closed_mandate_not_demonstrated' } as const;
    expect(evidenceDisposal(facts(nd))).toEqual({ destroy: false, waitsFor: ['breach_assessment'] });
    expect(evidenceDisposal(facts({ ...nd, openReviewsCiting: 2 }))).toEqual({
      destroy: false,
      waitsFor: ['breach_assessment', 'improvement_review'],
    });
    expect(evidenceDisposal(facts({ ...nd, breachAssessmentDecided: true, openReviewsCiting: 1 }))).toEqual({
      destroy: false,
      waitsFor: ['improvement_review'],
    });
    expect(evidenceDisposal(facts({ ...nd, breachAssessmentDecided: true }))).toEqual({
      destroy: true,
      reason: 'procedures_closed',
    });
  });

  it('a legal hold keeps the copy whatever the outcome; its release is the reason when it was the last', () => {
    expect(evidenceDisposal(facts({ legalHold: true }))).toEqual({ destroy: false, waitsFor: ['legal_hold'] });
    expect(
      evidenceDisposal(
        facts({ status: 'closed_mandate_not_demonstrated', legalHold: true, breachAssessmentDecided: true }),
      ),
    ).toEqual({ destroy: false, waitsFor: ['legal_hold'] });
    expect(evidenceDisposal(facts({}), true)).toEqual({ destroy: true, reason: 'hold_released' });
    // Released while the assessment is open: the copy stays for it.
    expect(evidenceDisposal(facts({ status: 'closed_mandate_not_demonstrated' }), true)).toEqual({
      destroy: false,
      waitsFor: ['breach_assessment'],
    });
  });
});
