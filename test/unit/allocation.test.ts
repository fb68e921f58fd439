/**
 * The allocation rules as pure functions (domain/allocation.ts, domain/allocation-profiles.ts): the market
 * day and its DST lengths, AL-2 validation of a day's registers, the method in force per quarter-hour
 * (AL-4, AL-5, AL-6, GT-4) at off-quarter-hour moments, exact volumes, the difference report, and the
 * profile file (the sector's layout; the generated set sums to exactly 1).
 */
import { describe, expect, it } from 'vitest';
import {
  allocateConnectionDay,
  allocateQuarterHours,
  allocationDay,
  dayHasEnded,
  differences,
  judgeDayRegisters,
  isDay,
  pwhToWh,
  quarterHourStart,
  quarterHourVolumePwh,
  registerPositions,
  whToPwh,
  basisOutcome,
  checkAllocationBasis,
  type ConnectionDayFacts,
  type MethodPeriod,
} from '../../domain/allocation.js';
import {
  generateProfileFile,
  GENERATED_CATEGORIES,
  parseFraction,
  parseProfileFile,
  ProfileFileError,
  yearDays,
} from '../../domain/allocation-profiles.js';

const DAY = '2025-03-12';
const d = allocationDay(DAY);
const at = (hh: number, mm: number) =>
  new Date(`${DAY}T${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:00+01:00`);

/** iSMA on the customer's consent since ever: the basis these facts have unless a test says otherwise. */
const CONSENT: MethodPeriod = { from: new Date(0), method: 'isma', basis: 'customer_consent', basisPartyId: null };
const PROFILE_SINCE_EVER: MethodPeriod = { from: new Date(0), method: 'profile', basis: null, basisPartyId: null };

function facts(o: Partial<ConnectionDayFacts> = {}): ConnectionDayFacts {
  return {
    connectionEan: '871000000000000001',
    parties: [{ from: new Date(0), supplierId: 'S1', balanceResponsiblePartyId: 'B1', gridArea: 'A' }],
    methods: [CONSENT],
    zeroPeriods: [],
    remoteReadingOptOut: false,
    offtake: Array.from({ length: 97 }, (_, i) => 1000 + i * 10),
    feedIn: Array.from({ length: 97 }, () => 0),
    readingsRejected: false,
    profile: { offtakeCategory: 'T1', feedInCategory: 'T1', annualOfftakeKwh: 3000, annualFeedInKwh: 0 },
    ...o,
  };
}

describe('the market day', () => {
  it('has 96 quarter-hours, 92 on the spring DST switch and 100 on the autumn one (Europe/Amsterdam)', () => {
    expect(d).toMatchObject({
      quarterHours: 96,
      start: new Date('2025-03-11T23:00:00Z'),
      end: new Date('2025-03-12T23:00:00Z'),
    });
    expect(allocationDay('2025-03-30').quarterHours).toBe(92);
    expect(allocationDay('2025-10-26').quarterHours).toBe(100);
    expect(allocationDay('2025-07-01').start).toEqual(new Date('2025-06-30T22:00:00Z'));
    expect(isDay('2025-02-30')).toBe(false);
    expect(() => allocationDay('12-03-2025')).toThrow(RangeError);
    expect(quarterHourStart(d, 41)).toEqual(at(10, 0));
  });

  it('a register read at midnight closes one day and opens the next (AL-1)', () => {
    expect(registerPositions(new Date('2025-03-11T23:00:00Z'))).toEqual([
      { day: '2025-03-11', index: 96 },
      { day: '2025-03-12', index: 0 },
    ]);
    expect(registerPositions(at(10, 0))).toEqual([{ day: DAY, index: 40 }]);
    expect(registerPositions(new Date('2025-03-30T22:00:00Z'))).toEqual([
      { day: '2025-03-30', index: 92 },
      { day: '2025-03-31', index: 0 },
    ]);
  });
});

