/**
 * The register's covering DC-5 index (issue 21, migration register_conn_covering_index) on a register written
 * before it (rows in the current month, which the migration before made): the connection index of the register and of every month carries party_id and allowed, every month
 * vacuums on 100,000 inserted rows (REGISTER_MONTH_STORAGE), the rows are unchanged, and accessOverview's
 * statistics statement can be answered from the index alone.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { runMigrations } from '../../db/migrate.js';
import { REGISTER_MONTH_STORAGE } from '../../db/repositories/register-partitions.js';
import { uuidv7 } from '../../lib/uuidv7.js';
import { useDatabaseBefore } from '../helpers/index.js';

const database = useDatabaseBefore('register_conn_covering_index');

const DAY = 86_400_000;

describe('migration register_conn_covering_index', () => {
  it('rebuilds the DC-5 index with INCLUDE (party_id, allowed) on every month and sets their autovacuum', async () => {
    const { sql, url } = database;
    const now = Date.now();
    const ean = '871000000000000042';
    const party = randomUUID();
    for (const [k, t] of [now - 2000, now - 1000].entries())
      await sql`insert into access_register ${sql({
        id: uuidv7(t),
        decided_at: new Date(t),
        request_id: randomUUID(),
        party_id: party,
        connection_ean: ean,
        data_kind: 'interval_data',
        period_from: new Date(t - DAY),
        period_to: new Date(t),
        allowed: k === 0,
        reason_code: k === 0 ? 'mandate_valid' : 'no_mandate',
        rule: 'DC-2',
        kind: 'request',
      })}`;
    // Other connections' decisions, so that one connection's rows are a small part of the month.
    await sql`
      insert into access_register (id, decided_at, request_id, party_id, connection_ean, data_kind, period_from,
                                   period_to, allowed, reason_code, rule, kind)
      select gen_random_uuid(), t, gen_random_uuid()::text, ${party}, lpad((871000000000100000 + g)::text, 18, '0'),
             'interval_data', t - interval '2 days', t - interval '1 day', g % 2 = 0, 'no_mandate', 'DC-2', 'request'
        from generate_series(1, 2000) g cross join lateral (select now() - g * interval '1 second' as t) x`;
    const before = await sql`select * from access_register order by id`;
    const [old] = await sql<Array<{ def: string }>>`
      select pg_get_indexdef('access_register_conn_idx'::regclass) as def`;
    expect(old!.def).not.toContain('INCLUDE');

    await runMigrations(url);

    expect(await sql`select * from access_register order by id`).toEqual(before);
    const [parent] = await sql<Array<{ def: string }>>`
      select pg_get_indexdef('access_register_conn_idx'::regclass) as def`;
    expect(parent!.def).toContain('(connection_ean, decided_at) INCLUDE (party_id, allowed)');
    const months = await sql<Array<{ name: string; options: string[] | null; defs: string[] }>>`
      select c.relname as name, c.reloptions as options,
             array(select pg_get_indexdef(x.indexrelid) from pg_index x
                    join pg_inherits ii on ii.inhrelid = x.indexrelid and ii.inhparent = 'access_register_conn_idx'::regclass
                   where x.indrelid = c.oid) as defs
        from pg_inherits i join pg_class c on c.oid = i.inhrelid
       where i.inhparent = 'access_register'::regclass`;
    expect(months.length).toBeGreaterThanOrEqual(3);
    const storage = REGISTER_MONTH_STORAGE.split(', ').map((o) => o.replace(' = ', '='));
    for (const m of months) {
      expect(m.defs, m.name).toHaveLength(1);
      expect(m.defs[0], m.name).toContain('INCLUDE (party_id, allowed)');
      expect([...(m.options ?? [])].sort(), m.name).toEqual([...storage].sort());
    }

    // The statistics of accessOverview (db/repositories/transparency.ts) can be read from the index alone (seq and
    // bitmap scans off: on a table this small the planner would rather read the heap).
    await sql.unsafe('vacuum analyze access_register');
    const plan = await sql.begin(async (tx) => {
      await tx`set local enable_seqscan = off`;
      await tx`set local enable_bitmapscan = off`;
      return tx<Array<{ 'QUERY PLAN': string }>>`
        explain (analyze, costs off, summary off)
        select party_id, count(*)::int, (count(*) filter (where allowed))::int, min(decided_at), max(decided_at)
          from access_register where connection_ean = ${ean} and decided_at >= ${new Date(now - 400 * DAY).toISOString()}::timestamptz
         group by party_id`;
    });
    const text = plan.map((r) => r['QUERY PLAN']).join('\n');
    expect(text).toContain('Index Only Scan using');
  });
});
