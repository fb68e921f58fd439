/**
 * api/plugins/input.ts boundDateTimes: the quick path for the usual shape of an instant answers as ajv-formats'
 * `date-time` with the year bound did before it (issue 21), on real Ajv instances as Fastify builds them.
 */
import { describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { boundDateTimes, plainDateTime } from '../../api/plugins/input.js';
import { DATE_TIME_YEARS } from '../../api/schemas/common.js';

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

const plain = new Ajv();
addFormats.default(plain);
const ajvFormatsDateTime = plain.compile({ type: 'string', format: 'date-time' });
/** What the API answered before the quick path: the year bound, then ajv-formats. */
const before = (s: string) => DATE_TIME_YEARS.pattern.test(s) && ajvFormatsDateTime(s);

const bounded = new Ajv();
addFormats.default(bounded);
boundDateTimes(bounded as unknown as Parameters<typeof boundDateTimes>[0]);
const now = bounded.compile({ type: 'string', format: 'date-time' });

describe('date-time with the year bound: the quick path answers as before', () => {
  it('agrees on 200,000 instants near the usual shape (bad months, days, hours, leap days and seconds, offsets)', () => {
    const next = random(2121);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!;
    const two = (max: number) => String(Math.floor(next() * (max + 1))).padStart(2, '0');
    const years = ['1899', '1900', '1999', '2000', '2024', '2026', '2100', '2400', '2999', '3000', '0999', '9999'];
    const seps = ['T', 'T', 'T', 't', ' ', '_'];
    const zones = ['Z', 'Z', 'z', '+01:00', '-05:30', '+0100', '+01', '+24:00', '+23:60', '', '-00:00'];
    const fractions = ['', '', '.000', '.5', '.123456', '.', '.x'];
    let quick = 0;
    for (let i = 0; i < 200_000; i++) {
      const s =
        `${pick(years)}-${two(13)}-${two(32)}${pick(seps)}${two(24)}:${two(60)}:${two(61)}${pick(fractions)}${pick(zones)}` +
        (next() < 0.01 ? ' ' : '');
      if (plainDateTime(s) !== undefined) quick += 1;
      if (now(s) !== before(s)) expect({ s, now: now(s) }).toEqual({ s, now: before(s) });
    }
    expect(quick).toBeGreaterThan(10_000); // the quick path was taken, and judged
  });

  it('agrees on hand-picked edges', () => {
    for (const s of [
      '2026-12-07T09:15:00Z',
      '2026-12-07T09:15:00.123+01:00',
      '2024-02-29T00:00:00Z',
      '2023-02-29T00:00:00Z',
      '2000-02-29T00:00:00Z',
      '2100-02-29T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-12-31T23:59:60Z',
      '2026-12-31T23:59:60+00:00',
      '2026-12-31t23:59:59z',
      '2026-12-31 23:59:59Z',
      '2026-12-31T23:59:59',
      '1899-12-31T23:59:59Z',
      '3000-01-01T00:00:00Z',
      '2026-00-10T00:00:00Z',
      '2026-01-00T00:00:00Z',
      '2026-1-10T00:00:00Z',
      '',
      'T',
    ])
      expect([s, now(s)]).toEqual([s, before(s)]);
  });
});
