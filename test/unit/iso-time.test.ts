import { describe, expect, it } from 'vitest';
import { isoFromMs, isoString, msFromIso } from '../../lib/iso-time.js';

/** A deterministic generator (mulberry32): the same instants on every run, failures reproducible. */
function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe('isoFromMs (lib/iso-time.ts): toISOString, character for character', () => {
  const first = new Date('0000-01-01T00:00:00.000Z').getTime();
  const last = new Date('9999-12-31T23:59:59.999Z').getTime();

  it('agrees on 200,000 random instants over years 0000–9999 and 100,000 over 1900–2999', () => {
    const next = random(21);
    const lo = new Date('1900-01-01T00:00:00Z').getTime();
    const hi = new Date('3000-01-01T00:00:00Z').getTime();
    for (let i = 0; i < 300_000; i++) {
      const ms = i < 200_000 ? first + Math.floor(next() * (last - first + 1)) : lo + Math.floor(next() * (hi - lo));
      const expected = new Date(ms).toISOString();
      if (isoFromMs(ms) !== expected) expect(isoFromMs(ms)).toBe(expected);
    }
  });

  it('agrees at the edges: epoch, leap days, century and 400-year leap rules, ends of years, both ends of the range', () => {
    const edges = [
      '1970-01-01T00:00:00.000Z',
      '1969-12-31T23:59:59.999Z',
      '2000-02-29T12:00:00.000Z',
      '1900-02-28T23:59:59.999Z',
      '1900-03-01T00:00:00.000Z',
      '2100-02-28T23:59:59.999Z',
      '2100-03-01T00:00:00.000Z',
      '2024-02-29T23:59:59.999Z',
      '2026-12-31T23:59:59.999Z',
      '2027-01-01T00:00:00.000Z',
      '0000-01-01T00:00:00.000Z',
      '0000-02-29T00:00:00.000Z',
      '0999-12-31T23:59:59.999Z',
      '9999-12-31T23:59:59.999Z',
    ];
    for (const text of edges) {
      const ms = new Date(text).getTime();
      for (const d of [-1, 0, 1]) expect(isoFromMs(ms + d)).toBe(new Date(ms + d).toISOString());
      expect(isoString(new Date(ms))).toBe(text);
    }
  });

  it('leaves other instants to Date: six-digit years, and invalid ones throw as toISOString does', () => {
    for (const ms of [first - 1, last + 1, -8.64e15, 8.64e15]) expect(isoFromMs(ms)).toBe(new Date(ms).toISOString());
    expect(() => isoFromMs(Number.NaN)).toThrow(RangeError);
    expect(() => isoString(new Date('not a date'))).toThrow(RangeError);
    expect(isoFromMs(1.5)).toBe(new Date(1.5).toISOString());
  });

  it('answers the same instant twice in a row from its memo, and the next one afresh', () => {
    const ms = Date.UTC(2026, 11, 7, 9, 15, 0, 123);
    expect(isoFromMs(ms)).toBe('2026-12-07T09:15:00.123Z');
    expect(isoFromMs(ms)).toBe('2026-12-07T09:15:00.123Z');
    expect(isoFromMs(ms + 1)).toBe('2026-12-07T09:15:00.124Z');
  });
});

describe('msFromIso (lib/iso-time.ts): Date.parse, for what clients send and the rest', () => {
  it('agrees with Date.parse on 200,000 random date-times of the usual shape and their near misses', () => {
    const next = random(4);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!;
    const two = (max: number) => String(Math.floor(next() * (max + 1))).padStart(2, '0');
    const zones = ['Z', '+01:00', '-05:30', '+23:59', '-00:00', '+24:00', 'z', '+0100', ''];
    const fractions = ['', '.1', '.12', '.123', '.1234', '.'];
    for (let i = 0; i < 200_000; i++) {
      const year = String(Math.floor(next() * 10_000)).padStart(4, '0');
      const s = `${year}-${two(13)}-${two(32)}${pick(['T', 'T', 't', ' '])}${two(24)}:${two(60)}:${two(60)}${pick(fractions)}${pick(zones)}`;
      const expected = Date.parse(s);
      if (!Object.is(msFromIso(s), expected)) expect([s, msFromIso(s)]).toEqual([s, expected]);
    }
  });

  it('agrees at the edges', () => {
    for (const s of [
      '1970-01-01T00:00:00Z',
      '1969-12-31T23:59:59.999Z',
      '2024-02-29T23:59:59.999+01:00',
      '2026-02-30T00:00:00Z', // rolls over, as Date does
      '2026-12-31T23:59:60Z',
      '0000-03-01T00:00:00Z',
      '9999-12-31T23:59:59.999-23:59',
      'not a date',
      '',
    ])
      expect([s, msFromIso(s)]).toEqual([s, Date.parse(s)]);
  });
});
