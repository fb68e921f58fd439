/**
 * DC-7 periods at their edges (issue 18, item 4), on the real app and PostgreSQL. One convention everywhere
 * (docs/rules-dc7-periods.md): a period [from, to) holds the quarter-hours that start at or after `from`
 * and end at or before `to`; a stored register value is labelled with the end of the quarter-hour it closes
 * (AL-1), so the period's points are those labelled in (from, to]; ends that are not on a quarter-hour
 * boundary are rounded inward. Checked for the gate, the P4 delivery and the grid user's own readings:
 * a change of occupant at an exact quarter-hour, a request starting and one ending at the change, the
 * supplier of record's billing reads before it supplied this grid user (GT-2 within DC-7), feed-in next to
 * offtake (AL-1), and the daylight-saving days of Europe/Amsterdam (92 and 100 quarter-hours).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { accessRegister } from '../../db/schema/index.js';
import { importReadings, type ReadingInput } from '../../db/repositories/readings.js';
import { GATE_REASONS, type GateReason } from '../../domain/gate.js';
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
let operator: Awaited<ReturnType<typeof makeParty>>;
let adminKey: string;
const QH = 900_000;
const quarter = (ms: number) => Math.floor(ms / QH) * QH;
const SEEDER = { actor: 'test:dc7-periods', actorRole: 'admin', actorPartyId: null };

beforeAll(async () => {
  ctx = await coreContext('dc7_periods');
  operator = await makeParty(ctx.db, ['grid_operator'], 'Operator');
  adminKey = await makeKey(ctx.db, 'admin');
});
afterAll(async () => ctx?.close());

/**
 * Registers every quarter-hour over [first, last] (inclusive, both on quarter-hour boundaries): offtake
 * and feed-in, with volumes that differ from one quarter-hour to the next, so a delivery shifted by one
 * quarter-hour cannot match. Returns the offtake and feed-in register at each instant.
 */
async function readEvery(ean: string, first: number, last: number, start = { offtake: 50_000, feedIn: 7_000 }) {
  const offtake = new Map<number, number>();
  const feedIn = new Map<number, number>();
  const rows: ReadingInput[] = [];
  let off = start.offtake;
  let fin = start.feedIn;
  for (let t = first, i = 0; t <= last; t += QH, i++) {
    off += 10 + (i % 7);
    fin += 1 + (i % 3);
    offtake.set(t, off);
    feedIn.set(t, fin);
    rows.push({ readAt: new Date(t), registerWh: off, feedInRegisterWh: fin });
  }
  for (let k = 0; k < rows.length; k += 5000) {
    const r = await importReadings(ctx.db, SEEDER, ean, rows.slice(k, k + 5000));
    expect(r.rejected).toEqual([]);
  }
  return { offtake, feedIn };
}

type Point = { at: string; registerWh: number; volumeWh?: number; feedInRegisterWh?: number; feedInVolumeWh?: number };

/** The interval data of [from, to) as the convention defines it: one point per quarter-hour, at its end. */
function expectQuarterHours(
  points: Point[],
  from: number,
  to: number,
  reg: { offtake: Map<number, number>; feedIn: Map<number, number> },
) {
  const ends: number[] = [];
  for (let t = from + QH; t <= to; t += QH) ends.push(t);
  expect(points.map((p) => p.at)).toEqual(ends.map(iso));
  for (const p of points) {
    const end = Date.parse(p.at);
    expect(p).toEqual({
      at: p.at,
      registerWh: reg.offtake.get(end),
      volumeWh: reg.offtake.get(end)! - reg.offtake.get(end - QH)!,
      feedInRegisterWh: reg.feedIn.get(end),
      feedInVolumeWh: reg.feedIn.get(end)! - reg.feedIn.get(end - QH)!,
    });
  }
}

const ask = (key: string, ean: string, dataKind: string, from: number, to: number) =>
  call(ctx.app, key, 'POST', '/p4/requests', { connectionEan: ean, dataKind, from: iso(from), to: iso(to) });

async function expectReason(key: string, ean: string, dataKind: string, from: number, to: number, reason: GateReason) {
  const res = await ask(key, ean, dataKind, from, to);
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json(), res.body).toMatchObject({ reasonCode: reason, rule: GATE_REASONS[reason].rule });
  return res.json() as { id: string; dataUrl: string; allowed: boolean; from: string; to: string; periodCut: boolean };
}

