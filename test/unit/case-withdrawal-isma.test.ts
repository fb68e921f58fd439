/**
 * domain/case.ts, issue 10's rules as tables: what a withdrawal does per reason code (GT-7, GT-8), when the
 * handler may ask for more evidence (GT-3), and the iSMA variant from the party and the connection (GT-4, AL-4,
 * AL-5): GT-4 only for the supplier of record whose iSMA request the reading rests on.
 */
import { describe, expect, it } from 'vitest';
import {
  WITHDRAWAL_REASONS,
  checkEvidenceRequest,
  closingEffects,
  gt4Applies,
  ismaVariant,
  onIsmaAt,
  unblockDeadline,
  withdrawalEffect,
  type CaseStatus,
  type WithdrawalReason,
} from '../../domain/case.js';

const decidedAt = new Date('2026-03-10T10:07:00Z');
const closedAt = new Date('2026-03-10T10:07:30Z');

describe('withdrawalEffect and closingEffects (GT-7)', () => {
  it.each<[WithdrawalReason | undefined, string, boolean, boolean]>([
    ['not_concerning_party', 'closed_wrongful_block', true, true],
    ['reporter_withdrew', 'closed_withdrawn', false, false],
    ['duplicate', 'closed_withdrawn', true, false],
    ['other', 'closed_withdrawn', false, false],
    [undefined, 'closed_withdrawn', false, false], // older callers: other
  ])('%s closes as %s; period released %s; unblock deadline %s', (code, status, released, deadline) => {
    const w = withdrawalEffect(code);
    expect(w.reasonCode).toBe(code ?? 'other');
    expect(w.blockLifted).toBe(true);
    expect(w.blockedPeriodReleased).toBe(released);
    expect(w.unblockDeadline).toBe(deadline);
    expect(w.effect.length).toBeGreaterThan(20);
    const e = closingEffects(w.outcome, { isma: true, decidedAt, closedAt, withdrawalReason: code ?? null });
    expect(e.status).toBe(status);
    expect(e.lift).not.toBeNull();
    expect(e.lift!.retroactive).toBe(released);
    expect(e.unblockDueAt).toEqual(deadline ? unblockDeadline(decidedAt) : null);
    expect(e.profileEffectiveFrom).toBeNull(); // a withdrawal never switches iSMA to profile (GT-4 is for "not demonstrated")
  });

  it('every code has an effect; a withdrawal without a code closes as before codes existed', () => {
    for (const code of WITHDRAWAL_REASONS) expect(withdrawalEffect(code).rule).toMatch(/GT-/);
    expect(closingEffects('withdrawn', { isma: false, decidedAt, closedAt }).lift).toMatchObject({
      reason: 'case_withdrawn',
      retroactive: false,
    });
  });
});

describe('checkEvidenceRequest (GT-3)', () => {
  const base = { caseId: 'c', reference: 'GT-2026-000001', status: 'awaiting_response' as CaseStatus };
  const due = new Date('2026-03-13T10:00:00Z');
  it.each<[string, Partial<Parameters<typeof checkEvidenceRequest>[0]>, Date, string | null]>([
    ['window running', { responseDueAt: due }, new Date('2026-03-12T10:00:00Z'), null],
    [
      'evidence awaiting judgement',
      { status: 'awaiting_judgement', responseDueAt: due },
      new Date('2026-03-13T09:59:59Z'),
      null,
    ],
    [
      'not contacted yet',
      { status: 'blocked', responseDueAt: null },
      new Date('2026-03-10T10:00:00Z'),
      'response_window_not_open',
    ],
    ['at the deadline', { responseDueAt: due }, due, 'response_window_closed'],
    [
      'window recorded closed',
      { responseDueAt: due, responseWindowClosed: true },
      new Date('2026-03-12T10:00:00Z'),
      'response_window_closed',
    ],
    ['decided', { responseDueAt: due, decided: true }, new Date('2026-03-12T10:00:00Z'), 'case_closed'],
    ['closed', { status: 'closed_withdrawn', responseDueAt: due }, new Date('2026-03-12T10:00:00Z'), 'case_closed'],
  ])('%s', (_, facts, now, code) => {
    const r = checkEvidenceRequest({ ...base, responseDueAt: null, ...facts }, now);
    expect(r?.code ?? null).toBe(code);
    if (r) expect(r.kind).toBe('state');
  });
});

