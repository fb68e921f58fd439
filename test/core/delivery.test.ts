/**
 * No side doors (issue 9), on the real app and PostgreSQL: every delivery of meter data is a decision under
 * the rules in force when it is delivered, and it is registered (DC-1, DC-4, GT-2). For each of block,
 * revocation, customer switch, expiry and loss of admission: a request allowed before, a delivery after →
 * denied and registered. Also: no future periods; the grid user's own period (DC-7) for the gate and for
 * /me readings; no history through a backdated start (DC-2); internal reads registered with a purpose
 * (DC-8).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { accessRegister } from '../../db/schema/index.js';
import { importReadings } from '../../db/repositories/readings.js';
import { GATE_REASONS, type GateReason } from '../../domain/gate.js';
import {
  call,
  coreContext,
  days,
  iso,
  makeCase,
  makeConnection,
  makeGridUser,
  makeKey,
  makeMandate,
  makeParty,
  type CoreContext,
} from './fixtures.js';
import { placeBlock } from '../../db/repositories/blocks.js';

let ctx: CoreContext;
let operator: Awaited<ReturnType<typeof makeParty>>;
let supplier: Awaited<ReturnType<typeof makeParty>>;
let adminKey: string;

const QH = 900_000;
const quarter = (ms: number) => Math.floor(ms / QH) * QH;

beforeAll(async () => {
  ctx = await coreContext('delivery');
  operator = await makeParty(ctx.db, ['grid_operator'], 'Operator');
  supplier = await makeParty(ctx.db, ['supplier'], 'Supplier');
  adminKey = await makeKey(ctx.db, 'admin');
});
afterAll(async () => ctx?.close());

const SEEDER = { actor: 'test:delivery', actorRole: 'admin', actorPartyId: null };

/** A connection with a grid user, a service provider with a p4-client key, and readings every quarter-hour of the last `daysBack` days. */
async function setup(o: { daysBack?: number } = {}) {
  const user = await makeGridUser(ctx.db);
  const conn = await makeConnection(ctx.db, {
    gridOperatorId: operator.id,
    supplierId: supplier.id,
    gridUserId: user.id,
  });
  const provider = await makeParty(ctx.db, ['service_provider']);
  const p4 = await makeKey(ctx.db, 'p4-client', { partyId: provider.id });
  const userKey = await makeKey(ctx.db, 'grid-user', { gridUserId: user.id });
  const end = quarter(Date.now() - QH);
  const n = (o.daysBack ?? 3) * 96;
  const rows = Array.from({ length: n }, (_, i) => ({
    readAt: new Date(end - (n - 1 - i) * QH),
    registerWh: 1000 + i * 10,
  }));
  const imported = await importReadings(ctx.db, SEEDER, conn.ean, rows);
  expect(imported.rejected).toEqual([]);
  return { user, conn, provider, p4, userKey, lastRegisterWh: rows[n - 1]!.registerWh };
}

const ask = (key: string, ean: string, from: number, to: number, dataKind = 'interval_data') =>
  call(ctx.app, key, 'POST', '/p4/requests', { connectionEan: ean, dataKind, from: iso(from), to: iso(to) });

async function allowedRequest(key: string, ean: string, from: number, to: number) {
  const res = await ask(key, ean, from, to);
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json().allowed, res.body).toBe(true);
  return res.json() as { id: string; dataUrl: string; decidedAt: string; to: string; periodCut: boolean };
}

const deliveries = (requestId: string) =>
  ctx.db
    .select()
    .from(accessRegister)
    .where(and(eq(accessRegister.deliveryOf, requestId), eq(accessRegister.kind, 'delivery')));

/** Fetch the data; expect it delivered (200) and registered as exactly one more allowed delivery of the request. */
async function expectDelivered(key: string, d: { id: string; dataUrl: string }) {
  const before = (await deliveries(d.id)).length;
  const res = await call(ctx.app, key, 'GET', d.dataUrl);
  expect(res.statusCode, res.body).toBe(200);
  const body = res.json();
  const rows = await deliveries(d.id);
  expect(rows).toHaveLength(before + 1);
  const row = rows.find((r) => r.id === body.deliveryId);
  expect(row).toMatchObject({ allowed: true, reasonCode: body.reasonCode, kind: 'delivery', deliveryOf: d.id });
  expect(body.readings.length).toBeGreaterThan(0);
  return body;
}

