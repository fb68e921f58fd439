/**
 * The register-partitions migration on data written before it (issue 21): a database migrated up to the migration
 * before holds access register rows over fourteen months in the unpartitioned table; then the migration runs. The
 * register becomes a table partitioned by UTC month of decided_at, with a month for each month from the oldest row's
 * through two months ahead, every row in its month unchanged, the key (id, decided_at) and the DC-5, party and
 * delivery indexes on every month; a decision for a month without a partition is refused (no DEFAULT partition).
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { runMigrations } from '../../db/migrate.js';
import { registerMonth, registerMonthsBetween } from '../../domain/register-partitions.js';
import { uuidv7 } from '../../lib/uuidv7.js';
import { useDatabaseBefore } from '../helpers/index.js';

// An empty database migrated up to the migration under test, which the test runs after writing its rows.
const database = useDatabaseBefore('register_partitions');

const DAY = 86_400_000;

describe('migration register_partitions on a register written before it', () => {
  it('partitions the register by month, keeps every row, indexes every month, and leaves no DEFAULT partition', async () => {
    const { sql, url } = database;
    const now = Date.now();
    const at = [now - 400 * DAY, now - 400 * DAY + 1, now - 60 * DAY, now - 1000].map((t) => new Date(t));
    const rows = at.map((t, i) => ({
      id: uuidv7(t.getTime()),
      decided_at: t,
      request_id: randomUUID(),
      party_id: randomUUID(),
      connection_ean: `8710000000000000${i}`.slice(0, 18),
      data_kind: 'interval_data',
      period_from: new Date(t.getTime() - DAY),
      period_to: t,
      allowed: i % 2 === 0,
      reason_code: i % 2 === 0 ? 'mandate_valid' : 'no_mandate',
      rule: 'DC-2',
      mandate_id: i % 2 === 0 ? randomUUID() : null,
      block_id: null,
      kind: i === 3 ? 'delivery' : 'request',
      delivery_of: null as string | null,
      actor: null,
      purpose: null,
    }));
    rows[3]!.delivery_of = rows[2]!.id;
    for (const r of rows) await sql`insert into access_register ${sql(r)}`;
    const before = await sql`select * from access_register order by id`;
    expect(await sql`select relkind from pg_class where relname = 'access_register'`).toEqual([{ relkind: 'r' }]);

    await runMigrations(url);

    expect(await sql`select relkind from pg_class where relname = 'access_register'`).toEqual([{ relkind: 'p' }]);
    const parts = await sql<Array<{ name: string; bound: string }>>`
      select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound
        from pg_inherits i join pg_class c on c.oid = i.inhrelid
       where i.inhparent = 'access_register'::regclass order by c.relname`;
    const expected = registerMonthsBetween(
      at[0]!,
      new Date(Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth() + 2, 1)),
    );
    expect(parts.map((p) => p.name)).toEqual(expected.map((m) => m.name));
    expect(parts.some((p) => p.bound === 'DEFAULT')).toBe(false);
    // Each month's bounds are the UTC month registerMonth() gives.
    const oldest = registerMonth(at[0]!);
    expect(parts[0]!.bound).toContain(`FROM ('${oldest.from.toISOString().slice(0, 10)}`);

    // Every row kept, unchanged, in its own month.
    expect(await sql`select * from access_register order by id`).toEqual(before);
    for (const r of rows) {
      const [where] = await sql<Array<{ part: string }>>`
        select tableoid::regclass::text as part from access_register where id = ${r.id}`;
      expect(where!.part).toBe(registerMonth(r.decided_at).name);
    }

    // The key contains the partition key; the three indexes exist on the parent and on every month.
    const [pk] = await sql<Array<{ def: string }>>`
      select pg_get_constraintdef(oid) as def from pg_constraint where conname = 'access_register_pkey'`;
    expect(pk!.def).toBe('PRIMARY KEY (id, decided_at)');
    const idx = await sql<Array<{ part: string; n: number }>>`
      select t.relname as part, count(*)::int as n
        from pg_inherits i join pg_class t on t.oid = i.inhrelid join pg_index x on x.indrelid = t.oid
       where i.inhparent = 'access_register'::regclass group by t.relname`;
    expect(idx).toHaveLength(parts.length);
    expect(idx.every((r) => r.n === 4)).toBe(true); // key, connection, party, delivery
    expect(await sql`select 1 from pg_class where relname = 'access_register_unpartitioned'`).toHaveLength(0);

    // No month, no row: a decision three years ahead has no partition and is refused, not parked in a default.
    const far = new Date(now + 3 * 365 * DAY);
    await expect(
      sql`insert into access_register ${sql({ ...rows[0]!, id: uuidv7(far.getTime()), decided_at: far })}`,
    ).rejects.toMatchObject({ code: '23514' });
  });
});
