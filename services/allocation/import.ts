/**
 * The bulk path for a day's readings file of all connections (AL-1, AL-2): CSV in, streamed, judged per
 * line with the same rule as the per-row API (`judgeDayRegisters` over `judgeRegisterStep`), COPY into
 * PostgreSQL. Nothing of the day is held in memory beyond one batch of lines: lines are read, judged in
 * batches of BATCH connection-days against the stored data, and streamed into a staging table, which is
 * merged into meter_reading_days at the end of the file — in one transaction, so an import that fails
 * half-way stores nothing.
 *
 * File layout (the head-end's daily export; one line per connection, day and register):
 *
 *   connection_ean,day,register,r0,r1,…,rN
 *   871687120000000019,2025-03-12,offtake,1234567,1234601,…
 *   871687120000000019,2025-03-12,feed_in,55012,55012,…
 *
 * `register` is `offtake` or `feed_in`; r0 is the register at the day's start (00:00 Amsterdam), rk at the
 * end of quarter-hour k: N+1 values for a day of N quarter-hours (92, 96 or 100). An empty value was not
 * read. Both lines of a connection-day come together (either order). A line that fails is rejected with
 * its line number and code, and recorded (the run then names "readings_invalid"); the others are stored.
 */
import type { Readable } from 'node:stream';
import type postgres from 'postgres';
import type { Actor } from '../../db/repositories/actor.js';
import {
  contextKey,
  ReadingStage,
  storedDayContexts,
  type StoredDayContext,
} from '../../db/repositories/reading-stage.js';
import { validationError } from '../../lib/errors.js';
import { isValidEan18 } from '../../lib/gs1.js';
import {
  allocationDay,
  isDay,
  judgeDayRegisters,
  QUARTER_HOUR_MS,
  type AllocationDay,
  type DayRegisters,
  type Direction,
} from '../../domain/allocation.js';

export const BULK_REJECT_CODES = [
  'malformed_line',
  'wrong_value_count',
  'connection_not_found',
  'remote_reading_opted_out',
  'read_in_future',
  'duplicate_in_file',
  'conflicts_with_stored',
  'register_decreased',
  'volume_exceeds_capacity',
] as const;
export type BulkRejectCode = (typeof BULK_REJECT_CODES)[number];

export interface BulkReject {
  line: number;
  connectionEan: string | null;
  day: string | null;
  register: Direction | null;
  code: BulkRejectCode;
  message: string;
}

export interface BulkImportResult {
  importId: string;
  lines: number;
  /** Connection-days written (new or with positions filled). */
  stored: number;
  /** Connection-days identical to what was stored (a re-import is harmless). */
  unchanged: number;
  rejected: number;
  rejectedByCode: Partial<Record<BulkRejectCode, number>>;
  /** The first rejects, with their line numbers. */
  rejects: BulkReject[];
  durationMs: number;
}

/** Connection-days judged per round trip for their stored neighbours. */
const BATCH = 2000;
const SAMPLE = 100;
const DUPLICATE_MESSAGE = 'Another line of this file has readings of the same connection and day';

interface Line {
  line: number;
  register: Direction;
  values: DayRegisters;
}

interface Candidate {
  ean: string;
  day: string;
  lines: Line[];
}

type ParsedLine = { ean: string; day: string } & Line;
/** Why a line is refused, with as much of its connection, day and register as could be read. */
type LineReject = Omit<BulkReject, 'line'>;

/** One value list "1,2,,4" → numbers and nulls (null when not an unsigned integer: the line is malformed). */
function parseValues(raw: string): DayRegisters | null {
  const out: DayRegisters = [];
  let v = 0;
  let digits = 0;
  for (let i = 0; i <= raw.length; i++) {
    const c = i < raw.length ? raw.charCodeAt(i) : 44;
    if (c === 44) {
      out.push(digits === 0 ? null : v);
      v = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      v = v * 10 + (c - 48);
      digits += 1;
      if (digits > 15) return null;
    } else if (c !== 13) return null;
  }
  return out;
}