/** Fetch the data; expect it denied now with `reason` (409 delivery_denied), the denial registered as a delivery of the request. */
async function expectDeliveryDenied(key: string, d: { id: string; dataUrl: string }, reason: GateReason) {
  const before = (await deliveries(d.id)).length;
  const res = await call(ctx.app, key, 'GET', d.dataUrl);
  expect(res.statusCode, res.body).toBe(409);
  const body = res.json();
  expect(body).toMatchObject({
    code: 'delivery_denied',
    details: { reasonCode: reason, rule: GATE_REASONS[reason].rule },
  });
  expect(body).not.toHaveProperty('readings');
  const rows = await deliveries(d.id);
  expect(rows).toHaveLength(before + 1);
  expect(rows.find((r) => r.id === body.details.deliveryId)).toMatchObject({
    allowed: false,
    reasonCode: reason,
    rule: GATE_REASONS[reason].rule,
    kind: 'delivery',
  });
}

describe('every delivery is a decision under the rules in force at delivery (DC-1, DC-4, GT-2)', () => {
  const lastDay = () => ({ from: quarter(Date.now()) - days(2), to: quarter(Date.now()) - days(1) });

  it('GT-2 block: allowed before, the next delivery after the block commits is denied', async () => {
    const { conn, provider, p4 } = await setup();
    await makeMandate(ctx.db, { partyId: provider.id, connectionEan: conn.ean, dataKinds: ['interval_data'] });
    const p = lastDay();
    const d = await allowedRequest(p4, conn.ean, p.from, p.to);
    const data = await expectDelivered(p4, d);
    expect(data.readings).toHaveLength(96);
    expect(data).toMatchObject({ id: d.id, reasonCode: 'mandate_valid', from: iso(p.from), to: iso(p.to) });
    // The block as intake places it (GT-2): the case's block, committed.
    const kase = await makeCase(ctx.db, { partyId: provider.id, connectionEan: conn.ean, gridOperatorId: operator.id });
    await placeBlock(ctx.db, {
      actor: 'test',
      caseId: kase.id,
      partyId: provider.id,
      connectionEan: conn.ean,
      at: new Date(),
    });
    await expectDeliveryDenied(p4, d, 'blocked_by_doubt_case');
  });

  it('DC-4 revocation by the grid user: the next delivery is denied', async () => {
    const { conn, provider, p4, userKey } = await setup();
    const m = await makeMandate(ctx.db, { partyId: provider.id, connectionEan: conn.ean });
    const p = lastDay();
    const d = await allowedRequest(p4, conn.ean, p.from, p.to);
    await expectDelivered(p4, d);
    expect((await call(ctx.app, userKey, 'POST', `/me/mandates/${m.id}/revoke`)).statusCode).toBe(200);
    await expectDeliveryDenied(p4, d, 'mandate_revoked');
  });

  it('DC-4 / DC-7 customer switch: the next delivery of the previous occupant’s period is denied', async () => {
    const { conn, provider, p4 } = await setup();
    await makeMandate(ctx.db, { partyId: provider.id, connectionEan: conn.ean });
    const p = lastDay();
    const d = await allowedRequest(p4, conn.ean, p.from, p.to);
    await expectDelivered(p4, d);
    const newUser = await makeGridUser(ctx.db, 'New occupant');
    const sw = await call(ctx.app, adminKey, 'POST', `/connections/${conn.ean}/events`, {
      kind: 'customer_switch',
      effectiveAt: iso(Date.now() - 1000),
      newGridUserId: newUser.id,
    });
    expect(sw.statusCode, sw.body).toBe(201);
    await expectDeliveryDenied(p4, d, 'period_before_grid_user');
  });

  it('DC-4 expiry: a delivery after the mandate’s end is denied', async () => {
    const { conn, provider, p4 } = await setup();
    const validTo = Date.now() + 3000;
    await makeMandate(ctx.db, { partyId: provider.id, connectionEan: conn.ean, validTo: new Date(validTo) });
    const p = lastDay();
    const d = await allowedRequest(p4, conn.ean, p.from, p.to);
    await expectDelivered(p4, d);
    await new Promise((r) => setTimeout(r, Math.max(0, validTo - Date.now() + 50)));
    await expectDeliveryDenied(p4, d, 'mandate_expired');
  });

  it('DC-4 loss of admission: a delivery after the party lost its access conditions is denied', async () => {
    const { conn, provider, p4 } = await setup();
    await makeMandate(ctx.db, { partyId: provider.id, connectionEan: conn.ean });
    const p = lastDay();
    const d = await allowedRequest(p4, conn.ean, p.from, p.to);
    await expectDelivered(p4, d);
    const patch = await call(ctx.app, adminKey, 'PATCH', `/parties/${provider.gln}`, { admitted: false });
    expect(patch.statusCode, patch.body).toBe(200);
    await expectDeliveryDenied(p4, d, 'party_not_admitted');
  });

  it('a denied request has no data (409 request_denied, no delivery registered); only requests are handles; another party gets 404', async () => {
    const { conn, provider, p4 } = await setup();
    const denied = (await ask(p4, conn.ean, Date.now() - days(2), Date.now() - days(1))).json();
    expect(denied.reasonCode).toBe('no_mandate');
    const res = await call(ctx.app, p4, 'GET', `/p4/requests/${denied.id}/data`);
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('request_denied');
    expect(await deliveries(denied.id)).toHaveLength(0);

    await makeMandate(ctx.db, { partyId: provider.id, connectionEan: conn.ean });
    const d = await allowedRequest(p4, conn.ean, Date.now() - days(2), Date.now() - days(1));
    const delivered = await expectDelivered(p4, d);
    expect((await call(ctx.app, p4, 'GET', `/p4/requests/${delivered.deliveryId}/data`)).statusCode).toBe(404);
    const other = await makeKey(ctx.db, 'p4-client', { partyId: (await makeParty(ctx.db, ['service_provider'])).id });
    expect((await call(ctx.app, other, 'GET', d.dataUrl)).statusCode).toBe(404);
    expect(await deliveries(d.id)).toHaveLength(1);
  });
});

