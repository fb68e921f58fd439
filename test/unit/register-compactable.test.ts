/**
 * Issue 21 (decisions/0019): which register months the daily run may compact: a month whose end is a day or more
 * behind the run's instant (no writer can still register into it), never the current month nor one just closed.
 */
import { describe, expect, it } from 'vitest';
import {
  parseRegisterMonth,
  REGISTER_COMPACT_AFTER_MS,
  registerMonthCompactable,
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
