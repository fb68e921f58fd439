/**
 * Issue 21 (decisions/0020): which months of a grid user's DC-5 window the per-party statistics take from the month
 * counts, and the register spans left: counted months wholly inside [since, now) only, the rest of [since, ∞)
 * covered once, so the two parts add up to the raw statement (`decided_at >= since`).
 */
import { describe, expect, it } from 'vitest';
import { parseRegisterMonth, registerCountsSplit, type RegisterMonth } from '../../domain/register-partitions.js';

const month = (yyyymm: string): RegisterMonth => parseRegisterMonth(`access_register_p${yyyymm}`)!;
const at = (iso: string) => new Date(iso);
const names = (ms: RegisterMonth[]) => ms.map((m) => m.name.slice(-6));
const spans = (rs: Array<{ from: Date; to: Date | null }>) =>
  rs.map((r) => [r.from.toISOString(), r.to?.toISOString() ?? null]);

describe('registerCountsSplit', () => {
  const now = at('2036-06-10T12:00:00Z');

  it('nothing counted: the whole window from the register, open-ended', () => {
    const r = registerCountsSplit([], at('2035-06-15T08:00:00Z'), now);
    expect(r.counted).toEqual([]);
    expect(spans(r.rest)).toEqual([['2035-06-15T08:00:00.000Z', null]]);
  });

  it('the month holding `since` is read from the register even when counted (its rows before since are not the grid user’s)', () => {
    const r = registerCountsSplit([month('203506'), month('203507'), month('203508')], at('2035-06-15T08:00:00Z'), now);
    expect(names(r.counted)).toEqual(['203507', '203508']);
    expect(spans(r.rest)).toEqual([
      ['2035-06-15T08:00:00.000Z', '2035-07-01T00:00:00.000Z'],
      ['2035-09-01T00:00:00.000Z', null],
    ]);
  });

  it('`since` on a month’s first instant: that month is wholly inside and may be counted', () => {
    const r = registerCountsSplit([month('203506'), month('203507')], at('2035-06-01T00:00:00Z'), now);
    expect(names(r.counted)).toEqual(['203506', '203507']);
    expect(spans(r.rest)).toEqual([['2035-08-01T00:00:00.000Z', null]]);
  });

  it('a gap of uncounted months is a register span between counted ones; order and duplicates do not matter', () => {
    const r = registerCountsSplit(
      [month('203603'), month('203509'), month('203510'), month('203509'), month('203604')],
      at('2035-08-20T00:00:00Z'),
      now,
    );
    expect(names(r.counted)).toEqual(['203509', '203510', '203603', '203604']);
    expect(spans(r.rest)).toEqual([
      ['2035-08-20T00:00:00.000Z', '2035-09-01T00:00:00.000Z'],
      ['2035-11-01T00:00:00.000Z', '2036-03-01T00:00:00.000Z'],
      ['2036-05-01T00:00:00.000Z', null],
    ]);
  });

  it('months before `since` and months not ended by `now` are never counted', () => {
    const r = registerCountsSplit(
      [month('203504'), month('203605'), month('203606')],
      at('2035-06-15T00:00:00Z'),
      at('2036-06-01T00:00:00Z'),
    );
    expect(names(r.counted)).toEqual(['203605']);
    expect(spans(r.rest)).toEqual([
      ['2035-06-15T00:00:00.000Z', '2036-05-01T00:00:00.000Z'],
      ['2036-06-01T00:00:00.000Z', null],
    ]);
    // The current month, even if (wrongly) marked counted, stays with the register.
    expect(registerCountsSplit([month('203606')], at('2035-06-15T00:00:00Z'), now).counted).toEqual([]);
  });

  it('`since` after now (a grid user from a future switch): nothing counted', () => {
    const r = registerCountsSplit([month('203605')], at('2036-07-01T00:00:00Z'), now);
    expect(r.counted).toEqual([]);
    expect(spans(r.rest)).toEqual([['2036-07-01T00:00:00.000Z', null]]);
  });
});