describe('no future periods', () => {
  it('a period reaching 30 days ahead is cut at the decision instant; later data is never delivered under it', async () => {
    const { conn, provider, p4, lastRegisterWh } = await setup();
    await makeMandate(ctx.db, { partyId: provider.id, connectionEan: conn.ean });
    const from = quarter(Date.now()) - days(1);
    const d = await allowedRequest(p4, conn.ean, from, Date.now() + days(30));
    expect(d.periodCut).toBe(true);
    // Cut at the last quarter-hour that ended before the decision (DC-7: whole quarter-hours only).
    expect(d.to).toBe(iso(quarter(Date.parse(d.decidedAt))));
    // Data that arrives after the decision (imported as of a quarter-hour past the cut) is not the request's.
    const later = quarter(Date.parse(d.decidedAt)) + QH;
    const marker = lastRegisterWh + 3;
    const late = await importReadings(
      ctx.db,
      SEEDER,
      conn.ean,
      [{ readAt: new Date(later), registerWh: marker }],
      new Date(later + QH),
    );
    expect(late.accepted).toBe(1);
    const data = await expectDelivered(p4, d);
    expect(data.to).toBe(d.to);
    expect(data.readings.every((r: { at: string }) => Date.parse(r.at) <= Date.parse(d.to))).toBe(true);
    expect(data.readings.some((r: { registerWh: number }) => r.registerWh === marker)).toBe(false);
  });

  it('a period that starts in the future is refused (400 period_in_future) and nothing is registered', async () => {
    const { conn, provider, p4 } = await setup();
    await makeMandate(ctx.db, { partyId: provider.id, connectionEan: conn.ean });
    const res = await ask(p4, conn.ean, Date.now() + days(1), Date.now() + days(2));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'period_in_future', field: 'body.from' });
    expect(await ctx.db.select().from(accessRegister).where(eq(accessRegister.connectionEan, conn.ean))).toHaveLength(
      0,
    );
  });
});