describe('AL-1: a day is allocated afterwards', () => {
  it('has ended at 24:00 Amsterdam time, not a moment before (also on the DST days); years outside 1900-2999 are no day', () => {
    expect(dayHasEnded(DAY, new Date('2025-03-12T22:59:59.999Z'))).toBe(false);
    expect(dayHasEnded(DAY, new Date('2025-03-12T23:00:00Z'))).toBe(true);
    // 30 March 2025 has 23 hours (ends 22:00Z), 26 October 25 (ends 23:00Z); summer days end at 22:00Z.
    expect(dayHasEnded('2025-03-30', new Date('2025-03-30T21:59:59Z'))).toBe(false);
    expect(dayHasEnded('2025-03-30', new Date('2025-03-30T22:00:00Z'))).toBe(true);
    expect(dayHasEnded('2025-10-26', new Date('2025-10-26T22:59:59Z'))).toBe(false);
    expect(dayHasEnded('2025-10-26', new Date('2025-10-26T23:00:00Z'))).toBe(true);
    expect(dayHasEnded('2030-01-01', new Date('2026-01-01T00:00:00Z'))).toBe(false);
    expect(isDay('0000-01-01')).toBe(false);
    expect(isDay('1899-12-31')).toBe(false);
    expect(isDay('3000-01-01')).toBe(false);
    expect(isDay('1900-01-01')).toBe(true);
  });
});

describe('AL-2: a day of registers', () => {
  const regs = (...steps: Array<number | null>) => {
    let v = 1000;
    return [v, ...steps.map((s) => (s === null ? null : (v += s)))].concat(
      Array.from({ length: 96 - steps.length }, () => null),
    );
  };

  it('accepts increasing registers within capacity, also across unread ones', () => {
    // 4 kW: 1000 Wh per quarter-hour; 2000 Wh over the two quarter-hours around an unread register.
    expect(judgeDayRegisters(d, regs(500, null, 2000), 4)).toMatchObject({ ok: true });
    expect(judgeDayRegisters(d, regs(500, null, 2001), 4)).toMatchObject({
      ok: false,
      code: 'volume_exceeds_capacity',
      index: 3,
    });
    expect(judgeDayRegisters(d, regs(500, -1), 4)).toMatchObject({ ok: false, code: 'register_decreased', index: 2 });
  });

  it('is judged against what is stored: stored values are final, gaps are filled, the neighbours’ edges count', () => {
    const stored = regs(100, 100);
    const merged = judgeDayRegisters(d, [null, null, null, 1300, ...Array.from({ length: 93 }, () => null)], 4, {
      sameDay: stored,
    });
    expect(merged.ok).toBe(true);
    expect(merged.merged.slice(0, 4)).toEqual([1000, 1100, 1200, 1300]);
    expect(judgeDayRegisters(d, regs(150), 4, { sameDay: stored })).toMatchObject({
      ok: false,
      code: 'conflicts_with_stored',
      index: 1,
    });
    expect(judgeDayRegisters(d, regs(100), 4, { previousClose: 999 })).toMatchObject({
      ok: false,
      code: 'conflicts_with_stored',
      index: 0,
    });
    expect(
      judgeDayRegisters(d, [null, 1100, ...Array.from({ length: 95 }, () => null)], 4, {
        previousClose: 1000,
      }).merged.slice(0, 2),
    ).toEqual([1000, 1100]);
    expect(judgeDayRegisters(d, regs(100), 4, { nextOpen: 900 })).toMatchObject({
      ok: false,
      code: 'register_decreased',
      index: 96,
    });
  });
});