/** The fields of one data line, or why it is malformed (AL-1: the file layout above). */
function parseLine(text: string, line: number): ParsedLine | LineReject {
  const malformed = (connectionEan: string | null, day: string | null, register: Direction | null, message: string) =>
    ({ connectionEan, day, register, code: 'malformed_line', message }) as const;
  const a = text.indexOf(',');
  const b = text.indexOf(',', a + 1);
  const c = text.indexOf(',', b + 1);
  if (a < 0 || b < 0 || c < 0)
    return malformed(null, null, null, 'Expected connection_ean,day,register and the register values');
  const ean = text.slice(0, a).trim();
  const day = text.slice(a + 1, b).trim();
  const register = text.slice(b + 1, c).trim();
  if (!isValidEan18(ean))
    return malformed(null, day, null, `${ean} is not an 18-digit EAN with a valid GS1 check digit`);
  if (!isDay(day)) return malformed(ean, null, null, `${day} is not a day (YYYY-MM-DD)`);
  if (register !== 'offtake' && register !== 'feed_in')
    return malformed(ean, day, null, `register must be offtake or feed_in, not ${register}`);
  const values = parseValues(text.slice(c + 1));
  if (!values) return malformed(ean, day, register, 'Register values are whole Wh (digits only) or empty');
  const n = allocationDay(day).quarterHours;
  if (values.length !== n + 1)
    return {
      connectionEan: ean,
      day,
      register,
      code: 'wrong_value_count',
      message: `${day} has ${n} quarter-hours: ${n + 1} register values expected, ${values.length} given`,
    };
  return { line, ean, day, register, values };
}