async function fetchData(key: string, dataUrl: string) {
  const res = await call(ctx.app, key, 'GET', dataUrl);
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { from: string; to: string; readings: Point[] };
}

async function occupantSwitch(ean: string, at: number, newGridUserId: string) {
  const sw = await call(ctx.app, adminKey, 'POST', `/connections/${ean}/events`, {
    kind: 'customer_switch',
    effectiveAt: iso(at),
    newGridUserId,
  });
  expect(sw.statusCode, sw.body).toBe(201);
}

describe('DC-7: a change of occupant at an exact quarter-hour', () => {
  it('the previous occupant’s last quarter-hour ends at the change; the new occupant’s first starts there', async () => {
    const supplier = await makeParty(ctx.db, ['supplier']);
    const oldUser = await makeGridUser(ctx.db, 'Previous occupant');
    const conn = await makeConnection(ctx.db, {
      gridOperatorId: operator.id,
      supplierId: supplier.id,
      gridUserId: oldUser.id,
    });
    const switchAt = quarter(Date.now()) - days(2);
    const reg = await readEvery(conn.ean, switchAt - days(2), quarter(Date.now()) - QH);

    // The previous occupant's provider, before the change: [switchAt - 1 day, switchAt) is 96 quarter-hours,
    // the last one ending at the change, none before `from`.
    const oldProvider = await makeParty(ctx.db, ['service_provider']);
    const oldP4 = await makeKey(ctx.db, 'p4-client', { partyId: oldProvider.id });
    await makeMandate(ctx.db, {
      partyId: oldProvider.id,
      connectionEan: conn.ean,
      dataKinds: ['interval_data'],
      validFrom: new Date(switchAt - days(20)),
    });
    const before = await expectReason(oldP4, conn.ean, 'interval_data', switchAt - days(1), switchAt, 'mandate_valid');
    expect(before).toMatchObject({ from: iso(switchAt - days(1)), to: iso(switchAt), periodCut: false });
    const beforeData = await fetchData(oldP4, before.dataUrl);
    expect(beforeData.readings).toHaveLength(96);
    expectQuarterHours(beforeData.readings, switchAt - days(1), switchAt, reg);

    // The change of occupant, at the exact quarter-hour.
    const newUser = await makeGridUser(ctx.db, 'New occupant');
    const newUserKey = await makeKey(ctx.db, 'grid-user', { gridUserId: newUser.id });
    await occupantSwitch(conn.ean, switchAt, newUser.id);
    const denied = await call(ctx.app, oldP4, 'GET', before.dataUrl);
    expect(denied.statusCode).toBe(409);
    expect(denied.json().details.reasonCode).toBe('period_before_grid_user');

    // The new occupant's provider, with history consent reaching back before the move.
    const provider = await makeParty(ctx.db, ['service_provider']);
    const p4 = await makeKey(ctx.db, 'p4-client', { partyId: provider.id });
    const grant = await call(ctx.app, newUserKey, 'POST', `/me/connections/${conn.ean}/mandates`, {
      partyGln: provider.gln,
      dataKinds: ['interval_data', 'daily_registers'],
      purpose: 'energy insight',
      validFrom: iso(switchAt - days(10)),
      validTo: iso(Date.now() + days(30)),
      historyIncluded: true,
    });
    expect(grant.statusCode, grant.body).toBe(201);

    // A request ending at the change holds only the previous occupant's quarter-hours: denied.
    await expectReason(p4, conn.ean, 'interval_data', switchAt - days(1), switchAt, 'period_before_grid_user');
    // One quarter-hour before the change is one too many.
    await expectReason(p4, conn.ean, 'interval_data', switchAt - QH, switchAt + days(1), 'period_before_grid_user');

    // A request starting at the change: exactly the new occupant's quarter-hours, the first one's volume
    // measured from the register at the change; nothing labelled at the change itself.
    const d = await expectReason(p4, conn.ean, 'interval_data', switchAt, switchAt + days(1), 'mandate_valid');
    const data = await fetchData(p4, d.dataUrl);
    expect(data).toMatchObject({ from: iso(switchAt), to: iso(switchAt + days(1)) });
    expect(data.readings).toHaveLength(96);
    expectQuarterHours(data.readings, switchAt, switchAt + days(1), reg);

    // Ends off the quarter-hour are rounded inward (inward never leaks): a start inside the previous
    // occupant's last quarter-hour is taken at the change; an end inside a quarter-hour drops that one.
    const inward = await expectReason(
      p4,
      conn.ean,
      'interval_data',
      switchAt - 7 * 60_000,
      switchAt + days(1) + 7 * 60_000,
      'mandate_valid',
    );
    expect(inward).toMatchObject({ from: iso(switchAt), to: iso(switchAt + days(1)), periodCut: true });
    const inwardData = await fetchData(p4, inward.dataUrl);
    expectQuarterHours(inwardData.readings, switchAt, switchAt + days(1), reg);

    // Daily registers of the first day: the register at its end, not the one at the change.
    const daily = await expectReason(p4, conn.ean, 'daily_registers', switchAt, switchAt + days(1), 'mandate_valid');
    const dailyData = await fetchData(p4, daily.dataUrl);
    const midnights = dailyData.readings.map((p) => p.at);
    expect(midnights.every((at) => Date.parse(at) > switchAt && Date.parse(at) <= switchAt + days(1))).toBe(true);

    // The grid user's own readings: cut to their period, the same quarter-hours as the P4 delivery.
    const mine = await call(
      ctx.app,
      newUserKey,
      'GET',
      `/me/connections/${conn.ean}/readings?from=${iso(switchAt - days(2))}&to=${iso(switchAt + days(1))}`,
    );
    expect(mine.statusCode, mine.body).toBe(200);
    expect(mine.json()).toMatchObject({ from: iso(switchAt), to: iso(switchAt + days(1)), periodCut: true });
    expectQuarterHours(mine.json().readings, switchAt, switchAt + days(1), reg);
    const endingAtChange = await call(
      ctx.app,
      newUserKey,
      'GET',
      `/me/connections/${conn.ean}/readings?from=${iso(switchAt - days(1))}&to=${iso(switchAt)}`,
    );
    expect(endingAtChange.statusCode).toBe(400);
    expect(endingAtChange.json()).toMatchObject({ code: 'period_before_grid_user', field: 'query.to' });
  });

  it('a period without a whole quarter-hour is refused (400, naming the field) and nothing is registered', async () => {
    const user = await makeGridUser(ctx.db);
    const conn = await makeConnection(ctx.db, { gridOperatorId: operator.id, gridUserId: user.id });
    const provider = await makeParty(ctx.db, ['service_provider']);
    const p4 = await makeKey(ctx.db, 'p4-client', { partyId: provider.id });
    await makeMandate(ctx.db, { partyId: provider.id, connectionEan: conn.ean, historyIncluded: true });
    const t = quarter(Date.now()) - days(1);
    const inside = await ask(p4, conn.ean, 'interval_data', t + 60_000, t + 14 * 60_000);
    expect(inside.statusCode).toBe(400);
    expect(inside.json()).toMatchObject({ code: 'period_no_quarter_hour', field: 'body.to' });
    // A start inside the current quarter-hour: its first whole quarter-hour has not ended, no data exists yet.
    const current = await ask(p4, conn.ean, 'interval_data', quarter(Date.now()) + 1, Date.now() + days(1));
    expect(current.statusCode).toBe(400);
    expect(current.json()).toMatchObject({ code: 'period_in_future', field: 'body.from' });
    expect(await ctx.db.select().from(accessRegister).where(eq(accessRegister.connectionEan, conn.ean))).toHaveLength(
      0,
    );
    const userKey = await makeKey(ctx.db, 'grid-user', { gridUserId: user.id });
    const own = await call(
      ctx.app,
      userKey,
      'GET',
      `/me/connections/${conn.ean}/readings?from=${iso(t + 60_000)}&to=${iso(t + 14 * 60_000)}`,
    );
    expect(own.statusCode).toBe(400);
    expect(own.json()).toMatchObject({ code: 'period_no_quarter_hour', field: 'query.to' });
  });
});

