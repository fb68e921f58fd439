/**
 * The staging of the bulk readings import (AL-1, AL-2; services/allocation/import.ts): a temporary table on
 * the import's transaction, filled by one COPY as the file is read, then checked for connection-days the file
 * holds twice, merged into meter_reading_days and recorded with its rejects and audit entry — all in that one
 * transaction, so an import that fails half-way stores nothing. The stored neighbours of each batch of
 * connection-days are looked up on another connection of the pool, outside the transaction.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type postgres from 'postgres';
import type { DayRegisters, Direction } from '../../domain/allocation.js';
import type { Actor } from './actor.js';
import { MERGE_DAY_ROW, parseRegisterArray } from './reading-days.js';

/** What is stored around one connection-day of the file: its connection, the same day, the days either side. */
export interface StoredDayContext {
  capacityKw: number | null;
  optOut: boolean;
  sameDay: { offtake: DayRegisters | null; feedIn: DayRegisters | null };
  previousClose: { offtake: number | null; feedIn: number | null };
  nextOpen: { offtake: number | null; feedIn: number | null };
}

export const contextKey = (ean: string, day: string) => `${ean}|${day}`;

/** The stored context of each connection-day (by contextKey); absent: no such connection. One round trip. */
export async function storedDayContexts(
  sql: postgres.Sql,
  days: readonly { ean: string; day: string }[],
): Promise<Map<string, StoredDayContext>> {
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
      from unnest(${days.map((b) => b.ean)}::varchar[], ${days.map((b) => b.day)}::text[]::date[]) k(ean, day)
      left join connections c on c.ean = k.ean
      left join meter_reading_days s on s.day = k.day and s.connection_ean = k.ean
      left join meter_reading_days p on p.day = k.day - 1 and p.connection_ean = k.ean
      left join meter_reading_days n on n.day = k.day + 1 and n.connection_ean = k.ean`;
  const num = (v: string | null) => (v === null ? null : Number(v));
  return new Map(
    rows.map((r) => [
      contextKey(r.ean, r.day),
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

const copyArray = (values: DayRegisters) => `{${values.map((v) => (v === null ? 'NULL' : String(v))).join(',')}}`;
// A reject's message quotes the line: in COPY's text format a tab, newline or carriage return would end its field
// or row and PostgreSQL takes no NUL, so they become spaces (a failed COPY never settled the import: issue 18).
const copyText = (s: string | null) => (s === null ? '\\N' : s.replace(/\\/g, '\\\\').replace(/[\u0000\t\n\r]/g, ' '));

/** COPY text is sent in pieces of about this size: memory stays at one piece however large the file. */
const FLUSH_BYTES = 1 << 20;

/** A connection-day the file has lines for twice (not together), with those lines. */
export interface DuplicateDay {
  day: string;
  connection_ean: string;
  lines: number[];
}

/**
 * The import's stage: rows are written as lines are judged (`day`, `reject`), sent by `flush`, and the
 * statements after the file (`close`, `takeOutDuplicates`, `merge`, `record`) run on the same transaction.
 */
export class ReadingStage {
  private pending = '';

  private constructor(
    private readonly tx: postgres.TransactionSql,
    private readonly copy: Writable,
    private readonly copied: Promise<unknown>,
  ) {}

  static async open(tx: postgres.TransactionSql): Promise<ReadingStage> {
    // The merge hashes a day's staged rows (about 1.6 KB each); give it memory rather than temp files.
    await tx`set local work_mem = '256MB'`;
    await tx`create temp table reading_stage (
      kind char(1) not null, day date, connection_ean varchar(18), offtake_wh bigint[], feed_in_wh bigint[], missing smallint,
      line int, register text, code text, message text) on commit drop`;
    const copy =
      await tx`copy reading_stage (kind, day, connection_ean, offtake_wh, feed_in_wh, missing, line, register, code, message) from stdin`.writable();
    return new ReadingStage(tx, copy, once(copy, 'finish'));
  }

  /** A judged connection-day to store: both registers as they are to be after the merge. */
  day(day: string, ean: string, offtake: DayRegisters, feedIn: DayRegisters, missing: number, line: number): void {
    this.pending += `s\t${day}\t${ean}\t${copyArray(offtake)}\t${copyArray(feedIn)}\t${missing}\t${line}\t\\N\t\\N\t\\N\n`;
  }

  /** A rejected line of a known connection and day (the run looks rejects up by them). */
  reject(day: string, ean: string, line: number, register: Direction | null, code: string, message: string): void {
    this.pending += `r\t${day}\t${ean}\t\\N\t\\N\t\\N\t${line}\t${register ?? '\\N'}\t${code}\t${copyText(message)}\n`;
  }

  /** Send what is pending once it is a piece's worth (or always, with `force`), waiting while COPY is full. */
  async flush(force = false): Promise<void> {
    if (this.pending.length < FLUSH_BYTES && !force) return;
    const ok = this.copy.write(this.pending);
    this.pending = '';
    if (!ok) await once(this.copy, 'drain');
  }

  /** Abort the COPY (CopyFail), so the transaction can roll back on its connection. */
  async abort(err: Error): Promise<void> {
    this.copy.destroy(err);
    await this.copied.catch(() => undefined);
  }

  /** End the COPY once everything is flushed. */
  async close(): Promise<void> {
    this.copy.end();
    await this.copied;
    // Temp tables get no autovacuum statistics: without them the planner guesses the joins below blind.
    await this.tx`analyze reading_stage`;
  }

  /**
   * Lines of one connection-day that were not together in the file: none of them is taken. They leave the
   * staged days and become rejects with `message`; returned so the caller counts them.
   */
  async takeOutDuplicates(message: string): Promise<DuplicateDay[]> {
    const dups = await this.tx<DuplicateDay[]>`
      select day::text as day, connection_ean, array_agg(line order by line) as lines from reading_stage where kind = 's'
       group by day, connection_ean having count(*) > 1`;
    if (dups.length === 0) return [];
    await this.tx`
      with dup as (delete from reading_stage s using (select day, connection_ean from reading_stage where kind = 's' group by 1, 2 having count(*) > 1) d
                    where s.kind = 's' and s.day = d.day and s.connection_ean = d.connection_ean returning s.day, s.connection_ean, s.line)
      insert into reading_stage (kind, day, connection_ean, line, code, message) select 'r', day, connection_ean, line, 'duplicate_in_file', ${message} from dup`;
    return dups;
  }

  /** Merge the staged days into meter_reading_days (stored values are final); the number of days written. */
  async merge(): Promise<number> {
    const merged = await this.tx.unsafe(`
      insert into meter_reading_days as t (day, connection_ean, offtake_wh, feed_in_wh, missing)
      select day, connection_ean, offtake_wh, feed_in_wh, missing from reading_stage where kind = 's'
      on conflict (day, connection_ean) do update set ${MERGE_DAY_ROW}`);
    // A day's opening value is the previous day's closing one: fill it there when it was not read.
    await this.tx`
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
    return merged.count;
  }

  /** The import as done (reading_imports), its staged rejects and its audit entry; the import's id. */
  async record(actor: Actor, startedAt: Date, summary: Record<string, unknown>): Promise<string> {
    const [imp] = await this.tx<Array<{ id: string }>>`
      insert into reading_imports (source, actor, started_at, finished_at, summary)
      values ('bulk', ${actor.actor}, ${startedAt.toISOString()}::timestamptz, now(), ${JSON.stringify(summary)}::jsonb) returning id`;
    await this.tx`
      insert into meter_reading_rejects (import_id, day, connection_ean, register, code, message)
      select ${imp!.id}, day, connection_ean, register, code, message from reading_stage where kind = 'r'`;
    await this.tx`
      insert into audit_log (actor, actor_role, actor_party_id, action, entity_type, entity_id, data)
      values (${actor.actor}, ${actor.actorRole ?? null}, ${actor.actorPartyId ?? null}, 'readings.bulk_imported', 'reading_import', ${imp!.id}, ${JSON.stringify(summary)}::jsonb)`;
    return imp!.id;
  }
}