describe('DC-7: the grid user’s own period', () => {
  it('a new occupant and their service provider get nothing of the previous occupant’s period', async () => {
    const { conn, provider, p4, userKey: oldUserKey } = await setup({ daysBack: 4 });
    const switchAt = quarter(Date.now()) - days(2);
    const newUser = await makeGridUser(ctx.db, 'New occupant');
    const newUserKey = await makeKey(ctx.db, 'grid-user', { gridUserId: newUser.id });
    const sw = await call(ctx.app, adminKey, 'POST', `/connections/${conn.ean}/events`, {
      kind: 'customer_switch',
      effectiveAt: iso(switchAt),
      newGridUserId: newUser.id,
    });
    expect(sw.statusCode, sw.body).toBe(201);
    // The new occupant grants the provider a mandate in the portal reaching back before the move, with history.
    const grant = await call(ctx.app, newUserKey, 'POST', `/me/connections/${conn.ean}/mandates`, {
      partyGln: provider.gln,
      dataKinds: ['interval_data'],
      purpose: 'energy insight',
      validFrom: iso(switchAt - days(10)),
      validTo: iso(Date.now() + days(30)),
      historyIncluded: true,
    });
    expect(grant.statusCode, grant.body).toBe(201);

    // The gate: the previous occupant's period (or any part of it) is denied, the new occupant's allowed.
    for (const [from, to] of [
      [switchAt - days(1), switchAt],
      [switchAt - days(1), switchAt + days(1)],
    ] as const) {
      const res = (await ask(p4, conn.ean, from, to)).json();
      expect(res).toMatchObject({ allowed: false, reasonCode: 'period_before_grid_user', rule: 'DC-7' });
    }
    const d = await allowedRequest(p4, conn.ean, switchAt, switchAt + days(1));
    const data = await expectDelivered(p4, d);
    expect(data.readings.every((r: { at: string }) => Date.parse(r.at) >= switchAt)).toBe(true);

    // /me readings: cut to the new occupant's period, stated in the answer; wholly before it → 400.
    const mine = await call(
      ctx.app,
      newUserKey,
      'GET',
      `/me/connections/${conn.ean}/readings?from=${iso(switchAt - days(2))}&to=${iso(Date.now())}`,
    );
    expect(mine.statusCode, mine.body).toBe(200);
    expect(mine.json()).toMatchObject({ from: iso(switchAt), periodCut: true });
    expect(mine.json().readings.length).toBeGreaterThan(0);
    expect(mine.json().readings.every((r: { at: string }) => Date.parse(r.at) >= switchAt)).toBe(true);
    const before = await call(
      ctx.app,
      newUserKey,
      'GET',
      `/me/connections/${conn.ean}/readings?from=${iso(switchAt - days(2))}&to=${iso(switchAt)}`,
    );
    expect(before.statusCode).toBe(400);
    expect(before.json()).toMatchObject({ code: 'period_before_grid_user', field: 'query.to' });
    // The previous occupant no longer sees the connection at all.
    expect(
      (
        await call(
          ctx.app,
          oldUserKey,
          'GET',
          `/me/connections/${conn.ean}/readings?from=${iso(switchAt - days(2))}&to=${iso(switchAt)}`,
        )
      ).statusCode,
    ).toBe(404);
  });

  it('/me readings: the future is cut, a period starting in the future refused', async () => {
    const { conn, userKey } = await setup();
    const res = await call(
      ctx.app,
      userKey,
      'GET',
      `/me/connections/${conn.ean}/readings?from=${iso(Date.now() - days(1))}&to=${iso(Date.now() + days(1))}`,
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().periodCut).toBe(true);
    expect(Date.parse(res.json().to)).toBeLessThanOrEqual(Date.now());
    const future = await call(
      ctx.app,
      userKey,
      'GET',
      `/me/connections/${conn.ean}/readings?from=${iso(Date.now() + days(1))}&to=${iso(Date.now() + days(2))}`,
    );
    expect(future.json()).toMatchObject({ code: 'period_in_future' });
  });
});

