/**
 * domain/case.ts, issue 10's rules as tables: what a withdrawal does per reason code (GT-7, GT-8), when the
 * handler may ask for more evidence (GT-3), and the iSMA variant from the connection (GT-4, AL-4, AL-5).
 */
import { describe, expect, it } from 'vitest';
import {
  WITHDRAWAL_REASONS,
  checkEvidenceRequest,
  closingEffects,
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
  it.each([
    [null, false, true], // none recorded: iSMA, the smart-meter default (AL-4)
    ['isma', false, true],
    ['profile', false, false],
    ['isma', true, false], // opted out of remote reading (AL-5)
    [null, true, false],
  ] as const)('method %s, opted out %s: on iSMA %s', (method, remoteReadingOptOut, on) => {
    expect(onIsmaAt({ method, remoteReadingOptOut })).toBe(on);
  });

  const facts = { connectionEan: '871234567890123456', at: new Date('2026-03-10T10:00:00Z') };
  it('derived when not stated; true refused for a connection not on iSMA; false is the handler’s statement', () => {
    expect(ismaVariant(undefined, true, facts)).toEqual({ isma: true, derived: true });
    expect(ismaVariant(undefined, false, facts)).toEqual({ isma: false, derived: true });
    expect(ismaVariant(true, true, facts)).toEqual({ isma: true, derived: false });
    expect(ismaVariant(false, true, facts)).toEqual({ isma: false, derived: false });
    expect(ismaVariant(false, false, facts)).toEqual({ isma: false, derived: false });
    expect(ismaVariant(true, false, facts)).toMatchObject({
      kind: 'state',
      code: 'connection_not_on_isma',
      field: 'isma',
    });
  });
});
