/**
 * The bulk readings import (services/allocation/import.ts, AL-1, AL-2) on the real database: what it stores,
 * what it rejects and records, across batch boundaries, and that a failed import stores nothing.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { loadDays } from '../../db/repositories/reading-days.js';
import { auditLog, meterReadingDays, meterReadingRejects, readingImports } from '../../db/schema/index.js';
import { allocationDay, QUARTER_HOUR_MS } from '../../domain/allocation.js';
import { withCheckDigit } from '../../lib/gs1.js';
import { importReadingsFile } from '../../services/allocation/import.js';
import { coreContext, makeConnection, makeParty, newEan, type CoreContext } from '../core/fixtures.js';
import { registers } from './fixtures.js';

const DAY = '2025-03-12';
const NEXT = '2025-03-13';
const ACTOR = { actor: 'test:import', actorRole: 'admin', actorPartyId: null };
const HEADER = `connection_ean,day,register,${Array.from({ length: 97 }, (_, i) => `r${i}`).join(',')}`;
const line = (ean: string, day: string, register: string, values: Array<number | null>) =>
  `${ean},${day},${register},${values.map((v) => (v === null ? '' : String(v))).join(',')}`;
const flat = (day: string, start: number) => registers(day, start, () => 10);

let ctx: CoreContext;
let gridOperatorId: string;
const run = (text: string, now?: Date) => importReadingsFile(ctx.sql, ACTOR, Readable.from([text]), now);
const connection = async () => (await makeConnection(ctx.db, { gridOperatorId })).ean;

beforeAll(async () => {
  ctx = await coreContext('allocation_import');
  gridOperatorId = (await makeParty(ctx.db, ['grid_operator'])).id;
});
afterAll(async () => ctx?.close());

describe('bulk readings import', () => {
  it('a connection-day read twice apart is not taken; unknown connections and future readings are refused and recorded', async () => {
    const [twice, fine, future] = [await connection(), await connection(), await connection()];
    const unknown = newEan();
    const d = allocationDay(DAY);
    // "Now" is 06:00 on DAY: r24 (06:00) is read, r25 lies ahead.
    const now = new Date(d.start.getTime() + 24 * QUARTER_HOUR_MS);
    const partial = flat(DAY, 500).map((v, i) => (i <= 24 ? v : null));
    const result = await run(
      [
        '\uFEFF' + HEADER + '\r',
        line(twice, DAY, 'offtake', partial) + '\r',
        line(fine, DAY, 'offtake', partial),
        '',
        line(twice, DAY, 'feed_in', partial),
        line(unknown, DAY, 'offtake', partial),
        line(future, DAY, 'offtake', flat(DAY, 700)),
        line('12345', DAY, 'offtake', partial),
      ].join('\n'),
      now,
    );
    expect(result).toMatchObject({
      lines: 8,
      stored: 1,
      unchanged: 0,
      rejected: 5,
      rejectedByCode: { duplicate_in_file: 2, connection_not_found: 1, read_in_future: 1, malformed_line: 1 },
    });
    expect(result.rejects.map((r) => [r.line, r.code, r.connectionEan])).toEqual([
      [2, 'duplicate_in_file', twice],
      [5, 'duplicate_in_file', twice],
      [6, 'connection_not_found', unknown],
      [7, 'read_in_future', future],
      [8, 'malformed_line', null],
    ]);
    expect(result.rejects[3]!.message).toBe('Readings are taken afterwards: r25 lies in the future');
    expect((await loadDays(ctx.db, fine, DAY, DAY))[0]?.offtake).toEqual(partial);
    expect(await loadDays(ctx.db, twice, DAY, DAY)).toEqual([]);
    // Rejects of a known connection and day are recorded with the import (the run reads them, AL-2); the
    // malformed line names none.
    const recorded = await ctx.db
      .select({ ean: meterReadingRejects.connectionEan, code: meterReadingRejects.code })
      .from(meterReadingRejects)
      .where(eq(meterReadingRejects.importId, result.importId));
    expect(recorded.map((r) => `${r.code}:${r.ean}`).sort()).toEqual(
      [
        `duplicate_in_file:${twice}`,
        `duplicate_in_file:${twice}`,
        `connection_not_found:${unknown}`,
        `read_in_future:${future}`,
      ].sort(),
    );
    const [imp] = await ctx.db.select().from(readingImports).where(eq(readingImports.id, result.importId));
    expect(imp?.summary).toEqual({
      lines: 8,
      stored: 1,
      unchanged: 0,
      rejected: 5,
      rejectedByCode: result.rejectedByCode,
      rule: 'AL-2',
    });
    const audited = await ctx.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entityType, 'reading_import'), eq(auditLog.entityId, result.importId)));
    expect(audited.map((a) => [a.action, a.actor])).toEqual([['readings.bulk_imported', ACTOR.actor]]);
  });

  it('the next day fills the closing value of a day that lacked it; a repeat changes nothing', async () => {
    const ean = await connection();
    const first = flat(DAY, 1000).map((v, i) => (i === 96 ? null : v));
    expect(await run([HEADER, line(ean, DAY, 'offtake', first)].join('\n'))).toMatchObject({ stored: 1 });
    const next = flat(NEXT, 1960);
    const file = [HEADER, line(ean, NEXT, 'offtake', next), line(ean, NEXT, 'feed_in', flat(NEXT, 0))].join('\n');
    expect(await run(file)).toMatchObject({ stored: 1, unchanged: 0, rejected: 0 });
    const [day] = await loadDays(ctx.db, ean, DAY, DAY);
    expect([day?.offtake[96], day?.feedIn[96]]).toEqual([1960, 0]);
    const [row] = await ctx.db
      .select({ missing: meterReadingDays.missing })
      .from(meterReadingDays)
      .where(and(eq(meterReadingDays.day, DAY), eq(meterReadingDays.connectionEan, ean)));
    // Of DAY's 2 × 97 positions, 1 offtake and 97 feed-in were unread; the next day's opening values filled 2.
    expect(row?.missing).toBe(96);
    expect(await run(file)).toMatchObject({ stored: 0, unchanged: 1, rejected: 0 });
  });

  it('judges connection-days across batch boundaries (2,000 per lookup) and keeps a day whose registers straddle one', async () => {
    const known = await connection();
    const unknown = Array.from({ length: 2_100 }, (_, i) => withCheckDigit(`879${String(i).padStart(14, '0')}`));
    const lines = [HEADER, ...unknown.map((e) => line(e, DAY, 'offtake', flat(DAY, 0)))];
    // The known connection's two lines come right where the first batch fills up.
    lines.splice(2_000, 0, line(known, DAY, 'offtake', flat(DAY, 10)), line(known, DAY, 'feed_in', flat(DAY, 0)));
    const result = await run(lines.join('\n'));
    expect(result).toMatchObject({ lines: 2_103, stored: 1, rejected: 2_100 });
    expect(result.rejectedByCode).toEqual({ connection_not_found: 2_100 });
    expect(result.rejects).toHaveLength(100);
    const [day] = await loadDays(ctx.db, known, DAY, DAY);
    expect([day?.offtake[96], day?.feedIn[96]]).toEqual([970, 960]);
  });

  it('an empty file, a wrong header, or a stream that fails half-way stores nothing', async () => {
    const ean = await connection();
    const before = await ctx.db.$count(readingImports);
    await expect(run('')).rejects.toMatchObject({ code: 'malformed_file', message: expect.stringContaining('empty') });
    await expect(run(`ean,datum\n${line(ean, DAY, 'offtake', flat(DAY, 0))}`)).rejects.toMatchObject({
      code: 'malformed_file',
      field: 'body',
    });
    const failing = Readable.from(
      (async function* () {
        yield `${HEADER}\n${line(ean, DAY, 'offtake', flat(DAY, 0))}\n`;
        yield `${line(ean, DAY, 'feed_in', flat(DAY, 0))}\n`;
        throw new Error('connection reset by the uploader');
      })(),
    );
    await expect(importReadingsFile(ctx.sql, ACTOR, failing)).rejects.toThrow('connection reset by the uploader');
    expect(await loadDays(ctx.db, ean, DAY, DAY)).toEqual([]);
    expect(await ctx.db.$count(readingImports)).toBe(before);
  });
});