describe('the method in force per quarter-hour', () => {
  it('measured when both registers of the quarter-hour were read; profile, estimated, otherwise (AL-1)', () => {
    const off = facts().offtake!.map((v, i) => (i === 10 ? null : v));
    const qhs = allocateQuarterHours(d, facts({ offtake: off }));
    // Register 10 unread: quarter-hours 10 (registers 9–10) and 11 (10–11) lack an end.
    expect(qhs.map((q) => q.offtake.method).slice(8, 13)).toEqual([
      'measured',
      'profile',
      'profile',
      'measured',
      'measured',
    ]);
    expect(qhs[9]!.offtake.reason).toBe('readings_missing');
    expect(qhs[9]!.feedIn).toEqual({ method: 'measured', reason: null });
    expect(allocateQuarterHours(d, facts({ offtake: off, readingsRejected: true }))[9]!.offtake.reason).toBe(
      'readings_invalid',
    );
    expect(allocateQuarterHours(d, facts({ offtake: null }))[0]!.offtake).toEqual({
      method: 'profile',
      reason: 'readings_missing',
    });
  });

  it('in order: not allocated, then ‘0’ (AL-6), then profile method (AL-4), then opted out (AL-5)', () => {
    const all = {
      zeroPeriods: [{ start: new Date(0), end: null }],
      methods: [PROFILE_SINCE_EVER],
      remoteReadingOptOut: true,
    };
    expect(
      allocateQuarterHours(
        d,
        facts({
          ...all,
          parties: [{ from: new Date(0), supplierId: null, balanceResponsiblePartyId: null, gridArea: 'A' }],
        }),
      )[0],
    ).toMatchObject({
      cell: null,
      offtake: { method: 'unallocated', reason: 'no_supplier' },
    });
    expect(
      allocateQuarterHours(
        d,
        facts({
          ...all,
          parties: [{ from: new Date(0), supplierId: 'S1', balanceResponsiblePartyId: null, gridArea: 'A' }],
        }),
      )[0]!.offtake.reason,
    ).toBe('no_balance_responsible_party');
    expect(allocateQuarterHours(d, facts(all))[0]!.offtake).toEqual({ method: 'zero', reason: 'doubt_case_open' });
    expect(allocateQuarterHours(d, facts({ ...all, zeroPeriods: [] }))[0]!.offtake).toEqual({
      method: 'profile',
      reason: 'profile_method',
    });
    expect(allocateQuarterHours(d, facts({ remoteReadingOptOut: true }))[0]!.offtake).toEqual({
      method: 'profile',
      reason: 'opted_out',
    });
    expect(allocateQuarterHours(d, facts())[0]!.offtake.method).toBe('measured');
    // No basis recorded: profile, before opted out (the method, not missing data: not estimated).
    expect(allocateQuarterHours(d, facts({ methods: [], remoteReadingOptOut: true }))[0]!.offtake).toEqual({
      method: 'profile',
      reason: 'no_allocation_basis',
    });
  });

  it('AL-4: iSMA only on a basis in force; a supplier’s iSMA request only while that supplier supplies', () => {
    const request = (party: string, from = new Date(0)): MethodPeriod => ({
      from,
      method: 'isma',
      basis: 'supplier_isma_request',
      basisPartyId: party,
    });
    expect(basisOutcome(null, 'S1')).toBe('no_allocation_basis');
    expect(basisOutcome({ method: 'isma', basis: null, basisPartyId: null }, 'S1')).toBe('no_allocation_basis');
    expect(basisOutcome(PROFILE_SINCE_EVER, 'S1')).toBe('profile_method');
    expect(basisOutcome(request('S1'), 'S1')).toBe('isma');
    expect(basisOutcome(request('S1'), 'S2')).toBe('no_allocation_basis');
    expect(basisOutcome(request('S1'), null)).toBe('no_allocation_basis');
    expect(basisOutcome(CONSENT, null)).toBe('isma');
    expect(basisOutcome({ ...CONSENT, basis: 'legal_provision' }, 'S2')).toBe('isma');
    // S1's request; S1 hands over to S2 at 10:07 (from quarter-hour 42); S2's own request from 12:00.
    const f = facts({
      parties: [
        { from: new Date(0), supplierId: 'S1', balanceResponsiblePartyId: 'B1', gridArea: 'A' },
        { from: at(10, 7), supplierId: 'S2', balanceResponsiblePartyId: 'B1', gridArea: 'A' },
      ],
      methods: [request('S1'), request('S2', at(12, 0))],
    });
    expect(allocateConnectionDay(d, f).map((x) => [x.qhFrom, x.qhTo, x.offtake.method, x.offtake.reason])).toEqual([
      [1, 41, 'measured', null],
      [42, 48, 'profile', 'no_allocation_basis'],
      [49, 96, 'measured', null],
    ]);
  });

  it('a new basis period says what it must (AL-4): iSMA its basis, a legal provision its reference, a request the supplier of record’s', () => {
    const iSma = { method: 'isma' as const, supplierId: null, reference: null, supplierOfRecordId: 'S1' };
    expect(checkAllocationBasis({ ...iSma, basis: 'supplier_isma_request' })).toEqual({ basisPartyId: 'S1' });
    expect(checkAllocationBasis({ ...iSma, basis: 'supplier_isma_request', supplierId: 'S1' })).toEqual({
      basisPartyId: 'S1',
    });
    expect(checkAllocationBasis({ ...iSma, basis: 'customer_consent' })).toEqual({ basisPartyId: null });
    expect(checkAllocationBasis({ ...iSma, basis: 'legal_provision', reference: 'Energiewet art. x' })).toEqual({
      basisPartyId: null,
    });
    const code = (f: Parameters<typeof checkAllocationBasis>[0]) => {
      const r = checkAllocationBasis(f);
      return 'code' in r ? [r.kind, r.code, r.field] : null;
    };
    expect(code({ ...iSma, basis: null })).toEqual(['validation', 'allocation_basis_required', 'basis']);
    expect(code({ ...iSma, basis: 'legal_provision' })).toEqual([
      'validation',
      'allocation_basis_reference_required',
      'reference',
    ]);
    expect(code({ ...iSma, basis: 'supplier_isma_request', supplierId: 'S2' })).toEqual([
      'state',
      'allocation_basis_supplier_not_of_record',
      'supplierGln',
    ]);
    expect(code({ ...iSma, basis: 'supplier_isma_request', supplierOfRecordId: null })).toEqual([
      'state',
      'allocation_basis_supplier_not_of_record',
      'supplierGln',
    ]);
    expect(code({ ...iSma, basis: 'customer_consent', supplierId: 'S1' })).toEqual([
      'validation',
      'allocation_basis_not_applicable',
      'supplierGln',
    ]);
    const profile = { ...iSma, method: 'profile' as const, basis: null };
    expect(checkAllocationBasis(profile)).toEqual({ basisPartyId: null });
    expect(code({ ...profile, basis: 'customer_consent' })).toEqual([
      'validation',
      'allocation_basis_not_applicable',
      'basis',
    ]);
  });

  it('a switch at 10:07 applies from the quarter-hour 10:15; a ‘0’ period counts in every quarter-hour it touches (GT-4)', () => {
    const f = facts({
      parties: [
        { from: new Date(0), supplierId: 'S1', balanceResponsiblePartyId: 'B1', gridArea: 'A' },
        { from: at(10, 7), supplierId: 'S2', balanceResponsiblePartyId: 'B2', gridArea: 'A' },
      ],
      zeroPeriods: [{ start: at(6, 10), end: at(8, 0) }],
      methods: [CONSENT, { from: at(8, 0), method: 'profile', basis: null, basisPartyId: null }],
    });
    const segments = allocateConnectionDay(d, f).map((s) => [
      s.qhFrom,
      s.qhTo,
      s.cell?.supplierId ?? null,
      s.offtake.method,
      s.offtake.reason,
    ]);
    expect(segments).toEqual([
      [1, 24, 'S1', 'measured', null],
      [25, 32, 'S1', 'zero', 'doubt_case_open'], // 06:00–08:00: the period starts at 06:10, inside quarter-hour 25
      [33, 41, 'S1', 'profile', 'profile_method'], // "not demonstrated" at 08:00: profile from then on
      [42, 96, 'S2', 'profile', 'profile_method'], // the switch at 10:07 counts from 10:15 (quarter-hour 42)
    ]);
  });

  it('volumes are exact: measured register differences, fraction × annual kWh × 1000', () => {
    const f = facts({
      profile: { offtakeCategory: 'T1', feedInCategory: 'T1', annualOfftakeKwh: 3000, annualFeedInKwh: 0 },
    });
    const fractions = new Map([['T1', Array.from({ length: 96 }, () => 12_345_678_901n)]]); // 0.000012345678901
    expect(pwhToWh(quarterHourVolumePwh({ method: 'measured', reason: null }, 5, 'offtake', f, fractions))).toBe('10');
    expect(pwhToWh(quarterHourVolumePwh({ method: 'profile', reason: 'opted_out' }, 5, 'offtake', f, fractions))).toBe(
      '37.037036703',
    );
    expect(pwhToWh(quarterHourVolumePwh({ method: 'profile', reason: 'opted_out' }, 5, 'feed_in', f, new Map()))).toBe(
      '0',
    );
    expect(
      pwhToWh(quarterHourVolumePwh({ method: 'zero', reason: 'doubt_case_open' }, 5, 'offtake', f, fractions)),
    ).toBe('0');
    expect(whToPwh('37.037036703')).toBe(37_037_036_703_000n);
    expect(pwhToWh(whToPwh('-0.5'))).toBe('-0.5');
  });

  it('the difference report lists changed, added and removed aggregates', () => {
    const prev = new Map([
      ['a', 10n],
      ['b', 20n],
      ['c', 30n],
    ]);
    const cur = new Map([
      ['a', 10n],
      ['b', 25n],
      ['d', 5n],
    ]);
    expect(differences(prev, cur)).toEqual([
      { key: 'b', previousPwh: 20n, currentPwh: 25n, deltaPwh: 5n },
      { key: 'c', previousPwh: 30n, currentPwh: null, deltaPwh: -30n },
      { key: 'd', previousPwh: null, currentPwh: 5n, deltaPwh: 5n },
    ]);
  });
});

