/**
 * DC-5 transparency and DC-4 stop for the grid user (/me): own connections only, who has or had
 * access, when data was requested, stopping a party's access, granting in the portal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  badCheckDigit,
  call,
  coreContext,
  days,
  iso,
  makeConnection,
  makeGridUser,
  makeKey,
  makeMandate,
  makeParty,
  newEan,
  newGln,
  type CoreContext,
} from './fixtures.js';

let ctx: CoreContext;
let operator: Awaited<ReturnType<typeof makeParty>>;
let supplier: Awaited<ReturnType<typeof makeParty>>;
let provider: Awaited<ReturnType<typeof makeParty>>;
let adminKey: string;
const now = Date.now();

beforeAll(async () => {
  ctx = await coreContext('transparency');
  operator = await makeParty(ctx.db, ['grid_operator']);
  supplier = await makeParty(ctx.db, ['supplier'], 'Groene Stroom');
  provider = await makeParty(ctx.db, ['service_provider'], 'WattInzicht');
  adminKey = await makeKey(ctx.db, 'admin');
});
afterAll(async () => ctx?.close());

async function setup() {
  const user = await makeGridUser(ctx.db);
  const conn = await makeConnection(ctx.db, {
    gridOperatorId: operator.id,
    supplierId: supplier.id,
    gridUserId: user.id,
  });
  const userKey = await makeKey(ctx.db, 'grid-user', { gridUserId: user.id });
  const p4 = await makeKey(ctx.db, 'p4-client', { partyId: provider.id });
  return { user, conn, userKey, p4 };
}
const ask = (key: string, ean: string, dataKind = 'interval_data') =>
  call(ctx.app, key, 'POST', '/p4/requests', {
    connectionEan: ean,
    dataKind,
    from: iso(now - days(2)),
    to: iso(now - days(1)),
  });

describe('DC-5: who has or had access', () => {
  it('lists own connections only', async () => {
    const a = await setup();
    const b = await setup();
    const mine = (await call(ctx.app, a.userKey, 'GET', '/me/connections')).json();
    expect(mine.items.map((c: { ean: string }) => c.ean)).toEqual([a.conn.ean]);
    expect((await call(ctx.app, a.userKey, 'GET', `/me/connections/${b.conn.ean}/access`)).statusCode).toBe(404);
    expect((await call(ctx.app, a.userKey, 'GET', `/me/connections/${newEan()}/access`)).statusCode).toBe(404);
  });

  it('shows the supplier of record, mandate holders (current and ended) and their requests', async () => {
    const { conn, userKey, p4 } = await setup();
    const m = await makeMandate(ctx.db, {
      partyId: provider.id,
      connectionEan: conn.ean,
      dataKinds: ['interval_data'],
    });
    expect((await ask(p4, conn.ean)).json().allowed).toBe(true);
    expect((await ask(p4, conn.ean, 'monthly_registers')).json().allowed).toBe(false);
    const overview = (await call(ctx.app, userKey, 'GET', `/me/connections/${conn.ean}/access`)).json();
    expect(overview.parties.map((p: { party: { name: string } }) => p.party.name)).toEqual([
      'Groene Stroom',
      'WattInzicht',
    ]);
    const [sup, prov] = overview.parties;
    expect(sup).toMatchObject({ supplierOfRecord: true, hasAccessNow: true, mandates: [], requests: { total: 0 } });
    expect(prov).toMatchObject({ supplierOfRecord: false, hasAccessNow: true, requests: { total: 2, allowed: 1 } });
    expect(prov.mandates.map((x: { id: string }) => x.id)).toEqual([m.id]);
    expect(overview.recentRequests).toHaveLength(2);
    expect(overview.recentRequests[0].partyId).toBe(provider.id);

    // Stop the provider's access (DC-4): it had access, it has none now, and the gate denies.
    const stop = await call(ctx.app, userKey, 'POST', `/me/connections/${conn.ean}/access/${provider.gln}/stop`);
    expect(stop.statusCode, stop.body).toBe(200);
    expect(stop.json().mandatesEnded.map((x: { id: string; endReason: string }) => [x.id, x.endReason])).toEqual([
      [m.id, 'revoked_by_grid_user'],
    ]);
    expect((await ask(p4, conn.ean)).json().reasonCode).toBe('mandate_revoked');
    const after = (await call(ctx.app, userKey, 'GET', `/me/connections/${conn.ean}/access`)).json();
    const provAfter = after.parties.find((p: { party: { id: string } }) => p.party.id === provider.id);
    expect(provAfter).toMatchObject({ hasAccessNow: false, requests: { total: 3, allowed: 1 } });
    expect(provAfter.mandates[0].state).toBe('ended');
    // Stopping again is harmless.
    expect(
      (await call(ctx.app, userKey, 'POST', `/me/connections/${conn.ean}/access/${provider.gln}/stop`)).json()
        .mandatesEnded,
    ).toEqual([]);
  });

  it('a new occupant sees only their own period, not the previous occupant’s requests', async () => {
    const { conn, userKey, p4 } = await setup();
    await makeMandate(ctx.db, { partyId: provider.id, connectionEan: conn.ean });
    await ask(p4, conn.ean);
    const newcomer = await makeGridUser(ctx.db, 'Newcomer');
    const newKey = await makeKey(ctx.db, 'grid-user', { gridUserId: newcomer.id });
    const sw = await call(ctx.app, adminKey, 'POST', `/connections/${conn.ean}/events`, {
      kind: 'customer_switch',
      effectiveAt: iso(Date.now()),
      newGridUserId: newcomer.id,
    });
    expect(sw.statusCode, sw.body).toBe(201);
    const view = (await call(ctx.app, newKey, 'GET', `/me/connections/${conn.ean}/access`)).json();
    expect(view.recentRequests).toEqual([]);
    expect(view.parties.every((p: { mandates: unknown[] }) => p.mandates.length === 0)).toBe(true);
    // The previous occupant no longer sees the connection at all.
    expect((await call(ctx.app, userKey, 'GET', `/me/connections/${conn.ean}/access`)).statusCode).toBe(404);
  });

  it('stop: unknown party 404, invalid GLN 400, another user’s connection 404, wrong role 403', async () => {
    const { conn, userKey } = await setup();
    const other = await setup();
    const invalid = await call(
      ctx.app,
      userKey,
      'POST',
      `/me/connections/${conn.ean}/access/${badCheckDigit(provider.gln)}/stop`,
    );
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().code).toBe('invalid_gln');
    const unknown = await call(ctx.app, userKey, 'POST', `/me/connections/${conn.ean}/access/${newGln()}/stop`);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('party_not_found');
    expect(
      (await call(ctx.app, userKey, 'POST', `/me/connections/${other.conn.ean}/access/${provider.gln}/stop`))
        .statusCode,
    ).toBe(404);
    const supplierKey = await makeKey(ctx.db, 'supplier', { partyId: supplier.id });
    expect((await call(ctx.app, supplierKey, 'GET', '/me/connections')).statusCode).toBe(403);
  });
});

describe('portal mandates', () => {
  it('the grid user grants a mandate in the portal: active at once, granted by the grid user', async () => {
    const { conn, userKey, user, p4 } = await setup();
    const res = await call(ctx.app, userKey, 'POST', `/me/connections/${conn.ean}/mandates`, {
      partyGln: provider.gln,
      dataKinds: ['interval_data'],
      purpose: 'energy insight',
      validFrom: iso(now - days(5)),
      validTo: iso(now + days(30)),
      historyIncluded: false,
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      status: 'active',
      grantedVia: 'portal',
      grantedByIsGridUser: true,
      grantedByName: user.name,
    });
    // DC-2: the backdated start gives no history without history consent; from the grant on it covers, once
    // a whole quarter-hour after the grant has ended (DC-7): before that there is no data to decide on.
    expect((await ask(p4, conn.ean)).json().reasonCode).toBe('history_before_registration');
    const fromGrant = {
      connectionEan: conn.ean,
      dataKind: 'interval_data',
      from: res.json().createdAt,
      to: iso(Date.now() + days(1)),
    };
    expect((await call(ctx.app, p4, 'POST', '/p4/requests', fromGrant)).json()).toMatchObject({
      code: 'period_in_future',
      field: 'body.from',
    });
  });
});

describe('readings for the grid user', () => {
  it('own readings yes, others 404', async () => {
    const { conn, userKey } = await setup();
    const other = await setup();
    const q = `from=${iso(now - days(1))}&to=${iso(now)}`;
    expect((await call(ctx.app, userKey, 'GET', `/me/connections/${conn.ean}/readings?${q}`)).statusCode).toBe(200);
    expect((await call(ctx.app, userKey, 'GET', `/me/connections/${other.conn.ean}/readings?${q}`)).statusCode).toBe(
      404,
    );
    const bad = await call(
      ctx.app,
      userKey,
      'GET',
      `/me/connections/${conn.ean}/readings?from=${iso(now)}&to=${iso(now - days(1))}`,
    );
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('period_invalid');
  });
});
