/**
 * Issue 21 (decisions/0019): which register months the daily run may compact: a month whose end is a day or more
 * behind the run's instant (no writer can still register into it), never the current month nor one just closed.
 */
import { describe, expect, it } from 'vitest';
import {
  parseRegisterMonth,
  REGISTER_COMPACT_AFTER_MS,
  registerMonthCompactable,
  registerPartyDayIndexKept,
} from '../../domain/register-partitions.js';

const march = parseRegisterMonth('access_register_p203603')!;
const at = (iso: string) => new Date(iso);

describe('registerMonthCompactable', () => {
  it('not while the month is current, nor within the day after its end', () => {
    expect(registerMonthCompactable(march, at('2036-03-15T12:00:00Z'))).toBe(false);
    expect(registerMonthCompactable(march, at('2036-04-01T00:00:00Z'))).toBe(false);
    expect(registerMonthCompactable(march, at('2036-04-01T23:59:59.999Z'))).toBe(false);
  });

  it('from exactly a day after its end on', () => {
    expect(REGISTER_COMPACT_AFTER_MS).toBe(86_400_000);
    expect(registerMonthCompactable(march, at('2036-04-02T00:00:00Z'))).toBe(true);
    expect(registerMonthCompactable(march, at('2037-01-01T00:00:00Z'))).toBe(true);
  });
});

describe('registerPartyDayIndexKept (REGISTER_PARTY_DAY_INDEX_MONTHS)', () => {
  it('keeps the covering party-day index on the keepMonths most recent months, the current one counted', () => {
    // asOf in May 2036: with 3 months kept, May, April and March keep it; February does not.
    const may = at('2036-05-20T08:00:00Z');
    expect(registerPartyDayIndexKept(march, may, 3)).toBe(true);
    expect(registerPartyDayIndexKept(parseRegisterMonth('access_register_p203602')!, may, 3)).toBe(false);
    // On the first instant of June, March is the fourth month back.
    expect(registerPartyDayIndexKept(march, at('2036-05-31T23:59:59.999Z'), 3)).toBe(true);
    expect(registerPartyDayIndexKept(march, at('2036-06-01T00:00:00Z'), 3)).toBe(false);
    // Across a year's end.
    expect(
      registerPartyDayIndexKept(parseRegisterMonth('access_register_p203512')!, at('2036-02-10T00:00:00Z'), 3),
    ).toBe(true);
    expect(
      registerPartyDayIndexKept(parseRegisterMonth('access_register_p203511')!, at('2036-02-10T00:00:00Z'), 3),
    ).toBe(false);
  });

  it('0: no month keeps it', () => {
    expect(registerPartyDayIndexKept(march, at('2036-03-15T00:00:00Z'), 0)).toBe(false);
  });
});
