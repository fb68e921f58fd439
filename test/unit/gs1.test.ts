import { describe, expect, it } from 'vitest';
import { gs1CheckDigit, isDutchConnectionEan, isValidEan18, isValidGln13, withCheckDigit } from '../../lib/gs1.js';

// Every expected value below was computed by hand (weights 3,1,3,… from the rightmost body digit;
// check = (10 − sum mod 10) mod 10), not copied from the implementation.

describe('gs1CheckDigit', () => {
  it('EAN-13 4006381333931 (the textbook example)', () => {
    // body 400638133393, weights from left 1,3,1,3,…:
    // 4·1 + 0·3 + 0·1 + 6·3 + 3·1 + 8·3 + 1·1 + 3·3 + 3·1 + 3·3 + 9·1 + 3·3
    // = 4+0+0+18+3+24+1+9+3+9+9+9 = 89 → (10 − 9) = 1
    expect(gs1CheckDigit('400638133393')).toBe(1);
  });

  it('18-digit body 87168712345678901 → 1', () => {
    // 17 digits, weights from left 3,1,3,…:
    // weight-3 digits (positions 1,3,…,17): 8+1+8+1+3+5+7+9+1 = 43 → 129
    // weight-1 digits (positions 2,4,…,16): 7+6+7+2+4+6+8+0 = 40
    // 169 → (10 − 9) = 1
    expect(gs1CheckDigit('87168712345678901')).toBe(1);
  });

  it('18-digit body 87100000000000001 → 3', () => {
    // 8·3 + 7·1 + 1·3 + 1·3 (last digit, weight 3) = 37 → 3
    expect(gs1CheckDigit('87100000000000001')).toBe(3);
  });

  it('check digit 0 when the sum is a multiple of 10', () => {
    // 8·3 + 7·1 + 1·3 + 2·3 = 40 → (10 − 0) mod 10 = 0
    expect(gs1CheckDigit('87100000000000002')).toBe(0);
  });

  it('GS1 SSCC example body 10614141123456789 → 7', () => {
    // weight-3: 1+6+4+4+1+3+5+7+9 = 40 → 120; weight-1: 0+1+1+1+2+4+6+8 = 23; 143 → 7
    expect(gs1CheckDigit('10614141123456789')).toBe(7);
  });

  it('GLN body 871242301020 → 8', () => {
    // 12 digits, weights from left 1,3,1,3,…:
    // weight-1: 8+1+4+3+1+2 = 19; weight-3: 7+2+2+0+0+0 = 11 → 33; 52 → 8
    expect(gs1CheckDigit('871242301020')).toBe(8);
  });

  it('GLN body 061414100000 → 5', () => {
    // weight-1: 0+1+1+1+0+0 = 3; weight-3: 6+4+4+0+0+0 = 14 → 42; 45 → 5
    expect(gs1CheckDigit('061414100000')).toBe(5);
  });

  it('single digit and all zeros', () => {
    expect(gs1CheckDigit('1')).toBe(7); // 1·3 = 3 → 7
    expect(gs1CheckDigit('0000000000000')).toBe(0);
  });

  it('rejects non-digit bodies', () => {
    for (const bad of ['', ' 1', '12a', '1.2', '-1', '１２３', '12 34']) {
      expect(() => gs1CheckDigit(bad), JSON.stringify(bad)).toThrow(RangeError);
    }
    expect(() => gs1CheckDigit(123 as unknown as string)).toThrow(RangeError);
  });
});

describe('withCheckDigit', () => {
  it('appends the hand-computed check digit', () => {
    expect(withCheckDigit('87168712345678901')).toBe('871687123456789011');
    expect(withCheckDigit('87100000000000002')).toBe('871000000000000020');
    expect(withCheckDigit('871242301020')).toBe('8712423010208');
  });

  it('round-trips with the validators for generated demo codes', () => {
    for (let i = 0; i < 50; i += 1) {
      const body = `871${String(i * 7919).padStart(14, '0')}`;
      const ean = withCheckDigit(body);
      expect(ean).toHaveLength(18);
      expect(isValidEan18(ean)).toBe(true);
      expect(isDutchConnectionEan(ean)).toBe(true);
    }
  });
});

describe('isValidEan18', () => {
  it('accepts valid 18-digit codes, Dutch or not', () => {
    expect(isValidEan18('871687123456789011')).toBe(true);
    expect(isValidEan18('871000000000000013')).toBe(true);
    expect(isValidEan18('871000000000000020')).toBe(true);
    expect(isValidEan18('106141411234567897')).toBe(true);
  });

  it('rejects every wrong check digit', () => {
    for (let d = 0; d <= 9; d += 1) {
      if (d === 1) continue;
      expect(isValidEan18(`87168712345678901${d}`)).toBe(false);
    }
  });

  it('detects an adjacent transposition (positions 4 and 5: 6,8 → 8,6)', () => {
    // sum changes by (8·1 + 6·3) − (6·1 + 8·3) = −4 → 165 → check would be 5, not 1
    expect(isValidEan18('871867123456789011')).toBe(false);
  });

  it('rejects wrong lengths and non-digits', () => {
    expect(isValidEan18('87168712345678901')).toBe(false); // 17
    expect(isValidEan18('8716871234567890111')).toBe(false); // 19
    expect(isValidEan18('4006381333931')).toBe(false); // valid EAN-13, wrong length
    expect(isValidEan18('')).toBe(false);
    expect(isValidEan18('87168712345678901A')).toBe(false);
    expect(isValidEan18(' 871687123456789011')).toBe(false);
    expect(isValidEan18('871687123456789011 ')).toBe(false);
    expect(isValidEan18('871 687 123 456 789 011')).toBe(false);
    expect(isValidEan18(871687123456789011 as unknown as string)).toBe(false);
    expect(isValidEan18(undefined as unknown as string)).toBe(false);
  });
});

describe('isDutchConnectionEan', () => {
  it('requires a valid code with prefix 871', () => {
    expect(isDutchConnectionEan('871687123456789011')).toBe(true);
    expect(isDutchConnectionEan('106141411234567897')).toBe(false); // valid, not Dutch
    expect(isDutchConnectionEan('871687123456789012')).toBe(false); // Dutch prefix, bad check digit
    expect(isDutchConnectionEan('8716871234567890')).toBe(false);
  });
});

describe('isValidGln13', () => {
  it('accepts valid 13-digit codes', () => {
    expect(isValidGln13('8712423010208')).toBe(true);
    expect(isValidGln13('0614141000005')).toBe(true);
    expect(isValidGln13('4006381333931')).toBe(true);
  });

  it('rejects a wrong check digit (8712423010203 is NOT valid: the check digit is 8)', () => {
    expect(isValidGln13('8712423010203')).toBe(false);
    expect(isValidGln13('4006381333932')).toBe(false);
  });

  it('rejects wrong lengths and non-digits', () => {
    expect(isValidGln13('871242301020')).toBe(false);
    expect(isValidGln13('87124230102080')).toBe(false);
    expect(isValidGln13('871687123456789011')).toBe(false);
    expect(isValidGln13('871242301020x')).toBe(false);
    expect(isValidGln13('')).toBe(false);
  });
});