describe('the iSMA variant (GT-4)', () => {
  const request = { method: 'isma' as const, basis: 'supplier_isma_request' as const, basisPartyId: 'S1' };
  const consent = { method: 'isma' as const, basis: 'customer_consent' as const, basisPartyId: null };
  const profile = { method: 'profile' as const, basis: null, basisPartyId: null };
  const legacy = { method: 'isma' as const, basis: null, basisPartyId: null }; // recorded before bases were

  it.each([
    [null, 'S1', false, false], // none recorded: profile (AL-4)
    [legacy, 'S1', false, false],
    [request, 'S1', false, true],
    [request, 'S2', false, false], // S1's request lapsed with its supply
    [consent, 'S2', false, true],
    [profile, 'S1', false, false],
    [request, 'S1', true, false], // opted out of remote reading (AL-5)
  ] as const)('basis %o, supplier %s, opted out %s: on iSMA %s', (basis, supplier, remoteReadingOptOut, on) => {
    expect(onIsmaAt({ basis, supplierOfRecordId: supplier, remoteReadingOptOut })).toBe(on);
  });

  it.each([
    // party, supplier of record at the signal, basis, opted out → verdict
    ['S1', 'S1', request, false, { applies: true }],
    ['SP', 'S1', request, false, { applies: false, why: 'party_not_supplier' }], // a service provider's case
    ['S2', 'S1', request, false, { applies: false, why: 'party_not_supplier' }], // a supplier not supplying it
    ['S1', null, consent, false, { applies: false, why: 'party_not_supplier' }],
    ['S1', 'S1', null, false, { applies: false, why: 'not_on_isma' }],
    ['S1', 'S1', profile, false, { applies: false, why: 'not_on_isma' }],
    ['S1', 'S1', request, true, { applies: false, why: 'not_on_isma' }],
    ['S1', 'S1', consent, false, { applies: false, why: 'basis_not_supplier_request' }],
  ] as const)(
    'case against %s, supplier of record %s, basis %o, opted out %s: %o',
    (partyId, sor, basis, optOut, v) => {
      expect(gt4Applies({ partyId, supplierOfRecordId: sor, basis, remoteReadingOptOut: optOut })).toEqual(v);
    },
  );

  const facts = { connectionEan: '871234567890123456', at: new Date('2026-03-10T10:00:00Z') };
  const applies = { applies: true } as const;
  it('derived when not stated; true refused where GT-4 cannot apply, saying why; false is the handler’s statement', () => {
    expect(ismaVariant(undefined, applies, facts)).toEqual({ isma: true, derived: true });
    expect(ismaVariant(true, applies, facts)).toEqual({ isma: true, derived: false });
    expect(ismaVariant(false, applies, facts)).toEqual({ isma: false, derived: false });
    for (const why of ['party_not_supplier', 'not_on_isma', 'basis_not_supplier_request'] as const) {
      const v = { applies: false, why } as const;
      expect(ismaVariant(undefined, v, facts)).toEqual({ isma: false, derived: true });
      expect(ismaVariant(false, v, facts)).toEqual({ isma: false, derived: false });
    }
    const refusal = (why: 'party_not_supplier' | 'not_on_isma' | 'basis_not_supplier_request') =>
      ismaVariant(true, { applies: false, why }, facts);
    expect(refusal('party_not_supplier')).toMatchObject({
      kind: 'state',
      code: 'isma_party_not_supplier',
      field: 'isma',
    });
    expect(refusal('not_on_isma')).toMatchObject({ kind: 'state', code: 'connection_not_on_isma', field: 'isma' });
    expect(refusal('basis_not_supplier_request')).toMatchObject({
      kind: 'state',
      code: 'isma_not_supplier_request',
      field: 'isma',
    });
  });
});
