/**
 * DC-5 at volume (issue 21, decisions/0020) on real PostgreSQL: a closed month's compaction writes its month counts
 * (per connection and party) with a marker, idempotently and checked against the month's rows; accessOverview takes
 * the counted months wholly inside the grid user's window from them and the rest from the register, and its answer is
 * the raw GROUP BY's; a month compacted before it had counts is counted by the daily run; retention removes a
 * month's marker and counts with the month (DC-9).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { auditLog, connectionEvents } from '../../db/schema/index.js';
import {
  countedRegisterMonths,
  countRegisterMonth,
  MonthCountMismatch,
  registerMonths,
} from '../../db/repositories/register-partitions.js';
import { PURGE_ACTION } from '../../db/repositories/retention.js';
import { accessOverview } from '../../db/repositories/transparency.js';
import { parseRegisterMonth, registerMonthsBetween } from '../../domain/register-partitions.js';
import {
  compactClosedRegisterMonths,
  countCompactedRegisterMonths,
  ensureRegisterPartitions,
  PARTITION_COMPACTED,
  PARTITION_COUNTED,
  PARTITIONS_SCHEDULE_ACTOR,
} from '../../services/register/partitions.js';
import { purgeExpiredAccessRegister } from '../../services/retention/purge.js';
import { testConfig } from '../helpers/index.js';
import { coreContext, days, makeConnection, makeGridUser, makeParty, type CoreContext } from './fixtures.js';

let ctx: CoreContext;
beforeAll(async () => {
  ctx = await coreContext('register-month-counts');
});
afterAll(async () => ctx?.close());

const registerDays = testConfig().retention.accessRegisterDays;
type Rows<T> = T[];
const rows = <T>(r: unknown): Rows<T> => r as Rows<T>;

// December 2040 to June 2041; "now" is in June, the grid user's since in the middle of January.
const months = registerMonthsBetween(new Date(Date.UTC(2040, 11, 1)), new Date(Date.UTC(2041, 5, 1)));
const now = new Date(Date.UTC(2041, 5, 10, 12));
const since = new Date(Date.UTC(2041, 0, 15, 10, 30));
const month = (name: string) => parseRegisterMonth(name)!;

describe('DC-5 statistics from the month counts (decisions/0020)', () => {
  let conn: Awaited<ReturnType<typeof makeConnection>>;
  let userId: string;
  const partyIds: string[] = [];

  /** Rows over every month, for this connection (3 parties) and 30 others, some exactly on month and `since` edges. */
  const fill = async () => {
    for (const m of months) await ensureRegisterPartitions(ctx.db, m.from, PARTITIONS_SCHEDULE_ACTOR, 0);
    const first = months[0]!.from.toISOString();
    const span = `${Math.floor((now.getTime() - months[0]!.from.getTime()) / 1000)} seconds`;
    await ctx.sql`
      insert into access_register (id, decided_at, request_id, party_id, connection_ean, data_kind, period_from,
                                   period_to, allowed, reason_code, rule)
      select gen_random_uuid(), t, 'req-' || g, (${partyIds}::uuid[])[g % 3 + 1],
             case when g % 4 = 0 then ${conn.ean} else lpad((871000000000300000 + g % 30)::text, 18, '0') end,
             'interval_data', t - interval '2 days', t - interval '1 day', g % 5 <> 0,
             case when g % 5 <> 0 then 'mandate_valid' else 'no_mandate' end, 'DC-2'
        from generate_series(1, 6000) g
        cross join lateral (select ${first}::timestamptz + (g * 7919 % 6000) * (${span}::interval / 6000) as t) x`;
    // On the edges: the instant of `since` (counts), a millisecond before it (the previous occupant's), and a month's
    // first and last instants (each in its own month).
    const edges = [
      new Date(since.getTime()),
      new Date(since.getTime() - 1),
      month('access_register_p204104').from,
      new Date(month('access_register_p204104').to.getTime() - 1),
      month('access_register_p204102').from,
    ];
    for (const [k, at] of edges.entries())
      await ctx.sql`
        insert into access_register (id, decided_at, request_id, party_id, connection_ean, data_kind, period_from,
                                     period_to, allowed, reason_code, rule)
        values (gen_random_uuid(), ${at.toISOString()}, ${`edge-${k}`}, ${partyIds[k % 3]!}, ${conn.ean},
                'interval_data', ${at.toISOString()}, ${at.toISOString()}, ${k % 2 === 0}, 'mandate_valid', 'DC-2')`;
  };

  /** The raw statement accessOverview answered before decisions/0020 (and must still answer). */
  const raw = async () =>
    rows<{ party_id: string; total: number; allowed: number; first_at: Date; last_at: Date }>(
      await ctx.sql`
        select party_id, count(*)::int as total, (count(*) filter (where allowed))::int as allowed,
               min(decided_at) as first_at, max(decided_at) as last_at
          from access_register where connection_ean = ${conn.ean} and decided_at >= ${since.toISOString()}
         group by party_id order by party_id`,
    ).map((r) => ({
      partyId: r.party_id,
      total: r.total,
      allowed: r.allowed,
      firstAt: new Date(r.first_at).toISOString(),
      lastAt: new Date(r.last_at).toISOString(),
    }));
  const overview = async () =>
    (await accessOverview(ctx.db, conn, userId, now, 50, registerDays)).parties
      .filter((p) => p.requests.total > 0)
      .map((p) => ({
        partyId: p.party.id,
        total: p.requests.total,
        allowed: p.requests.allowed,
        firstAt: p.requests.firstAt!.toISOString(),
        lastAt: p.requests.lastAt!.toISOString(),
      }))
      .sort((a, b) => (a.partyId < b.partyId ? -1 : 1));
  const counted = async () => [...(await countedRegisterMonths(ctx.db))].sort();
  const monthRows = async (name: string) =>
    rows<{ n: number }>(await ctx.sql`select count(*)::int as n from ${ctx.sql(name)}`)[0]!.n;

  beforeAll(async () => {
    const operator = await makeParty(ctx.db, ['grid_operator']);
    for (let k = 0; k < 3; k++) partyIds.push((await makeParty(ctx.db, ['service_provider'])).id);
    const previous = await makeGridUser(ctx.db, 'Previous occupant');
    const user = await makeGridUser(ctx.db, 'Grid user');
    userId = user.id;
    conn = await makeConnection(ctx.db, { gridOperatorId: operator.id, gridUserId: user.id });
    await ctx.db.insert(connectionEvents).values({
      connectionEan: conn.ean,
      kind: 'customer_switch',
      effectiveAt: since,
      previousGridUserId: previous.id,
      newGridUserId: user.id,
    });
    await fill();
  });

  it('agrees with the raw GROUP BY with months counted, compacted and uncounted, a since mid-month and the previous occupant’s rows', async () => {
    const expected = await raw();
    expect(expected.length).toBe(3);
    // Nothing counted yet: all from the register.
    expect(await counted()).toEqual([]);
    expect(await overview()).toEqual(expected);

    // The daily run compacts May, April and March (newest first), each counted from its verified copy before the swap.
    const r = await compactClosedRegisterMonths(ctx.db, now, PARTITIONS_SCHEDULE_ACTOR, { maxMonths: 3 });
    expect(r.compacted.map((c) => c.name)).toEqual([
      'access_register_p204105',
      'access_register_p204104',
      'access_register_p204103',
    ]);
    for (const c of r.compacted) expect(c.counts.rows).toBe(await monthRows(c.name));
    expect(await counted()).toEqual(['2041-03-01', '2041-04-01', '2041-05-01']);
    // One connection's months are one range of the primary key, which carries the counts (index-only reads).
    const [pk] = rows<{ def: string }>(
      await ctx.sql`select pg_get_indexdef('access_register_month_counts_pkey'::regclass) as def`,
    );
    expect(pk!.def).toMatch(/\(connection_ean, month, party_id\) INCLUDE \(total, allowed, first_at, last_at\)$/);
    // Audited with the compaction.
    const [entry] = await ctx.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, PARTITION_COMPACTED), eq(auditLog.entityId, 'access_register_p204104')));
    expect(entry!.data).toMatchObject({
      counts: { rows: await monthRows('access_register_p204104') },
      rule: 'DC-5',
    });
    expect((entry!.data as { counts: { groups: number } }).counts.groups).toBeGreaterThan(30);
    // January counted too (from the month itself): it holds `since`, so its counts (with the previous occupant's
    // rows before since) must not be read; the register answers for it.
    await countRegisterMonth(
      ctx.db,
      month('access_register_p204101'),
      'access_register_p204101',
      await monthRows('access_register_p204101'),
    );
    // March compacted before there were counts: its marker and counts gone, so it is read from the register.
    await ctx.sql`delete from access_register_months_counted where month = '2041-03-01'`;
    await ctx.sql`delete from access_register_month_counts where month = '2041-03-01'`;
    expect(await counted()).toEqual(['2041-01-01', '2041-04-01', '2041-05-01']);
    expect(await overview()).toEqual(expected);

    // Counts that disagree with the register would show: the counts are what is read for April and May.
    await ctx.sql`update access_register_month_counts set total = total + 1 where month = '2041-04-01' and connection_ean = ${conn.ean}`;
    expect(await overview()).not.toEqual(expected);
    await ctx.sql`update access_register_month_counts set total = total - 1 where month = '2041-04-01' and connection_ean = ${conn.ean}`;
    // And January's counts are not (they include the previous occupant's rows).
    await ctx.sql`update access_register_month_counts set total = total + 1000 where month = '2041-01-01' and connection_ean = ${conn.ean}`;
    expect(await overview()).toEqual(expected);

    // The daily run counts the compacted month that has none (March), once a run, audited.
    expect(await countCompactedRegisterMonths(ctx.db, PARTITIONS_SCHEDULE_ACTOR)).toEqual(['access_register_p204103']);
    expect(await countCompactedRegisterMonths(ctx.db, PARTITIONS_SCHEDULE_ACTOR)).toEqual([]);
    const countedEntries = await ctx.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, PARTITION_COUNTED), eq(auditLog.entityId, 'access_register_p204103')));
    expect(countedEntries).toHaveLength(1);
    expect(countedEntries[0]!.data).toMatchObject({ counts: { rows: await monthRows('access_register_p204103') } });
    expect(await counted()).toEqual(['2041-01-01', '2041-03-01', '2041-04-01', '2041-05-01']);
    expect(await overview()).toEqual(expected);
    // June (the current month) is never counted by the daily run and comes from the register: a new row shows at once.
    await ctx.sql`
      insert into access_register (id, decided_at, request_id, party_id, connection_ean, data_kind, period_from,
                                   period_to, allowed, reason_code, rule)
      values (gen_random_uuid(), ${new Date(now.getTime() - 1000).toISOString()}, 'late', ${partyIds[0]!}, ${conn.ean},
              'interval_data', ${now.toISOString()}, ${now.toISOString()}, true, 'mandate_valid', 'DC-2')`;
    const after = await raw();
    expect(after).not.toEqual(expected);
    expect(await overview()).toEqual(after);
  });

  it('a re-count replaces the month’s counts; counts that do not make the month’s rows are not written', async () => {
    const april = month('access_register_p204104');
    const n = await monthRows(april.name);
    const before = rows<{ n: number; t: number }>(
      await ctx.sql`select count(*)::int as n, sum(total)::int as t from access_register_month_counts where month = '2041-04-01'`,
    )[0]!;
    expect(await countRegisterMonth(ctx.db, april, april.name, n)).toEqual({ groups: before.n, rows: n });
    expect(
      rows<{ n: number; t: number }>(
        await ctx.sql`select count(*)::int as n, sum(total)::int as t from access_register_month_counts where month = '2041-04-01'`,
      )[0],
    ).toEqual({ n: before.n, t: n });
    await expect(countRegisterMonth(ctx.db, april, april.name, n + 1)).rejects.toBeInstanceOf(MonthCountMismatch);
    // The failed count changed nothing: April is still counted, with its counts.
    expect(await counted()).toContain('2041-04-01');
    expect(
      rows<{ t: number }>(
        await ctx.sql`select sum(total)::int as t from access_register_month_counts where month = '2041-04-01'`,
      )[0]!.t,
    ).toBe(n);
    await expect(countRegisterMonth(ctx.db, april, 'access_register_p204105', n)).rejects.toThrow(
      /not access_register_p204104/,
    );
  });

  it('DC-9: a month dropped by retention takes its marker and counts with it; counts left without a marker go too', async () => {
    // Counts of a month whose drop was interrupted after its commit (no marker, no month).
    await ctx.sql`
      insert into access_register_month_counts (month, connection_ean, party_id, total, allowed, first_at, last_at)
      values ('2040-11-01', ${conn.ean}, ${partyIds[0]!}, 3, 1, '2040-11-02', '2040-11-03')`;
    // At this instant every month up to February 2041 is past the period (its end at or before the cutoff).
    const asOf = new Date(month('access_register_p204102').to.getTime() + days(registerDays) + 1000);
    const janCounts = rows<{ n: number }>(
      await ctx.sql`select count(*)::int as n from access_register_month_counts where month = '2041-01-01'`,
    )[0]!.n;
    expect(janCounts).toBeGreaterThan(0);
    const r = await purgeExpiredAccessRegister(ctx.db, {
      runId: 'test-counts',
      asOf: asOf.toISOString(),
      days: registerDays,
      batchSize: 100,
      maxBatches: 50,
    });
    const names = (await registerMonths(ctx.db)).map((m) => m.name);
    expect(names).not.toContain('access_register_p204101');
    expect(names).toContain('access_register_p204103');
    expect(await counted()).toEqual(['2041-03-01', '2041-04-01', '2041-05-01']);
    const left = rows<{ month: string }>(
      await ctx.sql`select distinct to_char(month, 'YYYY-MM-DD') as month from access_register_month_counts order by 1`,
    ).map((x) => x.month);
    expect(left).toEqual(['2041-03-01', '2041-04-01', '2041-05-01']);
    // January's purge entry names its counts removed with it.
    const entries = await ctx.db.select().from(auditLog).where(eq(auditLog.action, PURGE_ACTION));
    const jan = entries.find((e) => (e.data as { partition?: string }).partition === 'access_register_p204101');
    expect(jan?.data).toMatchObject({
      runId: 'test-counts',
      removed: { access_register_month_counts: janCounts },
      rule: 'DC-9',
    });
    expect(r.removed.access_register).toBeGreaterThan(0);
    // The answer after the drop agrees with the raw statement over what is held.
    expect(await overview()).toEqual(await raw());
  });
});