/** Every line of the stream, without its newline, in order (the last one also without a newline at the end). */
async function forEachLine(input: Readable, onLine: (text: string) => Promise<void>): Promise<void> {
  let rest = '';
  for await (const chunk of input) {
    const text = rest + (typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8'));
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      await onLine(text.slice(start, nl));
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  if (rest.length > 0) await onLine(rest);
}

/**
 * One file on its way in: its lines parsed (`line`), grouped into connection-days (both registers of a day
 * come together), judged in batches of BATCH against the stored data and written to the stage; the figures
 * of the result counted as it goes. Holds one batch at a time.
 */
class FileImport {
  lines = 0;
  unchanged = 0;
  rejected = 0;
  readonly byCode: Partial<Record<BulkRejectCode, number>> = {};
  readonly sample: BulkReject[] = [];
  private batch: Candidate[] = [];
  private current: Candidate | null = null;

  constructor(
    private readonly sql: postgres.Sql,
    private readonly stage: ReadingStage,
    private readonly now: Date,
  ) {}

  /** Count a rejected line (and keep the first SAMPLE). */
  note(r: BulkReject): void {
    this.rejected += 1;
    this.byCode[r.code] = (this.byCode[r.code] ?? 0) + 1;
    if (this.sample.length < SAMPLE) this.sample.push(r);
  }

  private reject(line: number, r: LineReject): void {
    this.note({ line, ...r });
    // Recorded only with a known connection and day (the run looks rejects up by them).
    if (r.connectionEan && r.day && isValidEan18(r.connectionEan) && isDay(r.day))
      this.stage.reject(r.day, r.connectionEan, line, r.register, r.code, r.message);
  }

  /** The next line of the file: the header first, then data lines (blank ones skipped). */
  async line(text: string): Promise<void> {
    this.lines += 1;
    const lineNo = this.lines;
    if (lineNo === 1) {
      if (!/^\uFEFF?connection_ean,day,register(,|$)/i.test(text.trim()))
        throw validationError(
          'malformed_file',
          'The first line must be the header connection_ean,day,register,r0,…,rN',
          'body',
          { line: 1 },
        );
      return;
    }
    if (text.trim() === '') return;
    const parsed = parseLine(text, lineNo);
    if ('code' in parsed) return this.reject(lineNo, parsed);
    await this.accept(parsed);
  }

  /** The file has ended: the last connection-day and batch are judged and everything is sent to the stage. */
  async finish(): Promise<void> {
    if (this.lines === 0)
      throw validationError(
        'malformed_file',
        'The file is empty: it needs the header connection_ean,day,register,r0,…,rN',
        'body',
      );
    if (this.current) this.batch.push(this.current);
    await this.runBatch();
    await this.stage.flush(true);
  }

  /** A line joins its connection-day when it follows it with the other register; otherwise it starts the next. */
  private async accept(l: ParsedLine): Promise<void> {
    const current = this.current;
    if (
      current &&
      current.ean === l.ean &&
      current.day === l.day &&
      !current.lines.some((x) => x.register === l.register)
    ) {
      current.lines.push(l);
      return;
    }
    if (current) this.batch.push(current);
    this.current = { ean: l.ean, day: l.day, lines: [l] };
    if (this.batch.length >= BATCH) await this.runBatch();
  }

  private async runBatch(): Promise<void> {
    if (this.batch.length === 0) return;
    const contexts = await storedDayContexts(this.sql, this.batch);
    for (const c of this.batch) this.judge(c, contexts.get(contextKey(c.ean, c.day)));
    this.batch = [];
    await this.stage.flush();
  }

  /** AL-2: a connection-day's lines against what is stored; what passes is staged with the stored registers. */
  private judge(c: Candidate, ctx: StoredDayContext | undefined): void {
    const refuseAll = (code: BulkRejectCode, message: string) => {
      for (const l of c.lines)
        this.reject(l.line, { connectionEan: c.ean, day: c.day, register: l.register, code, message });
    };
    if (!ctx || ctx.capacityKw === null) return refuseAll('connection_not_found', `No connection ${c.ean}`);
    if (ctx.optOut)
      return refuseAll(
        'remote_reading_opted_out',
        'The grid user opted out of remote reading: no quarter-hour data exists for this connection (AL-5)',
      );
    const d: AllocationDay = allocationDay(c.day);
    const out: Record<Direction, DayRegisters | null> = { offtake: null, feed_in: null };
    const lineOf: Record<Direction, number | null> = { offtake: null, feed_in: null };
    let changed = false;
    for (const l of c.lines) {
      const merged = this.judgeLine(c, d, l, ctx);
      if (!merged) continue;
      out[l.register] = merged;
      lineOf[l.register] = l.line;
      const stored = ctx.sameDay[l.register === 'offtake' ? 'offtake' : 'feedIn'];
      if (!stored || merged.some((v, i) => v !== (stored[i] ?? null))) changed = true;
    }
    if (!out.offtake && !out.feed_in) return;
    if (!changed) {
      this.unchanged += 1;
      return;
    }
    const empty = (): DayRegisters => new Array<number | null>(d.quarterHours + 1).fill(null);
    const off = out.offtake ?? ctx.sameDay.offtake ?? empty();
    const fin = out.feed_in ?? ctx.sameDay.feedIn ?? empty();
    const missing = off.filter((v) => v === null).length + fin.filter((v) => v === null).length;
    this.stage.day(c.day, c.ean, off, fin, missing, (lineOf.offtake ?? lineOf.feed_in)!);
  }

  /** One register line: read afterwards, never decreasing, within capacity (judgeDayRegisters); null: rejected. */
  private judgeLine(c: Candidate, d: AllocationDay, l: Line, ctx: StoredDayContext): DayRegisters | null {
    const refuse = (code: BulkRejectCode, message: string) => {
      this.reject(l.line, { connectionEan: c.ean, day: c.day, register: l.register, code, message });
      return null;
    };
    const future = l.values.findIndex(
      (v, i) => v !== null && d.start.getTime() + i * QUARTER_HOUR_MS > this.now.getTime(),
    );
    if (future >= 0) return refuse('read_in_future', `Readings are taken afterwards: r${future} lies in the future`);
    const key = l.register === 'offtake' ? 'offtake' : 'feedIn';
    const verdict = judgeDayRegisters(d, l.values, ctx.capacityKw!, {
      sameDay: ctx.sameDay[key],
      previousClose: ctx.previousClose[key],
      nextOpen: ctx.nextOpen[key],
    });
    if (!verdict.ok) return refuse(verdict.code as BulkRejectCode, `r${verdict.index}: ${verdict.message}`);
    return verdict.merged;
  }
}

/**
 * Import a readings file. `sql` is the pool: the import holds one connection for its transaction (the
 * COPY) and uses another for the lookups, so the pool needs at least two.
 */
export async function importReadingsFile(
  sql: postgres.Sql,
  actor: Actor,
  input: Readable,
  now = new Date(),
): Promise<BulkImportResult> {
  const startedAt = Date.now();
  return sql.begin(async (tx) => {
    const stage = await ReadingStage.open(tx);
    const file = new FileImport(sql, stage, now);
    try {
      await forEachLine(input, (text) => file.line(text));
      await file.finish();
    } catch (err) {
      await stage.abort(err as Error);
      throw err;
    }
    await stage.close();
    for (const dup of await stage.takeOutDuplicates(DUPLICATE_MESSAGE))
      for (const line of dup.lines)
        file.note({
          line,
          connectionEan: dup.connection_ean,
          day: dup.day,
          register: null,
          code: 'duplicate_in_file',
          message: DUPLICATE_MESSAGE,
        });
    const stored = await stage.merge();
    const { lines, unchanged, rejected, byCode: rejectedByCode } = file;
    const summary = { lines, stored, unchanged, rejected, rejectedByCode, rule: 'AL-2' };
    const importId = await stage.record(actor, new Date(startedAt), summary);
    return {
      importId,
      lines,
      stored,
      unchanged,
      rejected,
      rejectedByCode,
      rejects: file.sample.sort((a, b) => a.line - b.line),
      durationMs: Date.now() - startedAt,
    };
  }) as Promise<BulkImportResult>;
}
