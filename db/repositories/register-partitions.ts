/**
 * The access register's monthly partitions (DC-1, DC-9; domain/register-partitions.ts): which exist, creating a
 * month, detaching and dropping one. DDL, so only services/register/partitions.ts calls these.
 *
 * Locks, because the gate inserts into the register all the time:
 * - a month is created as a plain table and then ATTACHed: ATTACH takes SHARE UPDATE EXCLUSIVE on the register,
 *   which does not conflict with the gate's inserts (ROW EXCLUSIVE); CREATE TABLE … PARTITION OF would take
 *   ACCESS EXCLUSIVE on it. The new table carries the month's CHECK constraint, so ATTACH skips its scan.
 * - a month is DETACHed CONCURRENTLY (SHARE UPDATE EXCLUSIVE, two transactions: the gate never waits), which
 *   PostgreSQL allows only without a DEFAULT partition; the detached table is then dropped, locking only itself.
 * - a closed month's compaction (below, decisions/0019) swaps its copy in with a plain DETACH: ACCESS EXCLUSIVE on
 *   the register for a few catalog updates, under a short lock_timeout (REGISTER_SWAP_LOCK_TIMEOUT).
 * lock_timeout bounds the waits of the transactional DDL, so a stuck lock makes the step fail and retry rather
 * than queue the gate behind it. DETACH CONCURRENTLY queues nobody: it waits for older snapshots, not locks.
 */
import { sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../client.js';
import { parseRegisterMonth, type RegisterMonth } from '../../domain/register-partitions.js';

type Rows<T> = T[];
const rows = <T>(r: unknown): Rows<T> => r as Rows<T>;

/**
 * Storage parameters of every month (issue 21). The register is append-only, so autovacuum visits a month only on
 * its insert threshold; PostgreSQL's default (1000 rows + 20 % of the table) leaves up to a fifth of a full month
 * without visibility-map bits, and the DC-5 statistics' index-only scan (access_register_conn_idx INCLUDE
 * (party_id, allowed)) then reads the heap for those rows. Every 100,000 rows instead: about four hours of
 * decisions at 550,000 a day. Migration 0013_register_conn_covering_index sets the same on the months it finds.
 */
export const REGISTER_MONTH_STORAGE =
  'autovacuum_vacuum_insert_threshold = 100000, autovacuum_vacuum_insert_scale_factor = 0';

/** How long DDL on the register waits for a lock before it gives up (and its step retries). */
export const REGISTER_DDL_LOCK_TIMEOUT = '5s';

export interface HeldMonth extends RegisterMonth {
  /** Attached (rows routed to it), or a table left detached by an interrupted drop, or half-detached. */
  state: 'attached' | 'detach_pending' | 'detached';
  /** Rewritten in connection order after it closed (compactMonthCopy … swapCompactedMonth): its table comment says so. */
  compacted: boolean;
  /** A compacted month's rows as verified when it was swapped in (its table comment), else null. */
  compactedRows: number | null;
}

/** The register's months, attached or left over from an interrupted drop, oldest first. */
export async function registerMonths(db: DbOrTx): Promise<HeldMonth[]> {
  const found = rows<{ name: string; attached: boolean; pending: boolean; compacted: boolean; comment: string | null }>(
    await db.execute(sql`
      select c.relname as name, i.inhrelid is not null as attached, coalesce(i.inhdetachpending, false) as pending,
             coalesce(d.description like ${`${COMPACTED_MARK}%`}, false) as compacted, d.description as comment
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace and n.nspname = current_schema()
        left join pg_inherits i on i.inhrelid = c.oid and i.inhparent = 'access_register'::regclass
        left join pg_description d on d.objoid = c.oid and d.classoid = 'pg_class'::regclass and d.objsubid = 0
       where c.relkind = 'r' and c.relname like 'access\\_register\\_p%'`),
  );
  const out: HeldMonth[] = [];
  for (const r of found) {
    const m = parseRegisterMonth(r.name);
    if (m)
      out.push({
        ...m,
        state: !r.attached ? 'detached' : r.pending ? 'detach_pending' : 'attached',
        compacted: r.compacted,
        compactedRows: r.compacted ? Number(/rows=(\d+)/.exec(r.comment ?? '')?.[1] ?? NaN) : null,
      });
  }
  return out.sort((a, b) => a.from.getTime() - b.from.getTime());
}

/**
 * Create the month's table and attach it (see the file comment on locks). Idempotent: a month already attached is
 * left alone (false). In one transaction, so a failed attach leaves no stray table.
 */
export async function createRegisterMonth(db: DbOrTx, m: RegisterMonth): Promise<boolean> {
  const from = m.from.toISOString();
  const to = m.to.toISOString();
  return db.transaction(async (tx) => {
    await tx.execute(sql.raw(`set local lock_timeout = '${REGISTER_DDL_LOCK_TIMEOUT}'`));
    // Several APIs and workers start at once: one creates the month, the others wait here and then find it
    // (two concurrent CREATE TABLEs of one name would fail on the catalog's unique index instead).
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('access_register_months'))`);
    const [exists] = rows<{ attached: boolean }>(
      await tx.execute(sql`
        select exists (select 1 from pg_inherits i join pg_class c on c.oid = i.inhrelid
                        where i.inhparent = 'access_register'::regclass and c.relname = ${m.name}) as attached`),
    );
    if (exists!.attached) return false;
    const name = sql.identifier(m.name);
    const check = sql.identifier(`${m.name}_month_ck`);
    // LIKE copies columns, defaults and NOT NULLs; the indexes come with ATTACH (the register's partitioned
    // indexes are built on the empty table then, which costs nothing).
    await tx.execute(
      sql`create table if not exists ${name} (like access_register including defaults) with (${sql.raw(REGISTER_MONTH_STORAGE)})`,
    );
    await tx.execute(
      sql`alter table ${name} add constraint ${check} check (decided_at >= ${sql.raw(`'${from}'`)}::timestamptz and decided_at < ${sql.raw(`'${to}'`)}::timestamptz)`,
    );
    await tx.execute(
      sql`alter table access_register attach partition ${name} for values from (${sql.raw(`'${from}'`)}) to (${sql.raw(`'${to}'`)})`,
    );
    // The constraint only spared ATTACH the scan; the partition bound says the same from now on.
    await tx.execute(sql`alter table ${name} drop constraint ${check}`);
    return true;
  });
}

/**
 * Detach the month without blocking the gate (DETACH … CONCURRENTLY: it cannot run in a transaction, so `db`
 * is the pool, not a transaction). A detach left pending by an interrupted earlier call is finished (FINALIZE).
 */
export async function detachRegisterMonth(db: DbOrTx, m: HeldMonth): Promise<void> {
  const name = sql.identifier(m.name);
  if (m.state === 'detached') return;
  const mode = m.state === 'detach_pending' ? sql`finalize` : sql`concurrently`;
  await db.execute(sql`alter table access_register detach partition ${name} ${mode}`);
}

/** Rows of a detached month, counted before it is dropped (the purge's audit entry records them). */
export async function countDetachedMonth(db: DbOrTx, m: RegisterMonth): Promise<number> {
  const [r] = rows<{ n: number | string }>(
    await db.execute(sql`select count(*)::bigint as n from ${sql.identifier(m.name)}`),
  );
  return Number(r!.n);
}

/** Drop a detached month's table, in the caller's transaction (with its audit entry). */
export async function dropDetachedMonth(tx: DbOrTx, m: RegisterMonth): Promise<void> {
  await tx.execute(sql.raw(`set local lock_timeout = '${REGISTER_DDL_LOCK_TIMEOUT}'`));
  await tx.execute(sql`drop table ${sql.identifier(m.name)}`);
}

/**
 * Attached months that end at or before `before` and took rows since their last vacuum (pg_stat_user_tables:
 * the statistics collector's count, flushed by the writing sessions within about a second).
 */
export async function closedMonthsWithUnvacuumedRows(db: DbOrTx, before: Date): Promise<RegisterMonth[]> {
  const found = rows<{ name: string }>(
    await db.execute(sql`
      select c.relname as name
        from pg_inherits i join pg_class c on c.oid = i.inhrelid
        join pg_stat_user_tables s on s.relid = c.oid
       where i.inhparent = 'access_register'::regclass and not i.inhdetachpending and s.n_ins_since_vacuum > 0`),
  );
  const out: RegisterMonth[] = [];
  for (const r of found) {
    const m = parseRegisterMonth(r.name);
    if (m && m.to.getTime() <= before.getTime()) out.push(m);
  }
  return out.sort((a, b) => a.from.getTime() - b.from.getTime());
}

/**
 * VACUUM (and ANALYZE) a month: sets the visibility-map bits of the pages written since the last vacuum, so index-only
 * scans of the month stop reading its heap. Not in a transaction (`db` is the pool). SKIP_LOCKED: a month another
 * vacuum (autovacuum, an earlier attempt of the same activity) is working on is left to it.
 */
export async function vacuumRegisterMonth(db: DbOrTx, m: RegisterMonth): Promise<void> {
  await db.execute(sql`vacuum (analyze, skip_locked) ${sql.identifier(m.name)}`);
}

// ---------------------------------------------------------------------------------------------
// Compaction of a closed month (issue 21, decisions/0019): its rows rewritten in (connection_ean, decided_at) order
// into a work table, which then replaces the month. The steps are separate so that the long ones (copy, index builds,
// VACUUM, verification) hold no lock the gate or a reader waits for; only swapCompactedMonth locks the register, for
// a few catalog updates. services/register/partitions.ts compactClosedRegisterMonths runs them in order.

/** The name suffix of a compacted month's own covering party-day index (compactMonthIndexes). */
export const PARTY_DAY_INDEX = 'party_day_idx';

/** The table comment that marks a month compacted (read back by registerMonths). */
export const COMPACTED_MARK = 'compacted by connection';

/** How long the swap waits for its ACCESS EXCLUSIVE lock on the register: the gate queues behind a waiting swap. */
export const REGISTER_SWAP_LOCK_TIMEOUT = '300ms';

/**
 * The work table a month is copied into, and the name the replaced month takes until it is dropped. Neither matches
 * access_register_pYYYYMM, so registerMonths, retention and the DC-5 reach never see them.
 */
export const compactionWorkName = (m: RegisterMonth): string =>
  m.name.replace('access_register_p', 'access_register_c');
export const compactionRetiredName = (m: RegisterMonth): string =>
  m.name.replace('access_register_p', 'access_register_r');

export interface CompactionLeftover {
  name: string;
  kind: 'work' | 'retired';
  /** The month it belongs to. */
  month: RegisterMonth;
  /** A work table whose copy was verified (its comment holds the rows and checksum): ready to be swapped in. */
  verified: { rows: number; checksum: string } | null;
}

/** Work tables and retired months left by an interrupted compaction. */
export async function compactionLeftovers(db: DbOrTx): Promise<CompactionLeftover[]> {
  const found = rows<{ name: string; comment: string | null }>(
    await db.execute(sql`
      select c.relname as name, obj_description(c.oid, 'pg_class') as comment
        from pg_class c join pg_namespace n on n.oid = c.relnamespace and n.nspname = current_schema()
       where c.relkind = 'r' and (c.relname like 'access\\_register\\_c%' or c.relname like 'access\\_register\\_r%')`),
  );
  const out: CompactionLeftover[] = [];
  for (const r of found) {
    const kind = r.name.startsWith('access_register_c') ? 'work' : 'retired';
    const month = parseRegisterMonth(r.name.replace(/^access_register_[cr]/, 'access_register_p'));
    if (!month) continue;
    const v = /rows=(\d+) checksum=(-?\d+)/.exec(r.comment ?? '');
    out.push({ name: r.name, kind, month, verified: v ? { rows: Number(v[1]), checksum: v[2]! } : null });
  }
  return out;
}

/** Drop a work table or a retired month (locks only that table). */
export async function dropCompactionTable(db: Db, name: string): Promise<void> {
  if (!/^access_register_[cr]\d{6}$/.test(name)) throw new Error(`not a compaction table: ${name}`);
  await db.transaction(async (tx) => {
    await tx.execute(sql.raw(`set local lock_timeout = '${REGISTER_DDL_LOCK_TIMEOUT}'`));
    await tx.execute(sql`drop table if exists ${sql.identifier(name)}`);
  });
}

async function registerColumns(db: DbOrTx): Promise<string[]> {
  return rows<{ name: string }>(
    await db.execute(sql`
      select attname as name from pg_attribute
       where attrelid = 'access_register'::regclass and attnum > 0 and not attisdropped order by attnum`),
  ).map((r) => r.name);
}

/** Rows and a checksum over every column of every row (order-independent: a sum of 64-bit row hashes). */
async function tableDigest(db: DbOrTx, table: string, columns: string[]): Promise<{ rows: number; checksum: string }> {
  const cols = columns.map((c) => `t.${quoteIdent(c)}`).join(', ');
  const [r] = rows<{ n: string; sum: string }>(
    await db.execute(
      sql.raw(
        `select count(*)::text as n, coalesce(sum(hashtextextended(row(${cols})::text, 0)), 0)::text as sum from ${quoteIdent(table)} t`,
      ),
    ),
  );
  return { rows: Number(r!.n), checksum: r!.sum };
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Step 1: freeze the month and copy it. In one transaction: the month gets the trigger that fails any write to it
 * (access_register_month_frozen, migration 0016; CREATE TRIGGER waits for writers in flight and blocks new ones to
 * commit, readers go on), then a work table like the register's (its storage parameters) is filled with the
 * month's rows sorted by (connection_ean, decided_at, id), and the month's rows and checksum are taken under the
 * same snapshot. The trigger stays after commit, so nothing the copy missed can reach the month until the swap.
 */
export async function compactMonthCopy(db: Db, m: RegisterMonth): Promise<{ rows: number; checksum: string }> {
  const columns = await registerColumns(db);
  const cols = columns.map(quoteIdent).join(', ');
  const month = quoteIdent(m.name);
  const work = quoteIdent(compactionWorkName(m));
  return db.transaction(async (tx) => {
    await tx.execute(sql.raw(`set local lock_timeout = '${REGISTER_DDL_LOCK_TIMEOUT}'`));
    // The month locked against writes for the copy (SHARE: reads go on), then frozen for good by the trigger.
    await tx.execute(sql.raw(`lock table ${month} in share mode`));
    await tx.execute(
      sql.raw(
        `create or replace trigger access_register_frozen before insert or update or delete on ${month}
           for each row execute function access_register_month_frozen()`,
      ),
    );
    await tx.execute(
      sql.raw(`create table ${work} (like access_register including defaults) with (${REGISTER_MONTH_STORAGE})`),
    );
    // The sort spills to disk at a month's size whatever work_mem is; more memory means fewer merge passes.
    await tx.execute(sql.raw(`set local work_mem = '256MB'`));
    await tx.execute(
      sql.raw(`insert into ${work} (${cols}) select ${cols} from ${month} order by connection_ean, decided_at, id`),
    );
    return tableDigest(tx, m.name, columns);
  });
}

/**
 * Step 2: the register's indexes on the work table, built from the register's own definitions (so ATTACH adopts
 * them instead of building its own: same keys, INCLUDE, predicate), the primary key as a constraint (ATTACH adopts
 * a constraint only from a constraint), the month's own covering party-day index, and the month's CHECK
 * constraint, so that ATTACH skips its validation scan.
 */
export async function compactMonthIndexes(db: Db, m: RegisterMonth, partyDayIndex = true): Promise<void> {
  const work = compactionWorkName(m);
  const defs = rows<{ name: string; def: string; con: string | null }>(
    await db.execute(sql`
      select ic.relname as name, pg_get_indexdef(x.indexrelid) as def,
             (select pg_get_constraintdef(k.oid) from pg_constraint k where k.conindid = x.indexrelid
                 and k.conrelid = x.indrelid) as con
        from pg_index x join pg_class ic on ic.oid = x.indexrelid
       where x.indrelid = 'access_register'::regclass order by ic.relname`),
  );
  for (const d of defs) {
    const name = quoteIdent(`${work}_${d.name.replace(/^access_register_/, '')}`);
    if (d.con) {
      await db.execute(sql.raw(`alter table ${quoteIdent(work)} add constraint ${name} ${d.con}`));
      continue;
    }
    const def = d.def.replace(/^CREATE (UNIQUE )?INDEX \S+ ON ONLY \S+ /, (_all, u: string | undefined) => {
      return `CREATE ${u ?? ''}INDEX ${name} ON ${quoteIdent(work)} `;
    });
    if (def === d.def) throw new Error(`unexpected index definition: ${d.def}`);
    await db.execute(sql.raw(def));
  }
  // The party-day page on a closed month (listAccessRegister by party and day): the month is in connection order
  // now, so a party's rows of one day lie one a heap page; this index holds them whole, in (party_id, decided_at)
  // order, so the page is an index-only scan of a few leaf pages. The month's own, not the register's: the month the
  // gate writes to never has it (no cost on the hot path); it costs about the heap's size again (decisions/0019).
  // Only for months within REGISTER_PARTY_DAY_INDEX_MONTHS (registerPartyDayIndexKept): older ones go without.
  if (partyDayIndex) await createPartyDayIndex(db, work, `${work}_${PARTY_DAY_INDEX}`, false);
  await db.execute(
    sql.raw(
      `alter table ${quoteIdent(work)} add constraint ${quoteIdent(`${work}_month_ck`)} check (decided_at >= '${m.from.toISOString()}'::timestamptz and decided_at < '${m.to.toISOString()}'::timestamptz)`,
    ),
  );
}

/** The covering party-day index on a month (or its work table): (party_id, decided_at) INCLUDE every other column. */
async function createPartyDayIndex(db: Db, table: string, name: string, concurrently: boolean): Promise<void> {
  const rest = (await registerColumns(db)).filter((c) => c !== 'party_id' && c !== 'decided_at');
  await db.execute(
    sql.raw(
      `create index ${concurrently ? 'concurrently ' : ''}${quoteIdent(name)} on ${quoteIdent(table)} (party_id, decided_at) include (${rest.map(quoteIdent).join(', ')})`,
    ),
  );
}

/**
 * The covering party-day indexes of the register's months, by month name, in one catalog read. Only valid ones
 * unless `includeInvalid`: an interrupted CONCURRENTLY build or drop leaves an invalid index, which the planner does
 * not use (so the month counts as without one) and which a drop must still find.
 */
export async function partyDayIndexes(db: Db, includeInvalid = false): Promise<Map<string, string>> {
  const found = rows<{ month: string; name: string }>(
    await db.execute(sql`
      select c.relname as month, ic.relname as name
        from pg_inherits i join pg_class c on c.oid = i.inhrelid
        join pg_index x on x.indrelid = c.oid join pg_class ic on ic.oid = x.indexrelid
       where i.inhparent = 'access_register'::regclass and ic.relname like ${`%\_${PARTY_DAY_INDEX}`}
         and (x.indisvalid or ${includeInvalid})`),
  );
  return new Map(found.map((r) => [r.month, r.name]));
}

/**
 * A compacted month's covering party-day index built after its compaction (the month compacted without it, now within
 * REGISTER_PARTY_DAY_INDEX_MONTHS because the setting was raised): the same index compactMonthIndexes builds, under
 * the month's own name. CONCURRENTLY, so the register's readers go on (a closed month takes no writes); a leftover of
 * an interrupted build (invalid) is dropped first. Returns the index's name.
 */
export async function buildPartyDayIndex(db: Db, m: RegisterMonth): Promise<string> {
  const name = `${m.name}_${PARTY_DAY_INDEX}`;
  await db.execute(sql.raw(`drop index concurrently if exists ${quoteIdent(name)}`));
  await createPartyDayIndex(db, m.name, name, true);
  return name;
}

/**
 * A month's covering party-day index dropped without blocking the register: CONCURRENTLY (not in a transaction), so
 * readers and the gate go on; an interrupted drop leaves an invalid index the next run drops again.
 */
export async function dropPartyDayIndex(db: Db, indexName: string): Promise<void> {
  await db.execute(sql.raw(`drop index concurrently if exists ${quoteIdent(indexName)}`));
}

/**
 * Step 3: VACUUM (ANALYZE) the work table, so its visibility map is complete (index-only DC-5 statistics from the
 * first read) and the planner has its statistics; then count and checksum it again. Marked verified (its comment)
 * only when both equal the month's, so an interrupted run's next attempt can swap it in without copying again.
 */
export async function compactMonthVerify(
  db: Db,
  m: RegisterMonth,
  expected: { rows: number; checksum: string },
): Promise<boolean> {
  const work = compactionWorkName(m);
  await db.execute(sql.raw(`vacuum (analyze) ${quoteIdent(work)}`));
  const got = await tableDigest(db, work, await registerColumns(db));
  if (got.rows !== expected.rows || got.checksum !== expected.checksum) return false;
  await db.execute(
    sql.raw(
      `comment on table ${quoteIdent(work)} is 'compaction of ${m.name} verified: rows=${got.rows} checksum=${got.checksum}'`,
    ),
  );
  return true;
}

/**
 * Step 4, in the caller's transaction (with its audit entry, written first so that no wait for the audit log falls
 * inside the lock): the month detached (not CONCURRENTLY: a reader sees the old month or the new one, never
 * neither; this takes ACCESS EXCLUSIVE on the register until commit, so lock_timeout is short and a swap that
 * cannot get its lock gives up and is retried), renamed to its retired name, the work table renamed to the month
 * and attached with the month's bounds (its indexes adopted, its CHECK constraint spares the scan), marked compacted.
 * Catalog updates only. The retired month is dropped after the commit (dropCompactionTable), outside the lock.
 */
export async function swapCompactedMonth(tx: DbOrTx, m: RegisterMonth, rowsCopied: number): Promise<void> {
  const name = quoteIdent(m.name);
  const work = compactionWorkName(m);
  await tx.execute(sql.raw(`set local lock_timeout = '${REGISTER_SWAP_LOCK_TIMEOUT}'`));
  await tx.execute(sql.raw(`alter table access_register detach partition ${name}`));
  await tx.execute(sql.raw(`alter table ${name} rename to ${quoteIdent(compactionRetiredName(m))}`));
  await tx.execute(sql.raw(`alter table ${quoteIdent(work)} rename to ${name}`));
  await tx.execute(
    sql.raw(
      `alter table access_register attach partition ${name} for values from ('${m.from.toISOString()}') to ('${m.to.toISOString()}')`,
    ),
  );
  await tx.execute(sql.raw(`alter table ${name} drop constraint ${quoteIdent(`${work}_month_ck`)}`));
  await tx.execute(sql.raw(`comment on table ${name} is '${COMPACTED_MARK}: rows=${rowsCopied}'`));
}

/** A lock_timeout (or other lock wait given up): the swap is retried later. */
export function isLockNotAvailable(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e)
    if (e.code === '55P03') return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// The month counts (issue 21, decisions/0020): a closed month rolled up per (connection, party) into
// access_register_month_counts, so DC-5's per-party statistics read one index range by connection instead of one
// descent per month (db/repositories/transparency.ts registerStatistics; domain registerCountsSplit). A month's
// marker in access_register_months_counted says its counts are complete; both are personal data like the register
// and go with the month (DC-9).

/** A month's key in the counts: its first day, 'YYYY-MM-DD' (UTC). */
export const countMonthKey = (m: RegisterMonth): string => m.from.toISOString().slice(0, 10);

/** The months whose counts are complete (their markers), by countMonthKey. */
export async function countedRegisterMonths(db: DbOrTx): Promise<Set<string>> {
  const found = rows<{ month: string }>(
    await db.execute(sql`select to_char(month, 'YYYY-MM-DD') as month from access_register_months_counted`),
  );
  return new Set(found.map((r) => r.month));
}

export class MonthCountMismatch extends Error {
  constructor(
    readonly month: string,
    readonly expected: number,
    readonly counted: number,
  ) {
    super(`counts of ${month}: their totals make ${counted} rows, the month has ${expected}`);
  }
}

/**
 * A month's counts written from `source` (the month's verified work table before its swap, or the compacted month
 * itself), replacing any it had (a re-run), with its marker, in one transaction; their totals must make the month's
 * verified row count (`expectedRows`), else nothing is written (MonthCountMismatch). `source` is locked against
 * writes for the count (SHARE: readers go on); a closed month takes none (decisions/0019), so this waits for nobody.
 */
export async function countRegisterMonth(
  db: Db,
  m: RegisterMonth,
  source: string,
  expectedRows: number,
): Promise<{ groups: number; rows: number }> {
  if (source !== m.name && source !== compactionWorkName(m)) throw new Error(`not ${m.name} or its copy: ${source}`);
  const month = countMonthKey(m);
  const done = await db.transaction(async (tx) => {
    await tx.execute(sql.raw(`set local lock_timeout = '${REGISTER_DDL_LOCK_TIMEOUT}'`));
    await tx.execute(sql.raw(`lock table ${quoteIdent(source)} in share mode`));
    await tx.execute(sql.raw(`set local work_mem = '256MB'`));
    await tx.execute(sql`delete from access_register_months_counted where month = ${month}::date`);
    await tx.execute(sql`delete from access_register_month_counts where month = ${month}::date`);
    await tx.execute(sql`
      insert into access_register_month_counts (month, connection_ean, party_id, total, allowed, first_at, last_at)
      select ${month}::date, connection_ean, party_id, count(*), count(*) filter (where allowed), min(decided_at),
             max(decided_at)
        from ${sql.identifier(source)} group by connection_ean, party_id`);
    const [r] = rows<{ groups: number; total: string }>(
      await tx.execute(sql`
        select count(*)::int as groups, coalesce(sum(total), 0)::text as total
          from access_register_month_counts where month = ${month}::date`),
    );
    const counted = Number(r!.total);
    if (counted !== expectedRows) throw new MonthCountMismatch(m.name, expectedRows, counted);
    await tx.execute(
      sql`insert into access_register_months_counted (month, rows) values (${month}::date, ${expectedRows})`,
    );
    return { groups: r!.groups, rows: counted };
  });
  // The new month's pages marked all-visible (and the replaced counts' dead rows removed), so DC-5 reads the counts
  // by index only from the first answer. VACUUM skips pages already all-visible: its cost is the month's, not the
  // table's. SKIP_LOCKED: an autovacuum already at it is left to it.
  await db.execute(sql`vacuum (analyze, skip_locked) access_register_month_counts`);
  return done;
}

/** A month's marker (the rows its counts total) and how many counts it has, or null when it is not counted. */
export async function monthCounted(db: DbOrTx, m: RegisterMonth): Promise<{ groups: number; rows: number } | null> {
  const month = countMonthKey(m);
  const [r] = rows<{ rows: string; groups: number }>(
    await db.execute(sql`
      select k.rows::text as rows,
             (select count(*)::int from access_register_month_counts c where c.month = k.month) as groups
        from access_register_months_counted k where k.month = ${month}::date`),
  );
  return r ? { rows: Number(r.rows), groups: r.groups } : null;
}

/**
 * DC-9, in the transaction that drops the month: its marker removed first, so no DC-5 answer takes its counts from
 * then on; the counts themselves are removed right after (purgeMonthCounts). Returns how many there are.
 */
export async function uncountRegisterMonth(tx: DbOrTx, m: RegisterMonth): Promise<number> {
  const month = countMonthKey(m);
  await tx.execute(sql`delete from access_register_months_counted where month = ${month}::date`);
  const [r] = rows<{ n: number }>(
    await tx.execute(sql`select count(*)::int as n from access_register_month_counts where month = ${month}::date`),
  );
  return r!.n;
}

/** The counts of a month without its marker removed, `batch` rows a transaction (DC-9); the rows removed. */
export async function purgeMonthCounts(db: Db, month: string, batch = 50_000): Promise<number> {
  let removed = 0;
  for (;;) {
    const done = rows<{ n: number }>(
      await db.execute(sql`
        with gone as (
          delete from access_register_month_counts
           where ctid = any (array(select ctid from access_register_month_counts where month = ${month}::date
                                    and not exists (select 1 from access_register_months_counted k
                                                     where k.month = ${month}::date)
                                    limit ${batch}))
          returning 1)
        select count(*)::int as n from gone`),
    )[0]!.n;
    removed += done;
    if (done < batch) return removed;
  }
}

/** The oldest month that has counts but no marker (left by an interrupted drop), or null. */
export async function oldestUnmarkedCountMonth(db: DbOrTx, before: string): Promise<string | null> {
  const [r] = rows<{ month: string | null }>(
    await db.execute(sql`
      select to_char(min(c.month), 'YYYY-MM-DD') as month from access_register_month_counts c
       where c.month < ${before}::date
         and not exists (select 1 from access_register_months_counted k where k.month = c.month)`),
  );
  return r?.month ?? null;
}
