/**
 * Connections (EAN check digits, references, events, allocation history) and readings import with
 * per-row rejects (AL-1, AL-2); whole-batch problems write nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count, eq } from 'drizzle-orm';
import { connections, meterReadingDays } from '../../db/schema/index.js';
import { listReadings } from '../../db/repositories/readings.js';
import {
  badCheckDigit,
  call,
  coreContext,
  days,
  iso,
  makeConnection,
  makeGridUser,
  makeKey,
  makeParty,
  newEan,
  newGln,
  type CoreContext,
} from './fixtures.js';

let ctx: CoreContext;
let adminKey: string;
let operator: Awaited<ReturnType<typeof makeParty>>;
let supplier: Awaited<ReturnType<typeof makeParty>>;
let brp: Awaited<ReturnType<typeof makeParty>>;
beforeAll(async () => {
  ctx = await coreContext('connections');
  adminKey = await makeKey(ctx.db, 'admin');
  operator = await makeParty(ctx.db, ['grid_operator']);
  supplier = await makeParty(ctx.db, ['supplier']);
  brp = await makeParty(ctx.db, ['balance_responsible_party']);
});
afterAll(async () => ctx?.close());

const connCount = async () => (await ctx.db.select({ n: count() }).from(connections))[0]!.n;

describe('connections', () => {
  it('admin registers a connection with its parties and initial allocation method', async () => {
    const user = await makeGridUser(ctx.db);
    const ean = newEan();
    const res = await call(ctx.app, adminKey, 'POST', '/connections', {
      ean,
      gridOperatorGln: operator.gln,
      gridArea: 'Liander-Gelderland',
      supplierGln: supplier.gln,
      balanceResponsiblePartyGln: brp.gln,
      gridUserId: user.id,
      capacityKw: 17.25,
      allocationMethod: { method: 'isma', effectiveFrom: '2025-01-01T00:00:00Z', basis: 'supplier_isma_request' },
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      ean,
      gridOperatorId: operator.id,
      supplierId: supplier.id,
      balanceResponsiblePartyId: brp.id,
      gridUserId: user.id,
      capacityKw: 17.25,
      remoteReadingOptOut: false,
    });
    const alloc = (await call(ctx.app, adminKey, 'GET', `/connections/${ean}/allocation`)).json();
    expect(alloc).toMatchObject({ current: 'isma', allocatedWithZeroValues: false });
    // The initial basis: the supplier of record's iSMA request, recorded by the registering admin (AL-4).
    expect(alloc.history).toMatchObject([
      { method: 'isma', basis: 'supplier_isma_request', basisPartyId: supplier.id, reason: 'initial' },
    ]);
    const patched = await call(ctx.app, adminKey, 'PATCH', `/connections/${ean}`, {
      remoteReadingOptOut: true,
      capacityKw: 25,
    });
    expect(patched.json()).toMatchObject({ remoteReadingOptOut: true, capacityKw: 25 });
  });

  it.each([
    ['invalid EAN check digit', 400, 'invalid_ean', () => ({ ean: badCheckDigit(newEan()) })],
    ['EAN of 17 digits', 400, 'invalid_request', () => ({ ean: newEan().slice(1) })],
    ['unknown grid operator', 404, 'party_not_found', () => ({ gridOperatorGln: newGln() })],
    ['supplier that is no supplier', 400, 'party_role_mismatch', () => ({ supplierGln: brp.gln })],
    ['unknown grid user', 404, 'grid_user_not_found', () => ({ gridUserId: '00000000-0000-4000-8000-000000000000' })],
    ['zero capacity', 400, 'invalid_request', () => ({ capacityKw: 0 })],
    ['unknown field', 400, 'invalid_request', () => ({ colour: 'blue' })],
  ])('%s → %i %s, nothing written', async (_n, status, code, patch) => {
    const before = await connCount();
    const res = await call(ctx.app, adminKey, 'POST', '/connections', {
      ean: newEan(),
      gridOperatorGln: operator.gln,
      gridArea: 'A',
      capacityKw: 10,
      ...patch(),
    });
    expect(res.statusCode, res.body).toBe(status);
    expect(res.json().code).toBe(code);
    expect(await connCount()).toBe(before);
  });

  it('duplicate EAN → 409', async () => {
    const c = await makeConnection(ctx.db, { gridOperatorId: operator.id });
    const res = await call(ctx.app, adminKey, 'POST', '/connections', {
      ean: c.ean,
      gridOperatorGln: operator.gln,
      gridArea: 'A',
      capacityKw: 10,
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('connection_exists');
  });

  it('case handlers see only their grid operator’s connections (others 404); suppliers none (403)', async () => {
    const own = await makeConnection(ctx.db, { gridOperatorId: operator.id });
    const otherOp = await makeParty(ctx.db, ['grid_operator']);
    const foreign = await makeConnection(ctx.db, { gridOperatorId: otherOp.id });
    const handler = await makeKey(ctx.db, 'case-handler', { partyId: operator.id });
    expect((await call(ctx.app, handler, 'GET', `/connections/${own.ean}`)).statusCode).toBe(200);
    expect((await call(ctx.app, handler, 'GET', `/connections/${foreign.ean}`)).statusCode).toBe(404);
    expect((await call(ctx.app, handler, 'GET', `/connections/${foreign.ean}/allocation`)).statusCode).toBe(404);
    const list = (await call(ctx.app, handler, 'GET', '/connections?limit=500')).json();
    expect(list.items.every((c: { gridOperatorId: string }) => c.gridOperatorId === operator.id)).toBe(true);
    expect(
      (
        await call(ctx.app, handler, 'POST', '/connections', {
          ean: newEan(),
          gridOperatorGln: operator.gln,
          gridArea: 'A',
          capacityKw: 10,
        })
      ).statusCode,
    ).toBe(403);
    const supplierKey = await makeKey(ctx.db, 'supplier', { partyId: supplier.id });
    expect((await call(ctx.app, supplierKey, 'GET', `/connections/${own.ean}`)).statusCode).toBe(403);
  });

  it('events: validation, order, and the history', async () => {
    const user = await makeGridUser(ctx.db);
    const c = await makeConnection(ctx.db, {
      gridOperatorId: operator.id,
      supplierId: supplier.id,
      gridUserId: user.id,
    });
    const url = `/connections/${c.ean}/events`;
    expect(
      (await call(ctx.app, adminKey, 'POST', url, { kind: 'customer_switch', effectiveAt: iso(Date.now()) })).json()
        .code,
    ).toBe('new_grid_user_required');
    expect(
      (
        await call(ctx.app, adminKey, 'POST', url, {
          kind: 'supplier_switch',
          effectiveAt: iso(Date.now() + days(10)),
          newSupplierGln: newGln(),
        })
      ).json().code,
    ).toBe('effective_in_future');
    expect(
      (
        await call(ctx.app, adminKey, 'POST', url, {
          kind: 'supplier_switch',
          effectiveAt: iso(Date.now()),
          newSupplierGln: supplier.gln,
        })
      ).json().code,
    ).toBe('same_supplier');
    const s2 = await makeParty(ctx.db, ['supplier']);
    expect(
      (
        await call(ctx.app, adminKey, 'POST', url, {
          kind: 'supplier_switch',
          effectiveAt: iso(Date.now() - days(1)),
          newSupplierGln: s2.gln,
        })
      ).statusCode,
    ).toBe(201);
    const late = await call(ctx.app, adminKey, 'POST', url, {
      kind: 'supplier_switch',
      effectiveAt: iso(Date.now() - days(2)),
      newSupplierGln: supplier.gln,
    });
    expect(late.statusCode).toBe(409);
    expect(late.json().code).toBe('event_out_of_order');
    const history = (await call(ctx.app, adminKey, 'GET', url)).json();
    expect(history.items.map((e: { kind: string; newSupplierId: string }) => [e.kind, e.newSupplierId])).toEqual([
      ['supplier_switch', s2.id],
    ]);
  });

  it('allocation: effective-dated history via the API', async () => {
    const c = await makeConnection(ctx.db, { gridOperatorId: operator.id });
    const url = `/connections/${c.ean}/allocation-basis`;
    expect(
      (
        await call(ctx.app, adminKey, 'POST', url, {
          method: 'isma',
          effectiveFrom: iso(Date.now() - days(30)),
          basis: 'customer_consent',
          reason: 'smart meter installed, the customer consented',
        })
      ).statusCode,
    ).toBe(201);
    expect(
      (
        await call(ctx.app, adminKey, 'POST', url, {
          method: 'profile',
          effectiveFrom: iso(Date.now() + days(30)),
          reason: 'planned',
        })
      ).statusCode,
    ).toBe(201);
    const state = (await call(ctx.app, adminKey, 'GET', `/connections/${c.ean}/allocation`)).json();
    expect(state.current).toBe('isma');
    expect(state.history.map((h: { method: string }) => h.method)).toEqual(['isma', 'profile']);
  });
});

describe('readings import (AL-1, AL-2): per-row rejects', () => {
  const QH = 900_000;
  const t0 = Math.floor((Date.now() - days(2)) / QH) * QH;
  const at = (k: number) => iso(t0 + k * QH);

  it('stores valid rows, lists each invalid row with its code; a re-import is idempotent', async () => {
    // 4 kW: at most 1000 Wh per quarter-hour.
    const c = await makeConnection(ctx.db, { gridOperatorId: operator.id, capacityKw: 4 });
    const url = `/connections/${c.ean}/readings`;
    const rows = [
      { readAt: at(0), registerWh: 10_000 },
      { readAt: at(1), registerWh: 10_500 },
      { readAt: at(2), registerWh: 10_400 }, // decreases (AL-2)
      { readAt: at(3), registerWh: 12_000 }, // 1500 Wh in 15 min from 10_500... over 30 min (prev accepted at(1)) → 2000 Wh allowed: ok
      { readAt: at(4), registerWh: 13_500 }, // 1500 Wh in 15 min > 1000 (AL-2)
      { readAt: iso(t0 + 5 * QH + 60_000), registerWh: 13_000 }, // not a quarter-hour (AL-1)
      { readAt: at(1), registerWh: 10_500 }, // duplicate in batch
      { readAt: iso(t0 + days(3)), registerWh: 20_000 }, // future
    ];
    const res = await call(ctx.app, adminKey, 'POST', url, { readings: rows });
    expect(res.statusCode, res.body).toBe(200);
    const r = res.json();
    expect(r).toMatchObject({ received: 8, accepted: 3, unchanged: 0 });
    expect(r.rejected.map((x: { index: number; code: string; rule: string }) => [x.index, x.code, x.rule])).toEqual([
      [2, 'register_decreased', 'AL-2'],
      [4, 'volume_exceeds_capacity', 'AL-2'],
      [5, 'not_quarter_hour', 'AL-1'],
      [6, 'duplicate_in_batch', 'AL-1'],
      [7, 'read_in_future', 'AL-1'],
    ]);
    const stored = await listReadings(ctx.db, c.ean, new Date(t0 - days(1)), new Date(t0 + days(1)));
    expect(stored.map((s) => s.registerWh).sort()).toEqual([10_000, 10_500, 12_000]);

    // Against stored readings: same value is unchanged, a different one conflicts, a value between
    // stored neighbours is checked against both.
    const again = await call(ctx.app, adminKey, 'POST', url, {
      readings: [
        { readAt: at(0), registerWh: 10_000 },
        { readAt: at(1), registerWh: 10_600 },
        { readAt: at(2), registerWh: 12_500 }, // above the following stored reading 12_000
        { readAt: at(4), registerWh: 12_800 },
      ],
    });
    expect(again.json()).toMatchObject({ accepted: 1, unchanged: 1 });
    expect(again.json().rejected.map((x: { code: string }) => x.code)).toEqual([
      'conflicts_with_stored',
      'register_decreased',
    ]);

    // The readings endpoint derives quarter-hour volumes. DC-7: [at(0), at(10)) holds the quarter-hours after
    // at(0); the register at at(0) closes the quarter-hour before it, so it is not delivered.
    const handler = await makeKey(ctx.db, 'case-handler', { partyId: operator.id });
    const list = (
      await call(
        ctx.app,
        handler,
        'GET',
        `${url}?from=${at(0)}&to=${at(10)}&purpose=${encodeURIComponent('AL-2 import check')}`,
      )
    ).json();
    expect(
      list.readings.map((p: { registerWh: number; volumeWh?: number }) => [p.registerWh, p.volumeWh ?? null]),
    ).toEqual([
      [10_500, 500],
      [12_000, null],
      [12_800, 800],
    ]);
  });

  it('whole-batch problems write nothing: unknown connection 404, opted out 409, malformed rows 400, too many rows 400', async () => {
    const before = (await ctx.db.select({ n: count() }).from(meterReadingDays))[0]!.n;
    expect(
      (
        await call(ctx.app, adminKey, 'POST', `/connections/${newEan()}/readings`, {
          readings: [{ readAt: at(0), registerWh: 1 }],
        })
      ).statusCode,
    ).toBe(404);
    const optOut = await makeConnection(ctx.db, { gridOperatorId: operator.id, remoteReadingOptOut: true });
    const res = await call(ctx.app, adminKey, 'POST', `/connections/${optOut.ean}/readings`, {
      readings: [{ readAt: at(0), registerWh: 1 }],
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('remote_reading_opted_out');
    const c = await makeConnection(ctx.db, { gridOperatorId: operator.id });
    for (const readings of [
      [{ readAt: at(0), registerWh: -5 }],
      [
        { readAt: at(0), registerWh: 1 },
        { readAt: 'later', registerWh: 2 },
      ],
      [],
      Array.from({ length: 10_001 }, (_, k) => ({ readAt: at(k), registerWh: k })),
    ]) {
      const bad = await call(ctx.app, adminKey, 'POST', `/connections/${c.ean}/readings`, { readings });
      expect([400, 413]).toContain(bad.statusCode);
    }
    expect((await ctx.db.select({ n: count() }).from(meterReadingDays))[0]!.n).toBe(before);
    const handler = await makeKey(ctx.db, 'case-handler', { partyId: operator.id });
    expect(
      (
        await call(ctx.app, handler, 'POST', `/connections/${c.ean}/readings`, {
          readings: [{ readAt: at(0), registerWh: 1 }],
        })
      ).statusCode,
    ).toBe(403);
  });
});
