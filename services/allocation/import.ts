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
import { once } from 'node:events';
import type postgres from 'postgres';
import type { Actor } from '../../db/repositories/actor.js';
import { MERGE_DAY_ROW, parseRegisterArray } from '../../db/repositories/reading-days.js';
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

interface Context {
  capacityKw: number | null;
  optOut: boolean;
  sameDay: { offtake: DayRegisters | null; feedIn: DayRegisters | null };
  previousClose: { offtake: number | null; feedIn: number | null };
  nextOpen: { offtake: number | null; feedIn: number | null };
}

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

const copyArray = (values: DayRegisters) => `{${values.map((v) => (v === null ? 'NULL' : String(v))).join(',')}}`;
// A reject's message quotes the line: in COPY's text format a tab, newline or carriage return would end its field
// or row and PostgreSQL takes no NUL, so they become spaces (a failed COPY never settled the import: issue 18).
const copyText = (s: string | null) => (s === null ? '\\N' : s.replace(/\\/g, '\\\\').replace(/[\u0000\t\n\r]/g, ' '));

async function lookup(sql: postgres.Sql, batch: Candidate[]): Promise<Map<string, Context>> {
  const rows = await sql<
    Array<{
      ean: string;
      day: string;
      capacity_kw: string | null;
      opt_out: boolean | null;
      s_off: string | null;
      s_fin: string | null;
      p_off: string | null;
      p_fin: string | null;
      n_off: string | null;
      n_fin: string | null;
    }>
  >`
    select k.ean, k.day::text as day, c.capacity_kw, c.remote_reading_opt_out as opt_out,
           s.offtake_wh::text as s_off, s.feed_in_wh::text as s_fin,
           p.offtake_wh[array_length(p.offtake_wh, 1)]::text as p_off, p.feed_in_wh[array_length(p.feed_in_wh, 1)]::text as p_fin,
           n.offtake_wh[1]::text as n_off, n.feed_in_wh[1]::text as n_fin
      from unnest(${batch.map((b) => b.ean)}::varchar[], ${batch.map((b) => b.day)}::text[]::date[]) k(ean, day)
      left join connections c on c.ean = k.ean
      left join meter_reading_days s on s.day = k.day and s.connection_ean = k.ean
      left join meter_reading_days p on p.day = k.day - 1 and p.connection_ean = k.ean
      left join meter_reading_days n on n.day = k.day + 1 and n.connection_ean = k.ean`;
  const num = (v: string | null) => (v === null ? null : Number(v));
  return new Map(
    rows.map((r) => [
      `${r.ean}|${r.day}`,
      {
        capacityKw: r.capacity_kw === null ? null : Number(r.capacity_kw),
        optOut: r.opt_out ?? false,
        sameDay: { offtake: parseRegisterArray(r.s_off), feedIn: parseRegisterArray(r.s_fin) },
        previousClose: { offtake: num(r.p_off), feedIn: num(r.p_fin) },
        nextOpen: { offtake: num(r.n_off), feedIn: num(r.n_fin) },
      },
    ]),
  );
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
  const byCode: Partial<Record<BulkRejectCode, number>> = {};
  const sample: BulkReject[] = [];
  let lines = 0;
  let unchanged = 0;
  let rejected = 0;

  return sql.begin(async (tx) => {
    // The merge hashes a day's staged rows (about 1.6 KB each); give it memory rather than temp files.
    await tx`set local work_mem = '256MB'`;
    await tx`create temp table reading_stage (
      kind char(1) not null, day date, connection_ean varchar(18), offtake_wh bigint[], feed_in_wh bigint[], missing smallint,
      line int, register text, code text, message text) on commit drop`;
    const copy =
      await tx`copy reading_stage (kind, day, connection_ean, offtake_wh, feed_in_wh, missing, line, register, code, message) from stdin`.writable();
    const copyClosed = once(copy, 'finish');
    let pending = '';
    const flush = async (force = false) => {
      if (pending.length < 1 << 20 && !force) return;
      const ok = copy.write(pending);
      pending = '';
      if (!ok) await once(copy, 'drain');
    };
    const note = (r: BulkReject) => {
      rejected += 1;
      byCode[r.code] = (byCode[r.code] ?? 0) + 1;
      if (sample.length < SAMPLE) sample.push(r);
    };
    const reject = (
      line: number,
      ean: string | null,
      day: string | null,
      register: Direction | null,
      code: BulkRejectCode,
      message: string,
    ) => {
      note({ line, connectionEan: ean, day, register, code, message });
      // Recorded only with a known connection and day (the run looks rejects up by them).
      if (ean && day && isValidEan18(ean) && isDay(day)) {
        pending += `r\t${day}\t${ean}\t\\N\t\\N\t\\N\t${line}\t${register ?? '\\N'}\t${code}\t${copyText(message)}\n`;
      }
    };

    const judge = (c: Candidate, ctx: Context | undefined) => {
      const d: AllocationDay = allocationDay(c.day);
      if (!ctx || ctx.capacityKw === null) {
        for (const l of c.lines)
          reject(l.line, c.ean, c.day, l.register, 'connection_not_found', `No connection ${c.ean}`);
        return;
      }
      if (ctx.optOut) {
        for (const l of c.lines)
          reject(
            l.line,
            c.ean,
            c.day,
            l.register,
            'remote_reading_opted_out',
            'The grid user opted out of remote reading: no quarter-hour data exists for this connection (AL-5)',
          );
        return;
      }
      const out: Record<Direction, DayRegisters | null> = { offtake: null, feed_in: null };
      const lineOf: Record<Direction, number | null> = { offtake: null, feed_in: null };
      let changed = false;
      for (const l of c.lines) {
        const future = l.values.findIndex(
          (v, i) => v !== null && d.start.getTime() + i * QUARTER_HOUR_MS > now.getTime(),
        );
        if (future >= 0) {
          reject(
            l.line,
            c.ean,
            c.day,
            l.register,
            'read_in_future',
            `Readings are taken afterwards: r${future} lies in the future`,
          );
          continue;
        }
        const key = l.register === 'offtake' ? 'offtake' : 'feedIn';
        const stored = ctx.sameDay[key];
        const verdict = judgeDayRegisters(d, l.values, ctx.capacityKw!, {
          sameDay: stored,
          previousClose: ctx.previousClose[key],
          nextOpen: ctx.nextOpen[key],
        });
        if (!verdict.ok) {
          reject(
            l.line,
            c.ean,
            c.day,
            l.register,
            verdict.code as BulkRejectCode,
            `r${verdict.index}: ${verdict.message}`,
          );
          continue;
        }
        out[l.register] = verdict.merged;
        lineOf[l.register] = l.line;
        if (!stored || verdict.merged.some((v, i) => v !== (stored[i] ?? null))) changed = true;
      }
      if (!out.offtake && !out.feed_in) return;
      if (!changed) {
        unchanged += 1;
        return;
      }
      const n = d.quarterHours;
      const empty = (): DayRegisters => new Array<number | null>(n + 1).fill(null);
      const off = out.offtake ?? ctx.sameDay.offtake ?? empty();
      const fin = out.feed_in ?? ctx.sameDay.feedIn ?? empty();
      const missing = off.filter((v) => v === null).length + fin.filter((v) => v === null).length;
      pending += `s\t${c.day}\t${c.ean}\t${copyArray(off)}\t${copyArray(fin)}\t${missing}\t${lineOf.offtake ?? lineOf.feed_in}\t\\N\t\\N\t\\N\n`;
    };

    let batch: Candidate[] = [];
    const runBatch = async () => {
      if (batch.length === 0) return;
      const ctx = await lookup(sql, batch);
      for (const c of batch) judge(c, ctx.get(`${c.ean}|${c.day}`));
      batch = [];
      await flush();
    };

    let current: Candidate | null = null;
    const accept = async (l: { line: number; ean: string; day: string } & Line) => {
      if (
        current &&
        current.ean === l.ean &&
        current.day === l.day &&
        !current.lines.some((x) => x.register === l.register)
      ) {
        current.lines.push(l);
        return;
      }
      if (current) batch.push(current);
      current = { ean: l.ean, day: l.day, lines: [l] };
      if (batch.length >= BATCH) await runBatch();
    };

    const handleLine = async (text: string) => {
      lines += 1;
      const lineNo = lines;
      if (lineNo === 1) {
        if (!/^\uFEFF?connection_ean,day,register(,|$)/i.test(text.trim())) {
          throw validationError(
            'malformed_file',
            'The first line must be the header connection_ean,day,register,r0,…,rN',
            'body',
            { line: 1 },
          );
        }
        return;
      }
      if (text.trim() === '') return;
      const a = text.indexOf(',');
      const b = text.indexOf(',', a + 1);
      const c = text.indexOf(',', b + 1);
      if (a < 0 || b < 0 || c < 0)
        return reject(
          lineNo,
          null,
          null,
          null,
          'malformed_line',
          'Expected connection_ean,day,register and the register values',
        );
      const ean = text.slice(0, a).trim();
      const day = text.slice(a + 1, b).trim();
      const register = text.slice(b + 1, c).trim();
      if (!isValidEan18(ean))
        return reject(
          lineNo,
          null,
          day,
          null,
          'malformed_line',
          `${ean} is not an 18-digit EAN with a valid GS1 check digit`,
        );
      if (!isDay(day)) return reject(lineNo, ean, null, null, 'malformed_line', `${day} is not a day (YYYY-MM-DD)`);
      if (register !== 'offtake' && register !== 'feed_in')
        return reject(lineNo, ean, day, null, 'malformed_line', `register must be offtake or feed_in, not ${register}`);
      const values = parseValues(text.slice(c + 1));
      if (!values)
        return reject(
          lineNo,
          ean,
          day,
          register,
          'malformed_line',
          'Register values are whole Wh (digits only) or empty',
        );
      const n = allocationDay(day).quarterHours;
      if (values.length !== n + 1)
        return reject(
          lineNo,
          ean,
          day,
          register,
          'wrong_value_count',
          `${day} has ${n} quarter-hours: ${n + 1} register values expected, ${values.length} given`,
        );
      await accept({ line: lineNo, ean, day, register, values });
    };

    try {
      let rest = '';
      for await (const chunk of input) {
        const text = rest + (typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8'));
        let start = 0;
        for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
          await handleLine(text.slice(start, nl));
          start = nl + 1;
        }
        rest = text.slice(start);
      }
      if (rest.length > 0) await handleLine(rest);
      if (lines === 0)
        throw validationError(
          'malformed_file',
          'The file is empty: it needs the header connection_ean,day,register,r0,…,rN',
          'body',
        );
      if (current) batch.push(current);
      await runBatch();
      await flush(true);
    } catch (err) {
      // Abort the COPY (CopyFail), so the transaction can roll back on its connection.
      copy.destroy(err as Error);
      await copyClosed.catch(() => undefined);
      throw err;
    }
    copy.end();
    await copyClosed;
    // Temp tables get no autovacuum statistics: without them the planner guesses the joins below blind.
    await tx`analyze reading_stage`;

    // Lines of one connection-day that were not together in the file: none of them is taken.
    const dups = await tx<Array<{ day: string; connection_ean: string; lines: number[] }>>`
      select day::text as day, connection_ean, array_agg(line order by line) as lines from reading_stage where kind = 's'
       group by day, connection_ean having count(*) > 1`;
    if (dups.length > 0) {
      const message = 'Another line of this file has readings of the same connection and day';
      for (const dup of dups)
        for (const line of dup.lines)
          note({
            line,
            connectionEan: dup.connection_ean,
            day: dup.day,
            register: null,
            code: 'duplicate_in_file',
            message,
          });
      await tx`
        with dup as (delete from reading_stage s using (select day, connection_ean from reading_stage where kind = 's' group by 1, 2 having count(*) > 1) d
                      where s.kind = 's' and s.day = d.day and s.connection_ean = d.connection_ean returning s.day, s.connection_ean, s.line)
        insert into reading_stage (kind, day, connection_ean, line, code, message) select 'r', day, connection_ean, line, 'duplicate_in_file', ${message} from dup`;
    }
    const merged = await tx.unsafe(`
      insert into meter_reading_days as t (day, connection_ean, offtake_wh, feed_in_wh, missing)
      select day, connection_ean, offtake_wh, feed_in_wh, missing from reading_stage where kind = 's'
      on conflict (day, connection_ean) do update set ${MERGE_DAY_ROW}`);
    // A day's opening value is the previous day's closing one: fill it there when it was not read.
    await tx`
      update meter_reading_days p
         set offtake_wh[array_length(p.offtake_wh, 1)] = coalesce(p.offtake_wh[array_length(p.offtake_wh, 1)], s.offtake_wh[1]),
             feed_in_wh[array_length(p.feed_in_wh, 1)] = coalesce(p.feed_in_wh[array_length(p.feed_in_wh, 1)], s.feed_in_wh[1]),
             missing = p.missing - (case when p.offtake_wh[array_length(p.offtake_wh, 1)] is null and s.offtake_wh[1] is not null then 1 else 0 end)
                                 - (case when p.feed_in_wh[array_length(p.feed_in_wh, 1)] is null and s.feed_in_wh[1] is not null then 1 else 0 end),
             updated_at = now()
        from reading_stage s
       where s.kind = 's' and p.day = s.day - 1 and p.connection_ean = s.connection_ean
         and ((p.offtake_wh[array_length(p.offtake_wh, 1)] is null and s.offtake_wh[1] is not null)
           or (p.feed_in_wh[array_length(p.feed_in_wh, 1)] is null and s.feed_in_wh[1] is not null))`;
    const summary = { lines, stored: merged.count, unchanged, rejected, rejectedByCode: byCode, rule: 'AL-2' };
    const [imp] = await tx<Array<{ id: string }>>`
      insert into reading_imports (source, actor, started_at, finished_at, summary)
      values ('bulk', ${actor.actor}, ${new Date(startedAt).toISOString()}::timestamptz, now(), ${JSON.stringify(summary)}::jsonb) returning id`;
    await tx`
      insert into meter_reading_rejects (import_id, day, connection_ean, register, code, message)
      select ${imp!.id}, day, connection_ean, register, code, message from reading_stage where kind = 'r'`;
    await tx`
      insert into audit_log (actor, actor_role, actor_party_id, action, entity_type, entity_id, data)
      values (${actor.actor}, ${actor.actorRole ?? null}, ${actor.actorPartyId ?? null}, 'readings.bulk_imported', 'reading_import', ${imp!.id}, ${JSON.stringify(summary)}::jsonb)`;
    return {
      importId: imp!.id,
      lines,
      stored: merged.count,
      unchanged,
      rejected,
      rejectedByCode: byCode,
      rejects: sample.sort((a, b) => a.line - b.line),
      durationMs: Date.now() - startedAt,
    };
  }) as Promise<BulkImportResult>;
}
