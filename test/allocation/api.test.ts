/**
 * Allocation over HTTP: the bulk readings file (streamed CSV, per-line rejects), effective-dated parties,
 * the profile file, runs and their scopes (AL-3: a BRP or supplier sees only its own rows; individual
 * results for the grid operator only, registered with a purpose, DC-8), the difference report of a re-run,
 * and the OpenAPI document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { accessRegister, connections, meterReadingDays, meterReadingRejects } from '../../db/schema/index.js';
import { computeAllocationRun, driverOf } from '../../services/allocation/runs.js';
import { allocationDay } from '../../domain/allocation.js';
import { call, coreContext, makeConnection, makeKey, makeParty, type CoreContext } from '../core/fixtures.js';
import { profileFile, registers } from './fixtures.js';

const DAY = '2025-03-12';
const OPTIONS = { minimumConnections: 10, generatedProfiles: false };
let ctx: CoreContext;
let adminKey: string;

beforeAll(async () => {
  ctx = await coreContext('allocation_api');
  adminKey = await makeKey(ctx.db, 'admin');
});
afterAll(async () => ctx?.close());

const csv = (auth: string, method: 'POST' | 'PUT', url: string, body: string) =>
  ctx.app.inject({ method, url, headers: { authorization: auth, 'content-type': 'text/csv' }, payload: body });

const line = (ean: string, register: string, values: Array<number | null>) =>
  `${ean},${DAY},${register},${values.map((v) => (v === null ? '' : String(v))).join(',')}`;
const HEADER = `connection_ean,day,register,${Array.from({ length: 97 }, (_, i) => `r${i}`).join(',')}`;

describe('allocation API', () => {
  it('profile file, bulk readings, parties, a run, scoped exports, a re-run with its differences, DC-8 reads', async () => {
    // AL-4: the year's fractions in the sector's layout (0.00001 per quarter-hour on DAY: 3000 kWh → 30 Wh).
    const badProfile = await csv(adminKey, 'PUT', '/allocation/profiles/2025', 'Datum;T1\n2025-01-01 00:00;0,5\n');
    expect(badProfile.statusCode, badProfile.body).toBe(400);
    expect(badProfile.json().code).toBe('profile_rows_mismatch');
    const profile = await csv(
      adminKey,
      'PUT',
      '/allocation/profiles/2025?source=test',
      profileFile(2025, [DAY], { T1: '0.00001' }),
    );
    expect(profile.statusCode, profile.body).toBe(201);
    expect(profile.json()).toMatchObject({ year: 2025, source: 'test', categories: ['T1'] });

    const op = await makeParty(ctx.db, ['grid_operator']);
    const [s1, s2] = [await makeParty(ctx.db, ['supplier']), await makeParty(ctx.db, ['supplier'])];
    const [b1, b2] = [
      await makeParty(ctx.db, ['balance_responsible_party']),
      await makeParty(ctx.db, ['balance_responsible_party']),
    ];
    const conn = async (supplierId: string, brpId: string, o: { optOut?: boolean } = {}) => {
      const c = await makeConnection(ctx.db, {
        gridOperatorId: op.id,
        supplierId,
        remoteReadingOptOut: o.optOut ?? false,
      });
      await ctx.db
        .update(connections)
        .set({ balanceResponsiblePartyId: brpId, profileCategory: 'T1', feedInProfileCategory: 'T1' })
        .where(eq(connections.ean, c.ean));
      // iSMA on the customer's consent (AL-4: without a basis the run would allocate by profile).
      const basis = await call(ctx.app, adminKey, 'POST', `/connections/${c.ean}/allocation-basis`, {
        method: 'isma',
        effectiveFrom: '2020-01-01T00:00:00Z',
        basis: 'customer_consent',
        reason: 'smart meter, the customer consented',
      });
      expect(basis.statusCode, basis.body).toBe(201);
      return c;
    };
    const c1 = await conn(s1.id, b1.id);
    const c2 = await conn(s1.id, b1.id);
    const c3 = await conn(s2.id, b2.id);
    const optedOut = await conn(s2.id, b2.id, { optOut: true });
    const d = allocationDay(DAY);

    // The day's file: c2's registers 40..45 are missing (late), one line decreases, one connection is unknown.
    const r1 = registers(DAY, 10_000, () => 100);
    const r2 = registers(
      DAY,
      20_000,
      () => 60,
      (i) => i >= 40 && i <= 45,
    );
    const r3 = registers(DAY, 30_000, () => 40);
    const decreasing = r3.map((v, i) => (i === 50 ? v! - 500 : v));
    const file = [
      HEADER,
      line(c1.ean, 'offtake', r1),
      line(
        c1.ean,
        'feed_in',
        registers(DAY, 0, (qh) => (qh > 40 && qh <= 60 ? 10 : 0)),
      ),
      line(
        c2.ean,
        'feed_in',
        registers(DAY, 0, () => 0),
      ),
      line(c2.ean, 'offtake', r2),
      line(c3.ean, 'offtake', decreasing),
      line(
        c3.ean,
        'feed_in',
        registers(DAY, 0, () => 0),
      ),
      line(optedOut.ean, 'offtake', r3),
      line('not-an-ean', 'offtake', r3),
      `${c1.ean},${DAY},offtake,1,2,3`,
    ].join('\n');
    const bad = await csv(adminKey, 'POST', '/readings/bulk', 'ean;datum\n' + file);
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'malformed_file', field: 'body' });
    expect(await ctx.db.$count(meterReadingDays)).toBe(0);
    expect(
      (await csv(await makeKey(ctx.db, 'case-handler', { partyId: op.id }), 'POST', '/readings/bulk', file)).statusCode,
    ).toBe(403);

    const imp = await csv(adminKey, 'POST', '/readings/bulk', file);
    expect(imp.statusCode, imp.body).toBe(200);
    const result = imp.json();
    expect(result).toMatchObject({ lines: 10, stored: 3, unchanged: 0, rejected: 4 });
    expect(result.rejects.map((r: { line: number; code: string }) => [r.line, r.code])).toEqual([
      [6, 'register_decreased'],
      [8, 'remote_reading_opted_out'],
      [9, 'malformed_line'],
      [10, 'wrong_value_count'],
    ]);
    expect(await ctx.db.$count(meterReadingRejects, eq(meterReadingRejects.connectionEan, c3.ean))).toBe(1);
    // A repeat of the file stores nothing new.
    const again = (await csv(adminKey, 'POST', '/readings/bulk', file)).json();
    expect(again).toMatchObject({ stored: 0, unchanged: 3 });

    // c1 switches supplier at 12:00 to s2 (with BRP b2); c2's BRP changes to b2 at 18:00.
    const noon = new Date(d.start.getTime() + 48 * 900_000).toISOString();
    expect(
      (
        await call(ctx.app, adminKey, 'POST', `/connections/${c1.ean}/events`, {
          kind: 'supplier_switch',
          effectiveAt: noon,
          newSupplierGln: s2.gln,
          newBalanceResponsiblePartyGln: b2.gln,
        })
      ).statusCode,
    ).toBe(201);
    const six = new Date(d.start.getTime() + 72 * 900_000).toISOString();
    const brpChange = await call(ctx.app, adminKey, 'POST', `/connections/${c2.ean}/parties`, {
      effectiveFrom: six,
      balanceResponsiblePartyGln: b2.gln,
      reason: 'BRP change',
    });
    expect(brpChange.statusCode, brpChange.body).toBe(201);
    expect(
      (
        await call(ctx.app, adminKey, 'POST', `/connections/${c2.ean}/parties`, {
          effectiveFrom: noon,
          gridArea: 'X',
          reason: 'too early',
        })
      ).json().code,
    ).toBe('change_out_of_order');
    expect(
      (
        await call(ctx.app, adminKey, 'POST', `/connections/${c2.ean}/parties`, {
          effectiveFrom: six,
          balanceResponsiblePartyGln: null,
          reason: 'x',
        })
      ).json().code,
    ).toBe('balance_responsible_party_required');
    const history = (await call(ctx.app, adminKey, 'GET', `/connections/${c2.ean}/parties`)).json();
    expect(
      history.items.map((h: { balanceResponsiblePartyId: string; reason: string }) => [
        h.balanceResponsiblePartyId,
        h.reason,
      ]),
    ).toEqual([
      [b1.id, 'registered'],
      [b2.id, 'BRP change'],
    ]);

    // A run requested over the API is recorded even when Temporal cannot start it (no client here): 503.
    const handler = await makeKey(ctx.db, 'case-handler', { partyId: op.id });
    const req1 = await ctx.app.inject({
      method: 'POST',
      url: '/allocation/runs',
      headers: { authorization: handler, 'content-type': 'application/json', 'idempotency-key': 'v1' },
      payload: { gridOperatorGln: op.gln, day: DAY, reason: 'daily' },
    });
    expect(req1.statusCode, req1.body).toBe(503);
    expect(req1.json()).toMatchObject({ code: 'temporal_unavailable' });
    const runs = (await call(ctx.app, handler, 'GET', `/allocation/runs?day=${DAY}`)).json();
    expect(runs.items).toHaveLength(1);
    const run1 = runs.items[0];
    expect(run1).toMatchObject({ version: 1, status: 'requested' });
    const otherOp = await makeParty(ctx.db, ['grid_operator']);
    const otherHandler = await makeKey(ctx.db, 'case-handler', { partyId: otherOp.id });
    expect(
      (
        await call(ctx.app, otherHandler, 'POST', '/allocation/runs', {
          gridOperatorGln: op.gln,
          day: DAY,
          reason: 'x',
        })
      ).statusCode,
    ).toBe(403);
    expect((await call(ctx.app, otherHandler, 'GET', `/allocation/runs/${run1.id}`)).statusCode).toBe(404);

    // The worker computes it (here directly, as its activity does).
    await computeAllocationRun(ctx.db, driverOf(ctx.db), run1.id, OPTIONS);

    // The grid operator sees every cell with its connection count.
    const all = (await call(ctx.app, handler, 'GET', `/allocation/runs/${run1.id}/aggregates?limit=500`)).json();
    const at = (rows: Array<Record<string, unknown>>, brp: string, sup: string, dir: string, qh: number) =>
      rows.find(
        (r) =>
          r['balanceResponsiblePartyGln'] === brp &&
          r['supplierGln'] === sup &&
          r['direction'] === dir &&
          r['qh'] === qh,
      );
    // B1/S1 offtake: c1 (100) until 12:00, c2 (60, or 30 profile where registers 40..45 miss) until 18:00.
    expect(at(all.items, b1.gln, s1.gln, 'offtake', 10)).toMatchObject({
      volumeWh: '160',
      volumeKwh: 0.16,
      connections: 2,
      estimated: false,
      belowMinimumConnections: true,
    });
    expect(at(all.items, b1.gln, s1.gln, 'offtake', 41)).toMatchObject({
      volumeWh: '130',
      connections: 2,
      estimated: true,
    });
    expect(at(all.items, b1.gln, s1.gln, 'offtake', 60)).toMatchObject({ volumeWh: '60', connections: 1 });
    expect(at(all.items, b1.gln, s1.gln, 'offtake', 80)).toBeUndefined();
    // B2/S1 (c2 after 18:00) and B2/S2 (c1 after 12:00; c3 rejected line → profile, readings_invalid; opted out → profile).
    expect(at(all.items, b2.gln, s1.gln, 'offtake', 80)).toMatchObject({ volumeWh: '60', connections: 1 });
    expect(at(all.items, b2.gln, s2.gln, 'offtake', 10)).toMatchObject({
      volumeWh: '60',
      connections: 2,
      estimated: true,
    });
    expect(at(all.items, b2.gln, s2.gln, 'offtake', 50)).toMatchObject({ volumeWh: '160', connections: 3 });
    expect(at(all.items, b2.gln, s2.gln, 'feed_in', 50)).toMatchObject({ volumeWh: '10' });

    // AL-3: a BRP sees only its own rows, without connection counts; CSV as well.
    const brpKey = await makeKey(ctx.db, 'brp', { partyId: b1.id });
    const mine = (await call(ctx.app, brpKey, 'GET', `/allocation/runs/${run1.id}/aggregates?limit=500`)).json();
    expect(mine.total).toBe(2 * 72);
    expect(
      mine.items.every(
        (r: Record<string, unknown>) => r['balanceResponsiblePartyGln'] === b1.gln && !('connections' in r),
      ),
    ).toBe(true);
    const brpCsv = await ctx.app.inject({
      method: 'GET',
      url: `/allocation/runs/${run1.id}/aggregates`,
      headers: { authorization: brpKey, accept: 'text/csv' },
    });
    expect(brpCsv.statusCode).toBe(200);
    expect(brpCsv.headers['content-type']).toContain('text/csv');
    const csvLines = brpCsv.body.trim().split('\n');
    expect(csvLines[0]).toBe(
      'quarter_hour_start,quarter_hour_end,balance_responsible_party_gln,supplier_gln,grid_area,direction,volume_kwh,volume_wh,estimated,below_minimum_connections',
    );
    expect(csvLines).toHaveLength(1 + 2 * 72);
    expect(csvLines.slice(1).every((l) => l.split(',')[2] === b1.gln)).toBe(true);
    expect(csvLines).toContain(
      `${new Date(d.start.getTime() + 9 * 900_000).toISOString()},${new Date(d.start.getTime() + 10 * 900_000).toISOString()},${b1.gln},${s1.gln},Test-Area,offtake,0.160,160,false,true`,
    );
    const supKey = await makeKey(ctx.db, 'supplier', { partyId: s2.id });
    const sup = (await call(ctx.app, supKey, 'GET', `/allocation/runs/${run1.id}/aggregates?limit=500`)).json();
    expect(new Set(sup.items.map((r: Record<string, unknown>) => r['supplierGln']))).toEqual(new Set([s2.gln]));
    expect((await call(ctx.app, brpKey, 'GET', `/allocation/runs/${run1.id}`)).json()).not.toHaveProperty('summary');
    const p4 = await makeKey(ctx.db, 'p4-client', { partyId: s1.id });
    expect((await call(ctx.app, p4, 'GET', `/allocation/runs/${run1.id}/aggregates`)).statusCode).toBe(403);

    // DC-8: individual results for the grid operator only, with a purpose, registered.
    expect(
      (await call(ctx.app, brpKey, 'GET', `/allocation/runs/${run1.id}/connections/${c2.ean}?purpose=check`))
        .statusCode,
    ).toBe(403);
    expect(
      (await call(ctx.app, handler, 'GET', `/allocation/runs/${run1.id}/connections/${c2.ean}`)).json(),
    ).toMatchObject({ code: 'invalid_request', field: 'querystring.purpose' });
    const individual = await call(
      ctx.app,
      handler,
      'GET',
      `/allocation/runs/${run1.id}/connections/${c2.ean}?purpose=${encodeURIComponent('complaint 2025-117 about the bill')}`,
    );
    expect(individual.statusCode, individual.body).toBe(200);
    const qhs = individual.json().quarterHours;
    expect(qhs).toHaveLength(96);
    expect(qhs[40]).toMatchObject({
      qh: 41,
      balanceResponsiblePartyGln: b1.gln,
      offtake: { method: 'profile', reason: 'readings_missing', estimated: true, volumeWh: '30' },
    });
    expect(qhs[79]).toMatchObject({
      qh: 80,
      balanceResponsiblePartyGln: b2.gln,
      offtake: { method: 'measured', reason: null, volumeWh: '60' },
    });
    // The read is an internal access-register entry of the day's quarter-hour data; the refused reads
    // above (a BRP, no purpose) registered nothing.
    const registered = await ctx.db.select().from(accessRegister).where(eq(accessRegister.connectionEan, c2.ean));
    expect(registered).toHaveLength(1);
    expect(registered[0]).toMatchObject({
      id: individual.json().accessId,
      kind: 'internal',
      reasonCode: 'internal_access',
      allowed: true,
      partyId: op.id,
      dataKind: 'interval_data',
      periodFrom: allocationDay(DAY).start,
      periodTo: allocationDay(DAY).end,
      purpose: `allocation run ${DAY} v1: complaint 2025-117 about the bill`,
    });
    expect(registered[0]!.actor).toMatch(/^api-key:/);
    // Late readings arrive; a re-run is version 2 and reports what changed per aggregate.
    const late = registers(DAY, 20_000, () => 60);
    const lateFile = [
      HEADER,
      line(
        c2.ean,
        'offtake',
        late.map((v, i) => (i >= 40 && i <= 45 ? v : null)),
      ),
    ].join('\n');
    expect((await csv(adminKey, 'POST', '/readings/bulk', lateFile)).json()).toMatchObject({ stored: 1, rejected: 0 });
    const req2 = await call(ctx.app, handler, 'POST', '/allocation/runs', {
      gridOperatorGln: op.gln,
      day: DAY,
      reason: 'late readings',
    });
    expect(req2.statusCode).toBe(503);
    const run2 = (await call(ctx.app, handler, 'GET', `/allocation/runs?day=${DAY}`)).json().items[0];
    expect(run2.version).toBe(2);
    await computeAllocationRun(ctx.db, driverOf(ctx.db), run2.id, OPTIONS);
    const v2 = (await call(ctx.app, handler, 'GET', `/allocation/runs/${run2.id}`)).json();
    expect(v2).toMatchObject({
      status: 'completed',
      previousRunId: run1.id,
      difference: { previousVersion: 1, changed: 7, deltaWh: { offtake: '210', feed_in: '0' } },
    });
    const diff = (await call(ctx.app, handler, 'GET', `/allocation/runs/${run2.id}/differences`)).json();
    expect(
      diff.items.map((x: { qh: number; previousWh: string; currentWh: string; deltaWh: string }) => [
        x.qh,
        x.previousWh,
        x.currentWh,
        x.deltaWh,
      ]),
    ).toEqual([40, 41, 42, 43, 44, 45, 46].map((qh) => [qh, '130', '160', '30']));
    // The BRP sees the same differences (its cell); another BRP none of them.
    expect((await call(ctx.app, brpKey, 'GET', `/allocation/runs/${run2.id}/differences`)).json().total).toBe(7);
    const otherBrp = await makeKey(ctx.db, 'brp', { partyId: b2.id });
    expect((await call(ctx.app, otherBrp, 'GET', `/allocation/runs/${run2.id}/differences`)).json().total).toBe(0);
  });

  it('the OpenAPI document lists the allocation routes, each described with its errors', async () => {
    const doc = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const path of [
      '/readings/bulk',
      '/allocation/profiles/{year}',
      '/allocation/profiles',
      '/allocation/runs',
      '/allocation/runs/{id}',
      '/allocation/runs/{id}/aggregates',
      '/allocation/runs/{id}/differences',
      '/allocation/runs/{id}/connections/{ean}',
      '/connections/{ean}/parties',
    ]) {
      expect(Object.keys(doc.paths), path).toContain(path);
      // Every operation says what it does and documents its errors (at least bad input and no key).
      for (const [method, op] of Object.entries(doc.paths[path] as Record<string, Record<string, unknown>>)) {
        expect(String(op['description'] ?? '').length, `${method} ${path} description`).toBeGreaterThan(40);
        expect(Object.keys(op['responses'] as object), `${method} ${path} errors`).toEqual(
          expect.arrayContaining(['400', '401', '403']),
        );
      }
    }
    expect(doc.paths['/readings/bulk'].post.requestBody.content).toHaveProperty('text/csv');
    expect(Object.keys(doc.paths['/allocation/runs/{id}/aggregates'].get.responses)).toEqual(
      expect.arrayContaining(['200', '404', '409']),
    );
    expect(doc.paths['/allocation/runs/{id}/aggregates'].get.description).toContain('belowMinimumConnections');
  });
});