describe('DC-7 binds the supplier of record: billing reads only over its own supply of this grid user (GT-2)', () => {
  /** Midnight on the 1st of the month, Europe/Amsterdam, 2025 (CET in Jan–Mar, CEST in Apr–Oct). */
  const monthStart = (month: number) =>
    Date.parse(`2025-${String(month).padStart(2, '0')}-01T00:00:00${month >= 4 && month <= 10 ? '+02:00' : '+01:00'}`);

  async function billedConnection() {
    const supplierA = await makeParty(ctx.db, ['supplier'], 'Supplier A');
    const supplierB = await makeParty(ctx.db, ['supplier'], 'Supplier B');
    const user = await makeGridUser(ctx.db, 'Occupant');
    const conn = await makeConnection(ctx.db, {
      gridOperatorId: operator.id,
      supplierId: supplierA.id,
      gridUserId: user.id,
    });
    // The monthly registers of January to June (plus a reading a quarter-hour after each, as a day would have).
    const rows: ReadingInput[] = [];
    const offtake = new Map<number, number>();
    const feedIn = new Map<number, number>();
    for (let m = 1; m <= 6; m++) {
      const t = monthStart(m);
      offtake.set(t, 100_000 + m * 250);
      feedIn.set(t, 20_000 + m * 40);
      rows.push({ readAt: new Date(t), registerWh: offtake.get(t)!, feedInRegisterWh: feedIn.get(t)! });
      rows.push({ readAt: new Date(t + QH), registerWh: offtake.get(t)! + 1, feedInRegisterWh: feedIn.get(t)! });
    }
    const r = await importReadings(ctx.db, SEEDER, conn.ean, rows);
    expect(r.rejected).toEqual([]);
    const keyOf = async (partyId: string) => makeKey(ctx.db, 'p4-client', { partyId });
    return {
      conn,
      user,
      supplierA,
      supplierB,
      aP4: await keyOf(supplierA.id),
      bP4: await keyOf(supplierB.id),
      offtake,
      feedIn,
    };
  }

  it('after a supplier switch: the new supplier gets nothing before its supply began, the old one nothing without a mandate', async () => {
    const c = await billedConnection();
    const switchAt = monthStart(3);
    const sw = await call(ctx.app, adminKey, 'POST', `/connections/${c.conn.ean}/events`, {
      kind: 'supplier_switch',
      effectiveAt: iso(switchAt),
      newSupplierGln: c.supplierB.gln,
    });
    expect(sw.statusCode, sw.body).toBe(201);

    // Before its supply: refused, also one quarter-hour before, also when the period reaches into the supply.
    await expectReason(c.bP4, c.conn.ean, 'monthly_registers', monthStart(1), switchAt, 'period_before_supply');
    await expectReason(c.bP4, c.conn.ean, 'monthly_registers', switchAt - QH, monthStart(5), 'period_before_supply');
    // From the switch on: its own billing reads, without a mandate.
    const own = await expectReason(
      c.bP4,
      c.conn.ean,
      'monthly_registers',
      switchAt,
      monthStart(6),
      'supplier_of_record',
    );
    const data = await fetchData(c.bP4, own.dataUrl);
    // The registers that close its months (the one at the switch closes the previous supplier's last quarter-hour).
    expect(data.readings).toEqual(
      [monthStart(4), monthStart(5), monthStart(6)].map((t) => ({
        at: iso(t),
        registerWh: c.offtake.get(t),
        feedInRegisterWh: c.feedIn.get(t),
      })),
    );
    // The previous supplier is no longer the supplier of record: its billing reads ended with its supply.
    await expectReason(c.aP4, c.conn.ean, 'monthly_registers', monthStart(1), switchAt, 'no_mandate');
    // With the grid user's mandate (history consented) the new supplier may read further back, like any party.
    const m = await makeMandate(ctx.db, {
      partyId: c.supplierB.id,
      connectionEan: c.conn.ean,
      dataKinds: ['monthly_registers'],
      validFrom: new Date(monthStart(1)),
      historyIncluded: true,
    });
    const viaMandate = await expectReason(
      c.bP4,
      c.conn.ean,
      'monthly_registers',
      monthStart(1),
      switchAt,
      'mandate_valid',
    );
    expect(viaMandate).toMatchObject({ allowed: true });
    expect((await ask(c.bP4, c.conn.ean, 'monthly_registers', monthStart(1), switchAt)).json().mandateId).toBe(m.id);
    expect((await fetchData(c.bP4, viaMandate.dataUrl)).readings.map((p) => p.at)).toEqual(
      [monthStart(2), monthStart(3)].map(iso),
    );
  });

  it('after a change of occupant: the same supplier bills the new occupant only from the change on', async () => {
    const c = await billedConnection();
    const moveAt = monthStart(4);
    const newUser = await makeGridUser(ctx.db, 'New occupant');
    await occupantSwitch(c.conn.ean, moveAt, newUser.id);
    await expectReason(c.aP4, c.conn.ean, 'monthly_registers', monthStart(1), monthStart(6), 'period_before_grid_user');
    await expectReason(c.aP4, c.conn.ean, 'monthly_registers', moveAt - QH, monthStart(6), 'period_before_grid_user');
    const own = await expectReason(c.aP4, c.conn.ean, 'monthly_registers', moveAt, monthStart(6), 'supplier_of_record');
    expect((await fetchData(c.aP4, own.dataUrl)).readings.map((p) => p.at)).toEqual(
      [monthStart(5), monthStart(6)].map(iso),
    );
  });
});