describe('DC-2: history only with history consent', () => {
  it('a mandate registered with a backdated start gives nothing before its registration without history consent', async () => {
    const { conn, provider } = await setup();
    const supplierKey = await makeKey(ctx.db, 'supplier', { partyId: provider.id });
    const p4 = await makeKey(ctx.db, 'p4-client', { partyId: provider.id });
    const reg = await call(ctx.app, supplierKey, 'POST', '/mandates', {
      connectionEan: conn.ean,
      dataKinds: ['interval_data'],
      purpose: 'energy insight app',
      validFrom: iso(Date.now() - days(10)),
      validTo: iso(Date.now() + days(365)),
      historyIncluded: false,
      grantedVia: 'signed_document',
      grantedByName: 'J. de Boer',
      grantedByIsGridUser: true,
    });
    expect(reg.statusCode, reg.body).toBe(201);
    const registeredAt = Date.parse(reg.json().createdAt);
    const res = (await ask(p4, conn.ean, Date.now() - days(5), Date.now() - days(1))).json();
    expect(res).toMatchObject({
      allowed: false,
      reasonCode: 'history_before_registration',
      rule: 'DC-2',
      mandateId: reg.json().id,
    });
    // Even the quarter-hour before the one of the registration is history.
    expect((await ask(p4, conn.ean, quarter(registeredAt) - QH, Date.now())).json().reasonCode).toBe(
      'history_before_registration',
    );
    // From the registration on there is no whole quarter-hour yet (DC-7): no data, no decision. (That a
    // period from the next quarter-hour boundary is allowed is decide()'s test, test/core/gate.test.ts.)
    expect((await ask(p4, conn.ean, registeredAt, Date.now() + days(1))).json()).toMatchObject({
      code: 'period_in_future',
      field: 'body.from',
    });
    // A mandate registered inside a quarter-hour, days ago: a period from the instant of its registration
    // starts at the next quarter-hour boundary (rounded inward), which it covers.
    const earlier = await makeMandate(ctx.db, {
      partyId: provider.id,
      connectionEan: conn.ean,
      dataKinds: ['interval_data'],
      validFrom: new Date(quarter(Date.now()) - days(3) + 60_000),
    });
    expect((await ask(p4, conn.ean, earlier.createdAt.getTime(), Date.now())).json()).toMatchObject({
      reasonCode: 'mandate_valid',
      mandateId: earlier.id,
      from: iso(quarter(Date.now()) - days(3) + QH),
      periodCut: true,
    });
  });
});

describe('DC-8: internal reads of quarter-hour data are registered with their purpose', () => {
  it('a case handler must state a purpose; the read is registered (reader and purpose), shown to the grid user without the reader', async () => {
    const { conn, userKey } = await setup();
    const handler = await makeKey(ctx.db, 'case-handler', { partyId: operator.id });
    const q = `from=${iso(Date.now() - days(1))}&to=${iso(Date.now())}`;
    const noPurpose = await call(ctx.app, handler, 'GET', `/connections/${conn.ean}/readings?${q}`);
    expect(noPurpose.statusCode).toBe(400);
    expect(await ctx.db.select().from(accessRegister).where(eq(accessRegister.connectionEan, conn.ean))).toHaveLength(
      0,
    );

    const purpose = 'GT-11: assess what the party received';
    const res = await call(
      ctx.app,
      handler,
      'GET',
      `/connections/${conn.ean}/readings?${q}&purpose=${encodeURIComponent(purpose)}`,
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().readings.length).toBeGreaterThan(0);
    const [row] = await ctx.db.select().from(accessRegister).where(eq(accessRegister.id, res.json().accessId));
    expect(row).toMatchObject({
      kind: 'internal',
      reasonCode: 'internal_access',
      rule: 'DC-8',
      allowed: true,
      partyId: operator.id,
      connectionEan: conn.ean,
      dataKind: 'interval_data',
      purpose,
    });
    expect(row!.actor).toMatch(/^api-key:/);

    // Compliance sees who read; the grid user sees that and why the grid operator read, not which key.
    const compliance = await makeKey(ctx.db, 'compliance', { partyId: operator.id });
    const reg = (await call(ctx.app, compliance, 'GET', `/access-register?connectionEan=${conn.ean}`)).json();
    expect(reg.items[0]).toMatchObject({ id: row!.id, kind: 'internal', purpose, actor: row!.actor });
    const mine = (await call(ctx.app, userKey, 'GET', `/me/connections/${conn.ean}/access`)).json();
    const seen = mine.recentRequests.find((e: { id: string }) => e.id === row!.id);
    expect(seen).toMatchObject({ kind: 'internal', purpose, reasonCode: 'internal_access' });
    expect(seen).not.toHaveProperty('actor');

    // Another operator's handler: 404, nothing registered.
    const otherOp = await makeParty(ctx.db, ['grid_operator']);
    const other = await makeKey(ctx.db, 'case-handler', { partyId: otherOp.id });
    expect(
      (
        await call(
          ctx.app,
          other,
          'GET',
          `/connections/${conn.ean}/readings?${q}&purpose=${encodeURIComponent(purpose)}`,
        )
      ).statusCode,
    ).toBe(404);
    expect(await ctx.db.select().from(accessRegister).where(eq(accessRegister.connectionEan, conn.ean))).toHaveLength(
      1,
    );
  });
});
