/**
 * The access register's months (issue 21; domain/register-partitions.ts, services/register/partitions.ts) on real
 * PostgreSQL: months are created ahead, idempotently and audited with their actor, as plain tables attached to the
 * register (not PARTITION OF, which would lock the gate out); the gate registers into the current month; the grid
 * user's DC-5 answer says how far back the register reaches, and that reach moves when a month is dropped.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { auditLog } from '../../db/schema/index.js';
import {
  compactionLeftovers,
  compactionWorkName,
  compactMonthCopy,
  compactMonthIndexes,
  compactMonthVerify,
  dropCompactionTable,
  monthCounted,
  partyDayIndexes,
  registerMonths,
} from '../../db/repositories/register-partitions.js';
import { parseRegisterMonth, registerMonth, registerMonthsAhead } from '../../domain/register-partitions.js';
import {
  buildMissingPartyDayIndexes,
  compactClosedRegisterMonths,
  dropAgedPartyDayIndexes,
  ensureRegisterPartitions,
  maintainRegisterMonths,
  PARTY_DAY_INDEX_BUILT,
  PARTY_DAY_INDEX_DROPPED,
  PARTITION_COMPACTED,
  PARTITION_CREATED,
  PARTITIONS_SCHEDULE_ACTOR,
  startupActor,
  vacuumClosedRegisterMonths,
} from '../../services/register/partitions.js';
import { uuidv7 } from '../../lib/uuidv7.js';
import { P4Gate } from '../../api/p4-gate.js';
import { purgeExpiredAccessRegister } from '../../services/retention/purge.js';
import { testConfig } from '../helpers/index.js';
import {
  call,
  coreContext,
  days,
  iso,
  makeConnection,
  makeGridUser,
  makeKey,
  makeMandate,
  makeParty,
  type CoreContext,
} from './fixtures.js';

let ctx: CoreContext;
beforeAll(async () => {
  ctx = await coreContext('register-partitions');
});
afterAll(async () => ctx?.close());

const registerDays = testConfig().retention.accessRegisterDays;

describe('months created ahead', () => {
  it('creates the current month and two ahead, once, each audited with the actor that created it', async () => {
    const asOf = new Date(Date.UTC(2031, 10, 30, 23, 59, 59)); // the last second of November 2031
    const first = await ensureRegisterPartitions(ctx.db, asOf, PARTITIONS_SCHEDULE_ACTOR);
    expect(first.months).toEqual(['access_register_p203111', 'access_register_p203112', 'access_register_p203201']);
    expect(first.created).toEqual(first.months);
    // The next run (a retried activity, the start of another process) finds them and creates nothing.
    const again = await ensureRegisterPartitions(ctx.db, asOf, startupActor('api'));
    expect(again.created).toEqual([]);
    const entries = await ctx.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, PARTITION_CREATED), eq(auditLog.entityId, 'access_register_p203112')));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor: 'workflow:register-partitions',
      entityType: 'access_register',
      data: { from: '2031-12-01T00:00:00.000Z', to: '2032-01-01T00:00:00.000Z', rule: 'DC-1' },
    });
    // Attached with the register's bounds and indexes (ATTACH builds the partitioned indexes on the new table).
    const [bound] = rows<{ b: string; n: number }>(
      await ctx.sql`select pg_get_expr(c.relpartbound, c.oid) as b,
                           (select count(*)::int from pg_index x where x.indrelid = c.oid) as n
                      from pg_class c where c.relname = 'access_register_p203112'`,
    );
    expect(bound).toEqual({
      b: "FOR VALUES FROM ('2031-12-01 00:00:00+00') TO ('2032-01-01 00:00:00+00')",
      n: 4,
    });
    // With the covering DC-5 index and the month's own insert-triggered autovacuum (REGISTER_MONTH_STORAGE).
    const [month] = rows<{ options: string[]; def: string }>(
      await ctx.sql`select c.reloptions as options,
                           (select pg_get_indexdef(ii.inhrelid) from pg_inherits ii join pg_index x on x.indexrelid = ii.inhrelid
                             where ii.inhparent = 'access_register_conn_idx'::regclass and x.indrelid = c.oid) as def
                      from pg_class c where c.relname = 'access_register_p203112'`,
    );
    expect([...month!.options].sort()).toEqual([
      'autovacuum_vacuum_insert_scale_factor=0',
      'autovacuum_vacuum_insert_threshold=100000',
    ]);
    expect(month!.def).toContain('(connection_ean, decided_at) INCLUDE (party_id, allowed)');
    const held = await registerMonths(ctx.db);
    expect(held.filter((m) => m.name.startsWith('access_register_p2031')).map((m) => m.state)).toEqual([
      'attached',
      'attached',
    ]);
  });

  it('creates a month once when several processes start at the same time', async () => {
    const asOf = new Date(Date.UTC(2033, 2, 10));
    const results = await Promise.all(
      [0, 1, 2, 3].map(() => ensureRegisterPartitions(ctx.db, asOf, startupActor('worker'), 0)),
    );
    expect(results.flatMap((r) => r.created)).toEqual(['access_register_p203303']);
  });

  it('the template database already holds this month and two ahead (the migration), and the gate registers into it', async () => {
    const names = (await registerMonths(ctx.db)).map((m) => m.name);
    for (const m of registerMonthsAhead(new Date())) expect(names).toContain(m.name);
    const operator = await makeParty(ctx.db, ['grid_operator']);
    const provider = await makeParty(ctx.db, ['service_provider']);
    const conn = await makeConnection(ctx.db, { gridOperatorId: operator.id });
    await makeMandate(ctx.db, { partyId: provider.id, connectionEan: conn.ean });
    const p4 = await makeKey(ctx.db, 'p4-client', { partyId: provider.id });
    const res = await call(ctx.app, p4, 'POST', '/p4/requests', {
      connectionEan: conn.ean,
      dataKind: 'interval_data',
      from: iso(Date.now() - days(2)),
      to: iso(Date.now() - days(1)),
    });
    expect(res.statusCode).toBe(200);
    const id = res.json<{ id: string }>().id;
    const [row] = rows<{ part: string }>(
      await ctx.sql`select tableoid::regclass::text as part from access_register where id = ${id}`,
    );
    expect(row!.part).toBe(registerMonth(new Date()).name);
    // The data handle still finds it (looked up in its own month).
    const handle = await call(ctx.app, p4, 'GET', `/p4/requests/${id}`);
    expect(handle.statusCode).toBe(200);
    expect(handle.json()).toMatchObject({ id, connectionEan: conn.ean });
  });
});

describe("the gate's clock across a month's end", () => {
  it('registers each decision in the month of its instant: the last millisecond of January, then the first of February', async () => {
    await ensureRegisterPartitions(ctx.db, new Date(Date.UTC(2035, 0, 1)), PARTITIONS_SCHEDULE_ACTOR, 1);
    const operator = await makeParty(ctx.db, ['grid_operator']);
    const provider = await makeParty(ctx.db, ['service_provider']);
    const conn = await makeConnection(ctx.db, { gridOperatorId: operator.id });
    const instants = [Date.UTC(2035, 1, 1) - 1, Date.UTC(2035, 1, 1)];
    let k = 0;
    // The gate's own clock (P4GateOptions.now), read once per batch: one request per batch here.
    const gate = new P4Gate(ctx.sql, { now: () => instants[k]!, lingerMs: 0 });
    try {
      const decided: Array<{ id: string; decidedAt: Date }> = [];
      for (; k < instants.length; k++) {
        const out = await gate.request({
          partyId: provider.id,
          connectionEan: conn.ean,
          dataKind: 'interval_data',
          from: new Date(Date.UTC(2035, 0, 20)),
          to: new Date(Date.UTC(2035, 0, 21)),
          requestId: `month-end-${k}-${randomUUID()}`,
        });
        if (out.kind !== 'decided') throw new Error(`expected a decision, got ${out.kind}`);
        decided.push(out.decision);
      }
      expect(decided.map((d) => d.decidedAt.getTime())).toEqual(instants);
      const found = rows<{ id: string; part: string }>(
        await ctx.sql`select id::text, tableoid::regclass::text as part from access_register
                       where id = any(${decided.map((d) => d.id)}::uuid[])`,
      );
      expect(Object.fromEntries(found.map((r) => [r.id, r.part]))).toEqual({
        [decided[0]!.id]: 'access_register_p203501',
        [decided[1]!.id]: 'access_register_p203502',
      });
    } finally {
      await gate.close();
    }
  });
});

describe('closed months vacuumed (issue 21: index-only DC-5 statistics)', () => {
  it('vacuums the months before asOf that took rows since their last vacuum, once, and not the current month', async () => {
    const asOf = new Date(Date.UTC(2034, 6, 15)); // July 2034: June is closed, July is current
    await ensureRegisterPartitions(ctx.db, new Date(Date.UTC(2034, 5, 1)), PARTITIONS_SCHEDULE_ACTOR, 1);
    // No autovacuum on June here: an automatic ANALYZE of it at the wrong moment would make the VACUUM below skip
    // it (SKIP_LOCKED, as in production, where the next daily run takes it).
    await ctx.sql`alter table access_register_p203406 set (autovacuum_enabled = false)`;
    const ean = '871000000000034060';
    const partyId = randomUUID();
    for (const [k, at] of [Date.UTC(2034, 5, 3), Date.UTC(2034, 5, 29), Date.UTC(2034, 6, 2)].entries())
      await ctx.sql`insert into access_register ${ctx.sql({
        id: uuidv7(at),
        decided_at: iso(at),
        request_id: randomUUID(),
        party_id: partyId,
        connection_ean: ean,
        data_kind: 'interval_data',
        period_from: iso(at - days(2)),
        period_to: iso(at - days(1)),
        allowed: k !== 1,
        reason_code: k !== 1 ? 'mandate_valid' : 'no_mandate',
        rule: 'DC-2',
        kind: 'request',
      })}`;
    // Other connections' decisions in June, so that one connection's rows are a small part of the month.
    await ctx.sql`
      insert into access_register (id, decided_at, request_id, party_id, connection_ean, data_kind, period_from,
                                   period_to, allowed, reason_code, rule, kind)
      select gen_random_uuid(), t, gen_random_uuid()::text, ${partyId}, lpad((871000000000100000 + g)::text, 18, '0'),
             'interval_data', t - interval '2 days', t - interval '1 day', g % 2 = 0, 'no_mandate', 'DC-2', 'request'
        from generate_series(1, 2000) g cross join lateral (select timestamptz '2034-06-05' + g * interval '10 minutes' as t) x`;
    // The inserting sessions report their counts to the statistics within about a second.
    const inserted = async () =>
      rows<{ name: string }>(
        await ctx.sql`select relname as name from pg_stat_user_tables
                       where relname in ('access_register_p203406', 'access_register_p203407') and n_ins_since_vacuum > 0`,
      ).length;
    for (let t = Date.now(); (await inserted()) < 2 && Date.now() - t < 5000;)
      await new Promise((r) => setTimeout(r, 100));
    expect(await inserted()).toBe(2);

    const vacuumed = await vacuumClosedRegisterMonths(ctx.db, asOf);
    expect(vacuumed).toContain('access_register_p203406');
    expect(vacuumed).not.toContain('access_register_p203407');
    const [june] = rows<{ n: string; vacuumed: boolean }>(
      await ctx.sql`select n_ins_since_vacuum::text as n, last_vacuum is not null as vacuumed from pg_stat_user_tables
                     where relname = 'access_register_p203406'`,
    );
    expect(june).toEqual({ n: '0', vacuumed: true });
    expect(await vacuumClosedRegisterMonths(ctx.db, asOf)).not.toContain('access_register_p203406');

    // June's DC-5 statistics can come from the index alone (seq and bitmap scans off: on a table this small the
    // planner would rather read the heap). That the heap is then skipped too depends on the visibility map, which
    // VACUUM sets only for rows older than every snapshot open in the database: shown by bench:register's plans.
    const plan = await ctx.sql.begin(async (tx) => {
      await tx`set local enable_seqscan = off`;
      await tx`set local enable_bitmapscan = off`;
      return tx<Array<{ 'QUERY PLAN': string }>>`
        explain (analyze, costs off, summary off)
        select party_id, count(*)::int from access_register
         where connection_ean = ${ean} and decided_at >= '2034-06-01' and decided_at < '2034-07-01' group by party_id`;
    });
    const text = plan.map((r) => r['QUERY PLAN']).join('\n');
    expect(text).toContain('Index Only Scan using access_register_p203406_');
  });
});

describe('closed months compacted by connection (issue 21, decisions/0019)', () => {
  // A month of decisions in time order over 40 connections and 3 parties, as the gate writes them.
  const fillMonth = async (month: string, n: number) => {
    const m = parseRegisterMonth(month)!;
    await ensureRegisterPartitions(ctx.db, m.from, PARTITIONS_SCHEDULE_ACTOR, 1);
    const span = m.to.getTime() - m.from.getTime();
    await ctx.sql`
      insert into access_register (id, decided_at, request_id, party_id, connection_ean, data_kind, period_from,
                                   period_to, allowed, reason_code, rule, kind, delivery_of, actor)
      select gen_random_uuid(), t, 'req-' || g, (array[${randomUUID()}, ${randomUUID()}, ${randomUUID()}]::uuid[])[g % 3 + 1],
             lpad((871000000000200000 + (g * 7919) % 40)::text, 18, '0'), 'interval_data', t - interval '2 days',
             t - interval '1 day', g % 4 <> 0, case when g % 4 <> 0 then 'mandate_valid' else 'no_mandate' end, 'DC-2',
             case when g % 50 = 0 then 'delivery' else 'request' end,
             case when g % 50 = 0 then gen_random_uuid() end, case when g % 7 = 0 then 'internal:dc8' end
        from generate_series(1, ${n}) g
        cross join lateral (select ${m.from.toISOString()}::timestamptz + g * ${`${Math.floor(span / (n + 1))} milliseconds`}::interval as t) x`;
    return m;
  };
  const monthRows = async (name: string) =>
    rows<Record<string, unknown>>(await ctx.sql`select * from ${ctx.sql(name)} order by id`).map((r) => ({ ...r }));
  // A register month's audit entries of one action (compacted, its party-day index dropped or built).
  const monthEntries = async (action: string, name: string) =>
    ctx.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, action), eq(auditLog.entityId, name)));
  const compactedEntries = (name: string) => monthEntries(PARTITION_COMPACTED, name);
  const pagesPerConnection = async (name: string) =>
    rows<{ n: number }>(
      await ctx.sql`select max(n)::int as n from (select count(distinct (ctid::text::point)[0]) as n
                                                   from ${ctx.sql(name)} group by connection_ean) x`,
    )[0]!.n;
  const relOid = async (name: string) =>
    rows<{ oid: number }>(await ctx.sql`select ${name}::regclass::oid::int as oid`)[0]!.oid;

  it('rewrites a closed month in connection order with the same rows, indexes and bounds; audited; once', async () => {
    const march = await fillMonth('access_register_p203603', 3000);
    await fillMonth('access_register_p203604', 200);
    const before = await monthRows(march.name);
    expect(await pagesPerConnection(march.name)).toBeGreaterThan(50);
    const aprilOid = await relOid('access_register_p203604');

    // Within the day's margin after March's end nothing of March is touched (nor April, the current month).
    const early = await compactClosedRegisterMonths(
      ctx.db,
      new Date(Date.UTC(2036, 3, 1, 23, 59)),
      PARTITIONS_SCHEDULE_ACTOR,
    );
    expect(early.compacted.map((c) => c.name)).not.toContain(march.name);
    expect((await registerMonths(ctx.db)).find((m) => m.name === march.name)!.compacted).toBe(false);

    const asOf = new Date(Date.UTC(2036, 3, 2)); // exactly a day after March's end
    // With the covering party-day index kept on the 13 most recent months (REGISTER_PARTY_DAY_INDEX_MONTHS=13).
    const r = await compactClosedRegisterMonths(ctx.db, asOf, PARTITIONS_SCHEDULE_ACTOR, { partyDayIndexMonths: 13 });
    expect(r).toMatchObject({ compacted: [{ name: march.name, rows: 3000 }], deferred: [] });

    // The same rows (ids and every column), still attached under March's name and bounds.
    expect(await monthRows(march.name)).toEqual(before);
    const [c] = rows<{ n: number }>(
      await ctx.sql`select count(*)::int as n from access_register where decided_at >= ${iso(march.from.getTime())} and decided_at < ${iso(march.to.getTime())}`,
    );
    expect(c!.n).toBe(3000);
    // On disk in connection order: a connection's 75 rows on 2 to 4 heap pages (before: on every page of the month).
    // (Not strictly by ctid: the copy's bulk insert may put a row on an earlier page that still has room.)
    expect(await pagesPerConnection(march.name)).toBeLessThanOrEqual(4);
    // Attached with the register's indexes adopted, the covering INCLUDE, the storage parameters, no trigger and no
    // CHECK constraint left.
    const [month] = rows<{
      bound: string;
      options: string[];
      idx: number;
      adopted: number;
      trg: number;
      ck: number;
      def: string;
      visible: number;
      pages: number;
    }>(
      await ctx.sql`
        select pg_get_expr(c.relpartbound, c.oid) as bound, c.reloptions as options,
               (select count(*)::int from pg_index x where x.indrelid = c.oid) as idx,
               (select count(*)::int from pg_index x join pg_inherits ii on ii.inhrelid = x.indexrelid where x.indrelid = c.oid) as adopted,
               (select count(*)::int from pg_trigger t where t.tgrelid = c.oid) as trg,
               (select count(*)::int from pg_constraint k where k.conrelid = c.oid and k.contype = 'c') as ck,
               (select pg_get_indexdef(ii.inhrelid) from pg_inherits ii join pg_index x on x.indexrelid = ii.inhrelid
                 where ii.inhparent = 'access_register_conn_idx'::regclass and x.indrelid = c.oid) as def
          from pg_class c where c.relname = 'access_register_p203603'`,
    );
    expect(month).toMatchObject({
      bound: "FOR VALUES FROM ('2036-03-01 00:00:00+00') TO ('2036-04-01 00:00:00+00')",
      idx: 5,
      adopted: 4,
      trg: 0,
      ck: 0,
    });
    expect(month!.def).toContain('(connection_ean, decided_at) INCLUDE (party_id, allowed)');
    // And its own covering party-day index (not the register's: the current month has none).
    const [own] = rows<{ def: string }>(
      await ctx.sql`select pg_get_indexdef(x.indexrelid) as def from pg_index x
                     where x.indrelid = 'access_register_p203603'::regclass
                       and not exists (select 1 from pg_inherits ii where ii.inhrelid = x.indexrelid)`,
    );
    expect(own!.def).toMatch(/\(party_id, decided_at\) INCLUDE \(id, request_id, connection_ean, .*purpose\)$/);
    expect([...month!.options].sort()).toEqual([
      'autovacuum_vacuum_insert_scale_factor=0',
      'autovacuum_vacuum_insert_threshold=100000',
    ]);
    // Vacuumed before the swap (its visibility map: all-visible only for rows older than every snapshot open in the
    // database, so asserted by bench:register's plans, not here).
    const [vac] = rows<{ n: number }>(
      await ctx.sql`select vacuum_count::int as n from pg_stat_user_tables where relid = 'access_register_p203603'::regclass`,
    );
    expect(vac!.n).toBeGreaterThanOrEqual(1);
    expect((await registerMonths(ctx.db)).find((m) => m.name === march.name)).toMatchObject({
      state: 'attached',
      compacted: true,
    });
    expect(await compactionLeftovers(ctx.db)).toEqual([]);
    // Audited once, with the Schedule's actor.
    const entries = await compactedEntries(march.name);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor: 'workflow:register-partitions',
      entityType: 'access_register',
      data: { month: march.name, rows: 3000, rule: 'DC-5' },
    });
    expect(typeof (entries[0]!.data as { seconds: unknown }).seconds).toBe('number');
    // April (the current month at asOf) is the same table as before; March is not compacted again.
    expect(await relOid('access_register_p203604')).toBe(aprilOid);
    expect((await registerMonths(ctx.db)).find((m) => m.name === 'access_register_p203604')!.compacted).toBe(false);
    const again = await compactClosedRegisterMonths(ctx.db, asOf, PARTITIONS_SCHEDULE_ACTOR, { maxMonths: 10 });
    expect(again.compacted.map((m) => m.name)).not.toContain(march.name);
    expect(await compactedEntries(march.name)).toHaveLength(1);
  });

  it('readers see the whole month throughout the swap; a swap that cannot get its lock is left for the next run', async () => {
    const may = await fillMonth('access_register_p203705', 2000);
    const ean = '871000000000200003';
    const count = async (q: typeof ctx.sql = ctx.sql) =>
      rows<{ n: number }>(
        await q`select count(*)::int as n from access_register where connection_ean = ${ean}
                 and decided_at >= ${iso(may.from.getTime())} and decided_at < ${iso(may.to.getTime())}`,
      )[0]!.n;
    const expected = await count();
    expect(expected).toBeGreaterThan(0);
    const asOf = new Date(Date.UTC(2037, 5, 10));
    const markerAt = async () =>
      rows<{ at: string }>(
        await ctx.sql`select counted_at::text as at from access_register_months_counted where month = '2037-05-01'`,
      )[0]?.at;
    let countedAt: string | undefined;

    // A reader holds the register (an open transaction that read it): the swap's lock times out, the run says so,
    // and the month is still the old one, whole and readable; nothing is audited.
    const reader = await ctx.sql.reserve();
    try {
      await reader`begin`;
      expect(await count(reader as unknown as typeof ctx.sql)).toBe(expected);
      const deferred = await compactClosedRegisterMonths(ctx.db, asOf, PARTITIONS_SCHEDULE_ACTOR, { swapAttempts: 1 });
      expect(deferred).toEqual({ compacted: [], deferred: [may.name] });
      // Its DC-5 month counts were written before the swap (decisions/0020), from the verified copy.
      expect(await monthCounted(ctx.db, may)).toMatchObject({ rows: 2000 });
      countedAt = await markerAt();
      expect(countedAt).toBeDefined();
      expect(await count(reader as unknown as typeof ctx.sql)).toBe(expected);
      await reader`commit`;
    } finally {
      reader.release();
    }
    expect(await compactedEntries(may.name)).toHaveLength(0);
    expect((await compactionLeftovers(ctx.db)).map((l) => [l.name, l.verified?.rows])).toEqual([
      [compactionWorkName(may), 2000],
    ]);
    const workOid = await relOid(compactionWorkName(may));

    // The next run swaps the verified copy in (the same table: not copied again) while readers keep counting.
    let stop = false;
    const seen: number[] = [];
    const readers = Promise.all(
      [0, 1, 2].map(async () => {
        while (!stop) seen.push(await count());
      }),
    );
    try {
      const r = await compactClosedRegisterMonths(ctx.db, asOf, PARTITIONS_SCHEDULE_ACTOR);
      expect(r.compacted.map((m) => m.name)).toEqual([may.name]);
      // The counts found written (the marker's rows are the copy's): not counted again.
      expect(r.compacted[0]!.counts).toMatchObject({ rows: 2000 });
      expect(await markerAt()).toBe(countedAt);
      await new Promise((res) => setTimeout(res, 50));
    } finally {
      stop = true;
      await readers;
    }
    expect(seen.length).toBeGreaterThan(3);
    expect(seen.every((n) => n === expected)).toBe(true);
    expect(await relOid(may.name)).toBe(workOid);
    expect(await compactedEntries(may.name)).toHaveLength(1);
    expect(await compactionLeftovers(ctx.db)).toEqual([]);
  });

  it('an interrupted compaction leaves the month frozen and whole; the next run removes the unverified copy and compacts', async () => {
    const june = await fillMonth('access_register_p203806', 1500);
    const before = await monthRows(june.name);
    // Interrupted after the copy and its indexes, before the verification.
    await compactMonthCopy(ctx.db, june);
    await compactMonthIndexes(ctx.db, june);
    // Frozen: a late write fails loudly instead of being lost with the old table; readers go on.
    await expect(
      ctx.sql`insert into access_register (id, decided_at, request_id, party_id, connection_ean, data_kind,
                period_from, period_to, allowed, reason_code, rule, kind)
              values (${randomUUID()}, '2038-06-30T12:00:00Z', 'late', ${randomUUID()}, '871000000000200001',
                      'interval_data', '2038-06-01', '2038-06-02', false, 'no_mandate', 'DC-2', 'request')`,
    ).rejects.toThrow(/closed and being compacted/);
    expect(await monthRows(june.name)).toEqual(before);
    expect((await compactionLeftovers(ctx.db)).map((l) => [l.name, l.verified])).toEqual([
      [compactionWorkName(june), null],
    ]);
    const staleOid = await relOid(compactionWorkName(june));

    const r = await compactClosedRegisterMonths(ctx.db, new Date(Date.UTC(2038, 6, 5)), PARTITIONS_SCHEDULE_ACTOR);
    expect(r.compacted.map((m) => m.name)).toEqual([june.name]);
    expect(await relOid(june.name)).not.toBe(staleOid);
    expect(await monthRows(june.name)).toEqual(before);
    expect(await compactionLeftovers(ctx.db)).toEqual([]);
    expect(await compactedEntries(june.name)).toHaveLength(1);
  });

  it('a verified copy that no longer matches is not swapped in', async () => {
    const july = await fillMonth('access_register_p203907', 500);
    const digest = await compactMonthCopy(ctx.db, july);
    await compactMonthIndexes(ctx.db, july);
    // A row of the copy changed (as a faulty copy would be): the verification fails, nothing is marked.
    await ctx.sql`update ${ctx.sql(compactionWorkName(july))} set allowed = not allowed where ctid = '(0,1)'`;
    expect(await compactMonthVerify(ctx.db, july, digest)).toBe(false);
    expect((await compactionLeftovers(ctx.db)).find((l) => l.month.name === july.name)!.verified).toBeNull();
    await dropCompactionTable(ctx.db, compactionWorkName(july));
  });

  it('the covering party-day index only on the REGISTER_PARTY_DAY_INDEX_MONTHS most recent months; older ones drop it, audited', async () => {
    const january = await fillMonth('access_register_p204101', 300);
    const february = await fillMonth('access_register_p204102', 300);
    const partyRows = async (name: string) =>
      rows<{ n: number }>(
        await ctx.sql`select count(*)::int as n from access_register where decided_at >= ${iso(parseRegisterMonth(name)!.from.getTime())}
                        and decided_at < ${iso(parseRegisterMonth(name)!.to.getTime())} and party_id is not null`,
      )[0]!.n;
    // In March 2041 with two months kept (March, February): February compacted with it, January without.
    const r = await compactClosedRegisterMonths(ctx.db, new Date(Date.UTC(2041, 2, 5)), PARTITIONS_SCHEDULE_ACTOR, {
      maxMonths: 2,
      partyDayIndexMonths: 2,
    });
    expect(r.compacted.map((c) => c.name)).toEqual([february.name, january.name]);
    expect((await partyDayIndexes(ctx.db)).get(february.name)).toMatch(/_party_day_idx$/);
    expect((await partyDayIndexes(ctx.db)).get(january.name)).toBeUndefined();

    // In April, February is past the two months: its index goes (CONCURRENTLY), audited once; the rows stay. (Months
    // of the tests above, older still, lose theirs in the same runs.)
    const april = new Date(Date.UTC(2041, 3, 5));
    const index = (await partyDayIndexes(ctx.db)).get(february.name)!;
    expect(await dropAgedPartyDayIndexes(ctx.db, april, PARTITIONS_SCHEDULE_ACTOR, 3)).not.toContain(index);
    expect((await partyDayIndexes(ctx.db)).get(february.name)).toBe(index);
    expect(await dropAgedPartyDayIndexes(ctx.db, april, PARTITIONS_SCHEDULE_ACTOR, 2)).toContain(index);
    expect((await partyDayIndexes(ctx.db)).get(february.name)).toBeUndefined();
    expect(await dropAgedPartyDayIndexes(ctx.db, april, PARTITIONS_SCHEDULE_ACTOR, 2)).toEqual([]);
    const entries = await monthEntries(PARTY_DAY_INDEX_DROPPED, february.name);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor: PARTITIONS_SCHEDULE_ACTOR.actor,
      data: { month: february.name, index, keepMonths: 2, rule: 'DC-9' },
    });
    expect(await partyRows(february.name)).toBe(300);
  });

  it('months compacted without the covering party-day index get it once the setting covers them: newest first, one a run, CONCURRENTLY, audited', async () => {
    const may = await fillMonth('access_register_p204305', 200);
    const june = await fillMonth('access_register_p204306', 200);
    const asOf = new Date(Date.UTC(2043, 6, 5));
    // Compacted under a setting of 1 (the current month only): neither closed month gets the index.
    await compactClosedRegisterMonths(ctx.db, asOf, PARTITIONS_SCHEDULE_ACTOR, {
      maxMonths: 2,
      partyDayIndexMonths: 1,
    });
    expect((await partyDayIndexes(ctx.db)).has(may.name)).toBe(false);
    expect((await partyDayIndexes(ctx.db)).has(june.name)).toBe(false);

    // The setting raised to 13: the daily run builds June's (the newest) first, one month a run.
    const first = await maintainRegisterMonths(ctx.db, asOf, PARTITIONS_SCHEDULE_ACTOR, { partyDayIndexMonths: 13 });
    expect(first.partyDayIndexesBuilt).toEqual([`${june.name}_party_day_idx`]);
    expect((await partyDayIndexes(ctx.db)).get(june.name)).toBe(`${june.name}_party_day_idx`);
    expect((await partyDayIndexes(ctx.db)).has(may.name)).toBe(false);
    // The index compaction builds (every column, keyed by party and instant: the page as an index-only scan), valid.
    const [built] = rows<{ valid: boolean; def: string }>(
      await ctx.sql`select indisvalid as valid, pg_get_indexdef(indexrelid) as def from pg_index
                     where indexrelid = ${`${june.name}_party_day_idx`}::regclass`,
    );
    expect(built!.valid).toBe(true);
    expect(built!.def).toBe(
      `CREATE INDEX ${june.name}_party_day_idx ON public.${june.name} USING btree (party_id, decided_at) INCLUDE (id, request_id, connection_ean, data_kind, period_from, period_to, allowed, reason_code, rule, mandate_id, block_id, kind, delivery_of, actor, purpose)`,
    );
    expect(await buildMissingPartyDayIndexes(ctx.db, asOf, PARTITIONS_SCHEDULE_ACTOR, 13)).toEqual([
      `${may.name}_party_day_idx`,
    ]);
    expect(await buildMissingPartyDayIndexes(ctx.db, asOf, PARTITIONS_SCHEDULE_ACTOR, 13)).toEqual([]);
    const entries = await monthEntries(PARTY_DAY_INDEX_BUILT, june.name);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor: PARTITIONS_SCHEDULE_ACTOR.actor,
      data: { month: june.name, index: `${june.name}_party_day_idx`, keepMonths: 13, rule: 'DC-1' },
    });

    // A leftover of an interrupted build (invalid) counts as none: dropped and built again.
    await ctx.sql.unsafe(
      `update pg_index set indisvalid = false where indexrelid = '${may.name}_party_day_idx'::regclass`,
    );
    expect((await partyDayIndexes(ctx.db)).has(may.name)).toBe(false);
    expect((await partyDayIndexes(ctx.db, true)).has(may.name)).toBe(true);
    expect(await buildMissingPartyDayIndexes(ctx.db, asOf, PARTITIONS_SCHEDULE_ACTOR, 13)).toEqual([
      `${may.name}_party_day_idx`,
    ]);
    expect((await partyDayIndexes(ctx.db)).get(may.name)).toBe(`${may.name}_party_day_idx`);
  });
});

describe('DC-5: how far back the register reaches', () => {
  it('states the oldest month held, and moves forward when retention drops months', async () => {
    const operator = await makeParty(ctx.db, ['grid_operator']);
    const user = await makeGridUser(ctx.db);
    const conn = await makeConnection(ctx.db, { gridOperatorId: operator.id, gridUserId: user.id });
    const userKey = await makeKey(ctx.db, 'grid-user', { gridUserId: user.id });
    const reach = async () =>
      (await call(ctx.app, userKey, 'GET', `/me/connections/${conn.ean}/access`)).json<{
        register: { reachesBack: string; retentionDays: number };
      }>().register;

    // Only recent months exist: the register reaches back to the oldest of them.
    const oldestNow = (await registerMonths(ctx.db))[0]!;
    expect(await reach()).toEqual({ reachesBack: oldestNow.from.toISOString(), retentionDays: registerDays });

    // A month six years back (past the period) and one four years back (within it) are held: the reach counts
    // only the kept one, and dropping the expired month leaves the reach where it was.
    const expired = registerMonth(new Date(Date.now() - days(6 * 365)));
    const kept = registerMonth(new Date(Date.now() - days(4 * 365)));
    await ensureRegisterPartitions(ctx.db, expired.from, PARTITIONS_SCHEDULE_ACTOR, 0);
    await ensureRegisterPartitions(ctx.db, kept.from, PARTITIONS_SCHEDULE_ACTOR, 0);
    expect((await reach()).reachesBack).toBe(kept.from.toISOString());
    const r = await purgeExpiredAccessRegister(ctx.db, {
      runId: 'test-reach',
      asOf: new Date().toISOString(),
      days: registerDays,
      batchSize: 100,
      maxBatches: 10,
    });
    expect(r.removed).toMatchObject({ access_register: 0 });
    expect((await registerMonths(ctx.db)).map((m) => m.name)).not.toContain(expired.name);
    expect((await reach()).reachesBack).toBe(kept.from.toISOString());
  });
});

type Rows<T> = T[];
const rows = <T>(r: unknown): Rows<T> => r as Rows<T>;
