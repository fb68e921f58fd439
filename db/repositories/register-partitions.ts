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
 * lock_timeout bounds the waits of the transactional DDL, so a stuck lock makes the step fail and retry rather
 * than queue the gate behind it. DETACH CONCURRENTLY queues nobody: it waits for older snapshots, not locks.
 */
import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
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
}

/** The register's months, attached or left over from an interrupted drop, oldest first. */
export async function registerMonths(db: DbOrTx): Promise<HeldMonth[]> {
  const found = rows<{ name: string; attached: boolean; pending: boolean }>(
    await db.execute(sql`
      select c.relname as name, i.inhrelid is not null as attached, coalesce(i.inhdetachpending, false) as pending
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace and n.nspname = current_schema()
        left join pg_inherits i on i.inhrelid = c.oid and i.inhparent = 'access_register'::regclass
       where c.relkind = 'r' and c.relname like 'access\\_register\\_p%'`),
  );
  const out: HeldMonth[] = [];
  for (const r of found) {
    const m = parseRegisterMonth(r.name);
    if (m) out.push({ ...m, state: !r.attached ? 'detached' : r.pending ? 'detach_pending' : 'attached' });
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
export async function closedMonthsWithUnvacuumedRows(db: DbOrTx, before: Date): Promise<HeldMonth[]> {
  const found = rows<{ name: string }>(
    await db.execute(sql`
      select c.relname as name
        from pg_inherits i join pg_class c on c.oid = i.inhrelid
        join pg_stat_user_tables s on s.relid = c.oid
       where i.inhparent = 'access_register'::regclass and not i.inhdetachpending and s.n_ins_since_vacuum > 0`),
  );
  const out: HeldMonth[] = [];
  for (const r of found) {
    const m = parseRegisterMonth(r.name);
    if (m && m.to.getTime() <= before.getTime()) out.push({ ...m, state: 'attached' });
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
