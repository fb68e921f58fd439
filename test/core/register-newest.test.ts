/**
 * A page of one connection's or one party's newest register entries read in two steps (decisions/0021): where the page
 * ends from the index alone, then the entries from that instant on by a bitmap heap scan. On real PostgreSQL, over
 * compacted months (connection order) and the current one, with many entries at one instant (microseconds apart and
 * equal), its pages must be exactly those of the one ordered statement listAccessRegister ran before, at every limit
 * and offset, by connection, by party, and within a grid operator's own connections.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAccessRegister, newestRegisterEntries } from '../../db/repositories/access-register.js';
import { accessOverview } from '../../db/repositories/transparency.js';
import { registerMonthsBetween } from '../../domain/register-partitions.js';
import {
  compactClosedRegisterMonths,
  ensureRegisterPartitions,
  PARTITIONS_SCHEDULE_ACTOR,
} from '../../services/register/partitions.js';
import { testConfig } from '../helpers/index.js';
import { coreContext, makeConnection, makeGridUser, makeParty, type CoreContext } from './fixtures.js';

let ctx: CoreContext;
beforeAll(async () => {
  ctx = await coreContext('register-newest');
});
afterAll(async () => ctx?.close());

// January to April 2042; "now" is in April, so January to March are closed and compacted.
const months = registerMonthsBetween(new Date(Date.UTC(2042, 0, 1)), new Date(Date.UTC(2042, 3, 1)));
const now = new Date(Date.UTC(2042, 3, 20, 12));

describe('newestRegisterEntries: the ordered statement’s pages, read in two steps (decisions/0021)', () => {
  const partyIds: string[] = [];
  const operators: string[] = [];
  const eans: string[] = [];

  /** The one ordered statement listAccessRegister ran before decisions/0021: the reference. */
  const reference = async (
    f: { connectionEan?: string; partyId?: string; gridOperatorId?: string; since?: Date; until?: Date },
    limit: number,
    offset: number,
  ) =>
    (
      await ctx.sql<Array<{ id: string }>>`
        select r.id from access_register r join connections c on c.ean = r.connection_ean
         where (${f.connectionEan ?? null}::text is null or r.connection_ean = ${f.connectionEan ?? null})
           and (${f.partyId ?? null}::uuid is null or r.party_id = ${f.partyId ?? null})
           and (${f.gridOperatorId ?? null}::uuid is null or c.grid_operator_id = ${f.gridOperatorId ?? null})
           and (${f.since?.toISOString() ?? null}::timestamptz is null or r.decided_at >= ${f.since?.toISOString() ?? null})
           and (${f.until?.toISOString() ?? null}::timestamptz is null or r.decided_at < ${f.until?.toISOString() ?? null})
         order by r.decided_at desc, r.id desc limit ${limit} offset ${offset}`
    ).map((r) => r.id);

  beforeAll(async () => {
    for (let k = 0; k < 2; k++) operators.push((await makeParty(ctx.db, ['grid_operator'])).id);
    for (let k = 0; k < 3; k++) partyIds.push((await makeParty(ctx.db, ['service_provider'])).id);
    const user = await makeGridUser(ctx.db);
    for (let k = 0; k < 6; k++)
      eans.push((await makeConnection(ctx.db, { gridOperatorId: operators[k % 2]!, gridUserId: user.id })).ean);
    for (const m of months) await ensureRegisterPartitions(ctx.db, m.from, PARTITIONS_SCHEDULE_ACTOR, 0);
    const first = months[0]!.from.toISOString();
    const span = `${Math.floor((now.getTime() - months[0]!.from.getTime()) / 1000)} seconds`;
    // 9,000 entries spread over the months in a scrambled order; every fifth shares its instant with four others
    // (g / 5 picks the instant), and instants carry microseconds, which a JS Date would drop.
    await ctx.sql`
      insert into access_register (id, decided_at, request_id, party_id, connection_ean, data_kind, period_from,
                                   period_to, allowed, reason_code, rule)
      select gen_random_uuid(), t, 'req-' || g, (${partyIds}::uuid[])[g % 3 + 1], (${eans}::text[])[g % 6 + 1],
             'interval_data', t - interval '2 days', t - interval '1 day', g % 5 <> 0,
             case when g % 5 <> 0 then 'mandate_valid' else 'no_mandate' end, 'DC-2'
        from generate_series(1, 9000) g
        cross join lateral (
          select ${first}::timestamptz + ((g / 5) * 7919 % 1800) * (${span}::interval / 1800)
                 + ((g / 5) % 7) * interval '1 microsecond' as t) x`;
    const r = await compactClosedRegisterMonths(ctx.db, now, PARTITIONS_SCHEDULE_ACTOR, {
      maxMonths: 3,
      partyDayIndexMonths: 1,
    });
    expect(r.compacted.length).toBe(3);
  });

  it('pages by party over one day, several months and the whole register, at every limit and offset', async () => {
    const day = new Date(Date.UTC(2042, 1, 11));
    const windows = [
      { since: day, until: new Date(day.getTime() + 86_400_000) },
      { since: new Date(Date.UTC(2042, 0, 20)), until: new Date(Date.UTC(2042, 3, 5)) },
      {},
    ];
    for (const w of windows)
      for (const partyId of partyIds)
        for (const [limit, offset] of [
          [100, 0],
          [1, 0],
          [10, 7],
          [50, 95],
          [100, 3000],
          [7, 2999],
        ] as const) {
          const f = { partyId, ...w };
          const want = await reference(f, limit, offset);
          const got = (await newestRegisterEntries(ctx.db, f, limit, offset)).map((e) => e.id);
          expect(got, JSON.stringify({ w, limit, offset })).toEqual(want);
        }
  });

  it('pages by connection (DC-5 recent requests) and within a grid operator’s own connections', async () => {
    for (const connectionEan of eans)
      for (const [limit, offset] of [
        [50, 0],
        [3, 1],
        [100, 1400],
      ] as const) {
        const f = { connectionEan, since: new Date(Date.UTC(2042, 0, 15)) };
        expect((await newestRegisterEntries(ctx.db, f, limit, offset)).map((e) => e.id)).toEqual(
          await reference(f, limit, offset),
        );
      }
    for (const gridOperatorId of operators)
      for (const partyId of partyIds) {
        const f = {
          partyId,
          gridOperatorId,
          since: new Date(Date.UTC(2042, 1, 1)),
          until: new Date(Date.UTC(2042, 2, 1)),
        };
        const { items, total } = await listAccessRegister(ctx.db, { ...f, limit: 25, offset: 40 });
        expect(items.map((e) => e.id)).toEqual(await reference(f, 25, 40));
        expect(items.every((e) => eans.indexOf(e.connectionEan) % 2 === operators.indexOf(gridOperatorId))).toBe(true);
        expect(total).toBe((await reference(f, 100_000, 0)).length);
      }
  });

  it('keeps whole entries with their microseconds, and an empty page past the end', async () => {
    const f = { partyId: partyIds[0]!, since: new Date(Date.UTC(2042, 2, 1)), until: new Date(Date.UTC(2042, 2, 2)) };
    const [got] = await newestRegisterEntries(ctx.db, f, 1, 0);
    const [row] = await ctx.sql`select * from access_register where id = ${got!.id}`;
    expect(got).toMatchObject({
      connectionEan: row!.connection_ean,
      partyId: row!.party_id,
      allowed: row!.allowed,
      reasonCode: row!.reason_code,
      requestId: row!.request_id,
    });
    expect(await newestRegisterEntries(ctx.db, f, 10, 100_000)).toEqual([]);
    expect(await newestRegisterEntries(ctx.db, { partyId: partyIds[0]! }, 0, 0)).toEqual([]);
    await expect(newestRegisterEntries(ctx.db, {}, 10, 0)).rejects.toThrow(/one connection or one party/);
  });

  it('DC-5’s recent requests are the connection’s newest entries since the grid user’s arrival', async () => {
    const user = await makeGridUser(ctx.db, 'Recent');
    const conn = await makeConnection(ctx.db, { gridOperatorId: operators[0]!, gridUserId: user.id });
    await ctx.sql`
      insert into access_register (id, decided_at, request_id, party_id, connection_ean, data_kind, period_from,
                                   period_to, allowed, reason_code, rule)
      select gen_random_uuid(), ${now.toISOString()}::timestamptz - g * interval '1 hour', 'recent-' || g,
             ${partyIds[1]!}, ${conn.ean}, 'interval_data', now(), now(), true, 'mandate_valid', 'DC-2'
        from generate_series(1, 80) g`;
    const o = await accessOverview(ctx.db, conn, user.id, now, 50, testConfig().retention.accessRegisterDays);
    expect(o.recentRequests.map((e) => e.id)).toEqual(
      await reference({ connectionEan: conn.ean, since: o.since }, 50, 0),
    );
    expect(o.recentRequests).toHaveLength(50);
  });
});