describe('AL-4 profile file', () => {
  it('the generated set: every category sums to exactly 1 over the year, DST days have 92 and 100 quarter-hours', () => {
    const set = parseProfileFile(2025, generateProfileFile(2025));
    expect(set.categories).toEqual([...GENERATED_CATEGORIES]);
    expect(set.days).toHaveLength(365);
    for (const c of set.categories) {
      expect(
        set.days.reduce((s, day) => s + day.fractions.get(c)!.reduce((a, b) => a + b, 0n), 0n),
        c,
      ).toBe(10n ** 15n);
    }
    const byDay = new Map(set.days.map((x) => [x.day, x]));
    expect(byDay.get('2025-03-30')!.fractions.get('E1A')).toHaveLength(92);
    expect(byDay.get('2025-10-26')!.fractions.get('E1A')).toHaveLength(100);
    // Day and season shape: the evening peak above the night, solar only by day and more in June.
    const e1a = byDay.get('2025-01-15')!.fractions.get('E1A')!;
    expect(e1a[19 * 4]! > 2n * e1a[3 * 4]!).toBe(true);
    const pv = (day: string) => byDay.get(day)!.fractions.get('PV')!;
    expect(pv('2025-06-21')[2 * 4]).toBe(0n);
    expect(pv('2025-06-21')[13 * 4]! > 3n * pv('2025-12-21')[13 * 4]!).toBe(true);
    expect(yearDays(2024).reduce((s, x) => s + x.quarterHours, 0)).toBe(35136);
  });

  it('reads the sector layout: ; with decimal comma, time columns skipped; refuses wrong row counts and sums', () => {
    expect(parseFraction('0,0000312', true)).toBe(31_200_000_000n);
    expect(parseFraction('0.0000000000000005', false)).toBe(1n); // rounded half up at 15 decimals
    expect(parseFraction('3.1e-5', false)).toBeNull();
    const rows = yearDays(2025).reduce((s, x) => s + x.quarterHours, 0);
    const even = (1 / rows).toFixed(15).replace('.', ',');
    const file = ['"Datum";"Van";"Tot";"E1A"', ...Array.from({ length: rows }, () => `"x";"x";"x";"${even}"`)].join(
      '\n',
    );
    expect(parseProfileFile(2025, file).categories).toEqual(['E1A']);
    expect(() => parseProfileFile(2025, file.split('\n').slice(0, -1).join('\n'))).toThrow(ProfileFileError);
    const doubled = [
      'Datum;E1A',
      ...Array.from({ length: rows }, () => `x;${(2 / rows).toFixed(15).replace('.', ',')}`),
    ].join('\n');
    expect(() => parseProfileFile(2025, doubled)).toThrow(/sums to/);
  });
});
