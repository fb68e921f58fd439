/**
 * GT-8b on the real stack (Fastify → Temporal dev server workflow → PostgreSQL): after a case closed
 * "mandate not demonstrated" the block stays and keeps every mandate of that moment blocked — also one
 * registered before the close and confirmed only after it — while a new mandate registered after the
 * close, and confirmed by the grid user where DC-3 asks it, is honoured: the regular process restarted.
 * Requests and deliveries alike (every delivery is decided again, DC-1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { blocks, doubtCases } from '../../db/schema/index.js';
import { call, days, iso, makeConnection, makeGridUser, makeKey, makeMandate } from '../core/fixtures.js';
import { caseApiContext, smallPdf, type CaseApiContext } from './case-context.js';

let ctx: CaseApiContext;
beforeAll(async () => {
  ctx = await caseApiContext('negative_outcome', {}, { timeSkipping: true }); // to the end of the 72 hours
});
afterAll(async () => ctx?.close());

describe('GT-8b: after "mandate not demonstrated" the regular processes can restart', () => {
  it('the old mandates stay blocked, a fresh mandate through the regular process is honoured', async () => {
    const operator = await ctx.party(['grid_operator']);
    const provider = await ctx.party(['service_provider']);
    const user = await makeGridUser(ctx.db);
    const conn = await makeConnection(ctx.db, { gridOperatorId: operator.id, gridUserId: user.id });
    const old = await makeMandate(ctx.db, {
      partyId: provider.id,
      connectionEan: conn.ean,
      dataKinds: ['interval_data'],
    });
    const handlerKey = await makeKey(ctx.db, 'case-handler', { partyId: operator.id, holderName: 'H. de Wit' });
    const providerKey = await makeKey(ctx.db, 'supplier', { partyId: provider.id });
    const p4 = await makeKey(ctx.db, 'p4-client', { partyId: provider.id });
    const userKey = await makeKey(ctx.db, 'grid-user', { gridUserId: user.id });
    const period = { from: iso(Date.now() - days(2)), to: iso(Date.now() - days(1)) };
    const gate = async (dataKind = 'interval_data') =>
      (await call(ctx.app, p4, 'POST', '/p4/requests', { connectionEan: conn.ean, dataKind, ...period })).json();
    const mandate = (dataKinds: string[], grantedByIsGridUser: boolean) =>
      call(ctx.app, providerKey, 'POST', '/mandates', {
        connectionEan: conn.ean,
        dataKinds,
        purpose: 'energy insight',
        validFrom: iso(Date.now() - days(10)),
        validTo: iso(Date.now() + days(365)),
        historyIncluded: true,
        grantedVia: 'signed_document',
        grantedByName: 'K. de Boer',
        grantedByIsGridUser,
      });

    const allowed = await gate();
    expect(allowed).toMatchObject({ allowed: true, reasonCode: 'mandate_valid', mandateId: old.id });

    // The case: blocked at once (GT-2), the evidence rejected, the 72 hours end → closed "mandate not demonstrated".
    const opened = await call(ctx.app, handlerKey, 'POST', '/cases', {
      connectionEan: conn.ean,
      partyGln: provider.gln,
      channel: 'customer',
      receivedAt: iso(Date.now() - 60_000),
      reporterName: 'J. de Vries',
      description: 'Kwartierwaarden opgevraagd zonder machtiging',
      isma: false,
    });
    expect(opened.statusCode, opened.body).toBe(201);
    const caseId: string = opened.json().id;
    const [block] = await ctx.db.select().from(blocks).where(eq(blocks.caseId, caseId));
    expect(await gate()).toMatchObject({ allowed: false, reasonCode: 'blocked_by_doubt_case', blockId: block!.id });
    // A mandate registered while the case runs (pending DC-3) is a mandate of that moment too.
    const during = await mandate(['daily_registers'], false);
    expect(during.statusCode, during.body).toBe(201);
    await ctx.waitForCase(caseId, (r) => r.contactedAt !== null);
    const answered = await call(ctx.app, providerKey, 'POST', `/cases/${caseId}/responses`, {
      findings: 'Machtiging via website',
      complaintHandling: 'Klant gebeld',
      evidence: {
        filename: 'machtiging.pdf',
        contentType: 'application/pdf',
        contentBase64: smallPdf().toString('base64'),
      },
    });
    expect(answered.statusCode, answered.body).toBe(201);
    const rejected = await call(ctx.app, handlerKey, 'POST', `/cases/${caseId}/judgements`, {
      responseId: answered.json().response.id,
      decision: 'reject',
      reason: 'Handtekening ontbreekt',
    });
    expect(rejected.statusCode, rejected.body).toBe(200);
    expect(rejected.json().status).toBe('awaiting_response'); // GT-3: the rest of the 72 hours are the party's
    await ctx.skip(73 * 3_600_000);
    await ctx.waitForCase(caseId, (r) => r.status === 'closed_mandate_not_demonstrated');
    // The test server's clock now runs 73 h ahead of the app's (real time), which registers mandates and
    // asks the gate: put the close on the app's clock, so "registered after the close" (GT-8b) means now.
    await ctx.db.update(doubtCases).set({ closedAt: new Date() }).where(eq(doubtCases.id, caseId));

    // The block stays and keeps the old mandate blocked: for new requests and for deliveries of old ones.
    expect(await gate()).toMatchObject({
      allowed: false,
      reasonCode: 'blocked_not_demonstrated',
      rule: 'GT-8b',
      blockId: block!.id,
      mandateId: null,
    });
    const oldDelivery = await call(ctx.app, p4, 'GET', allowed.dataUrl);
    expect(oldDelivery.statusCode).toBe(409);
    expect(oldDelivery.json().details).toMatchObject({ reasonCode: 'blocked_not_demonstrated', blockId: block!.id });
    // Confirmed after the close, the mandate registered before it stays blocked.
    expect((await call(ctx.app, userKey, 'POST', `/me/mandates/${during.json().id}/confirm`)).statusCode).toBe(200);
    expect(await gate('daily_registers')).toMatchObject({ reasonCode: 'blocked_not_demonstrated' });

    // The regular process again: the old mandate withdrawn, a new one registered (granted by someone else:
    // pending until the grid user confirms, DC-3), then confirmed.
    expect((await call(ctx.app, providerKey, 'POST', `/mandates/${old.id}/withdraw`)).statusCode).toBe(200);
    const fresh = await mandate(['interval_data'], false);
    expect(fresh.statusCode, fresh.body).toBe(201);
    expect(await gate()).toMatchObject({
      allowed: false,
      reasonCode: 'mandate_pending_confirmation',
      mandateId: fresh.json().id,
    });
    expect((await call(ctx.app, userKey, 'POST', `/me/mandates/${fresh.json().id}/confirm`)).statusCode).toBe(200);
    const honoured = await gate();
    expect(honoured).toMatchObject({
      allowed: true,
      reasonCode: 'mandate_valid_after_negative_outcome',
      rule: 'GT-8b',
      mandateId: fresh.json().id,
      blockId: block!.id,
    });
    const data = await call(ctx.app, p4, 'GET', honoured.dataUrl);
    expect(data.statusCode, data.body).toBe(200);
    expect(data.json()).toMatchObject({
      reasonCode: 'mandate_valid_after_negative_outcome',
      mandateId: fresh.json().id,
    });
    // The block itself is still in force.
    const [still] = await ctx.db.select().from(blocks).where(eq(blocks.id, block!.id));
    expect(still!.endedAt).toBeNull();
  });
});