describe('daylight-saving days in Europe/Amsterdam', () => {
  const spring = { from: Date.parse('2025-03-30T00:00:00+01:00'), to: Date.parse('2025-03-31T00:00:00+02:00') };
  const autumn = { from: Date.parse('2025-10-26T00:00:00+02:00'), to: Date.parse('2025-10-27T00:00:00+01:00') };

  it('a day holds 92 (spring) or 100 (autumn) quarter-hours over P4 and in the grid user’s own view', async () => {
    const user = await makeGridUser(ctx.db);
    const conn = await makeConnection(ctx.db, { gridOperatorId: operator.id, gridUserId: user.id });
    const userKey = await makeKey(ctx.db, 'grid-user', { gridUserId: user.id });
    const provider = await makeParty(ctx.db, ['service_provider']);
    const p4 = await makeKey(ctx.db, 'p4-client', { partyId: provider.id });
    await makeMandate(ctx.db, {
      partyId: provider.id,
      connectionEan: conn.ean,
      dataKinds: ['interval_data', 'daily_registers'],
      validFrom: new Date('2025-01-01T00:00:00Z'),
      historyIncluded: true,
    });
    const regSpring = await readEvery(conn.ean, spring.from - QH, spring.to + QH);
    const regAutumn = await readEvery(conn.ean, autumn.from - QH, autumn.to + QH, { offtake: 900_000, feedIn: 90_000 });
    for (const [day, reg, n] of [
      [spring, regSpring, 92],
      [autumn, regAutumn, 100],
    ] as const) {
      const d = await expectReason(p4, conn.ean, 'interval_data', day.from, day.to, 'mandate_valid');
      const data = await fetchData(p4, d.dataUrl);
      expect(data.readings).toHaveLength(n);
      expectQuarterHours(data.readings, day.from, day.to, reg);
      const daily = await expectReason(p4, conn.ean, 'daily_registers', day.from, day.to, 'mandate_valid');
      expect((await fetchData(p4, daily.dataUrl)).readings).toEqual([
        { at: iso(day.to), registerWh: reg.offtake.get(day.to), feedInRegisterWh: reg.feedIn.get(day.to) },
      ]);
      const mine = await call(
        ctx.app,
        userKey,
        'GET',
        `/me/connections/${conn.ean}/readings?from=${iso(day.from)}&to=${iso(day.to)}`,
      );
      expect(mine.statusCode, mine.body).toBe(200);
      expect(mine.json().readings).toHaveLength(n);
      expectQuarterHours(mine.json().readings, day.from, day.to, reg);
    }

    // A change of occupant at an exact quarter-hour inside the repeated hour (02:15 CET, the second time):
    // the new occupant's part of the autumn day is the 87 quarter-hours from 01:15 UTC to the day's end.
    const moveAt = Date.parse('2025-10-26T02:15:00+01:00');
    const newUser = await makeGridUser(ctx.db, 'Autumn occupant');
    const newKey = await makeKey(ctx.db, 'grid-user', { gridUserId: newUser.id });
    await occupantSwitch(conn.ean, moveAt, newUser.id);
    const theirs = await call(
      ctx.app,
      newKey,
      'GET',
      `/me/connections/${conn.ean}/readings?from=${iso(autumn.from)}&to=${iso(autumn.to)}`,
    );
    expect(theirs.statusCode, theirs.body).toBe(200);
    expect(theirs.json()).toMatchObject({ from: iso(moveAt), to: iso(autumn.to), periodCut: true });
    expect(theirs.json().readings).toHaveLength(87);
    expectQuarterHours(theirs.json().readings, moveAt, autumn.to, regAutumn);
  });
});
