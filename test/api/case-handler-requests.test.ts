/**
 * Issue 10 over HTTP on the real stack (Fastify → case service → Temporal dev server → PostgreSQL, SMTP
 * capture): the request for more evidence (GT-3), withdrawal reason codes (GT-7) and the iSMA variant
 * derived at intake (GT-4), with their refusals (4xx, stable code, field) and the OpenAPI document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count, eq } from 'drizzle-orm';
import { inject } from 'vitest';
import { doubtCases, evidenceRequests } from '../../db/schema/index.js';
import { readMail } from '../helpers/index.js';
import { call, days, makeConnection, makeKey, makeMandate } from '../core/fixtures.js';
import { caseApiContext, type CaseApiContext } from './case-context.js';

let ctx: CaseApiContext;
let op: Awaited<ReturnType<CaseApiContext['party']>>;
let sup: Awaited<ReturnType<CaseApiContext['party']>>;
const keys: Record<'handler' | 'supplier', string> = {} as never;

beforeAll(async () => {
  ctx = await caseApiContext('case_handler_requests');
  op = await ctx.party(['grid_operator']);
  sup = await ctx.party(['supplier']);
  keys.handler = await makeKey(ctx.db, 'case-handler', { partyId: op.id });
  keys.supplier = await makeKey(ctx.db, 'supplier', { partyId: sup.id });
});
afterAll(async () => ctx?.close());

async function connection() {
  const c = await makeConnection(ctx.db, { gridOperatorId: op.id, supplierId: sup.id });
  await makeMandate(ctx.db, { partyId: sup.id, connectionEan: c.ean });
  return c.ean;
}

const intake = (ean: string, extra: Record<string, unknown> = {}) => ({
  connectionEan: ean,
  partyGln: sup.gln,
  channel: 'customer',
  receivedAt: new Date(Date.now() - 60_000).toISOString(),
  reporterName: 'Klant',
  description: 'Onbekende P4-opvragingen',
  ...extra,
});

async function openContactedCase(extra: Record<string, unknown> = {}) {
  const res = await call(ctx.app, keys.handler, 'POST', '/cases', intake(await connection(), extra));
  expect(res.statusCode, res.body).toBe(201);
  const id = res.json().id as string;
  const row = await ctx.waitForCase(id, (r) => r.contactedAt !== null);
  return { id, row };
}

describe('iSMA variant at intake (GT-4: the supplier of record’s iSMA reading only)', () => {
  /** The connection's allocation basis from ten days ago, recorded by the case handler (AL-4). */
  async function basis(ean: string, b: Record<string, unknown>) {
    const res = await call(ctx.app, keys.handler, 'POST', `/connections/${ean}/allocation-basis`, {
      effectiveFrom: new Date(Date.now() - days(10)).toISOString(),
      reason: 'test',
      ...b,
    });
    expect(res.statusCode, res.body).toBe(201);
  }
  const casesOn = async (ean: string) =>
    (await ctx.db.select({ n: count() }).from(doubtCases).where(eq(doubtCases.connectionEan, ean)))[0]!.n;

  it('omitted: derived; the supplier of record on its own iSMA request is iSMA; isma true without a basis: 409 naming body.isma, nothing written', async () => {
    const ean = await connection();
    await basis(ean, { method: 'isma', basis: 'supplier_isma_request' });
    const derived = await call(ctx.app, keys.handler, 'POST', '/cases', intake(ean));
    expect(derived.statusCode, derived.body).toBe(201);
    expect(derived.json().isma).toBe(true);

    const bare = await connection(); // no basis recorded: profile (AL-4)
    const refused = await call(ctx.app, keys.handler, 'POST', '/cases', intake(bare, { isma: true }));
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'connection_not_on_isma', field: 'body.isma' });
    expect(refused.json().message).toMatch(/not on iSMA/);
    expect(await casesOn(bare)).toBe(0);
    const profile = await call(ctx.app, keys.handler, 'POST', '/cases', intake(bare));
    expect(profile.statusCode, profile.body).toBe(201);
    expect(profile.json().isma).toBe(false);
  });

  it('a service provider’s case, or a supplier’s that does not supply the connection, is not iSMA: derived false, isma true 409 isma_party_not_supplier', async () => {
    for (const role of ['service_provider', 'supplier'] as const) {
      const party = await ctx.party([role]);
      const ean = await connection();
      await basis(ean, { method: 'isma', basis: 'supplier_isma_request' }); // sup's request: the connection is on iSMA
      const refused = await call(
        ctx.app,
        keys.handler,
        'POST',
        '/cases',
        intake(ean, { partyGln: party.gln, isma: true }),
      );
      expect(refused.statusCode, role).toBe(409);
      expect(refused.json()).toMatchObject({ code: 'isma_party_not_supplier', field: 'body.isma' });
      expect(await casesOn(ean)).toBe(0);
      const opened = await call(ctx.app, keys.handler, 'POST', '/cases', intake(ean, { partyGln: party.gln }));
      expect(opened.statusCode, opened.body).toBe(201);
      expect(opened.json().isma, role).toBe(false);
    }
  });

  it('iSMA on the customer’s consent does not rest on the supplier’s mandate: derived false, isma true 409 isma_not_supplier_request', async () => {
    const ean = await connection();
    await basis(ean, { method: 'isma', basis: 'customer_consent' });
    const refused = await call(ctx.app, keys.handler, 'POST', '/cases', intake(ean, { isma: true }));
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'isma_not_supplier_request', field: 'body.isma' });
    const opened = await call(ctx.app, keys.handler, 'POST', '/cases', intake(ean));
    expect(opened.statusCode, opened.body).toBe(201);
    expect(opened.json().isma).toBe(false);
  });

  it('a case opened from a GT-9 supplier report derives it too (the signal moment is the report)', async () => {
    const ean = await connection();
    await basis(ean, { method: 'isma', basis: 'supplier_isma_request' });
    const profileSince = new Date(Date.now() - days(2)).toISOString();
    await basis(ean, { method: 'profile', effectiveFrom: profileSince });
    const report = await call(ctx.app, keys.supplier, 'POST', '/supplier-reports', {
      connectionEan: ean,
      signalReceivedAt: new Date(Date.now() - 3_600_000).toISOString(),
      customerSatisfaction: 'unknown',
      findings: 'Klant klaagt over uitlezing',
      actions: 'Klant gebeld',
    });
    expect(report.statusCode, report.body).toBe(201);
    const url = `/supplier-reports/${report.json().id}/cases`;
    const refused = await call(ctx.app, keys.handler, 'POST', url, { isma: true });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'connection_not_on_isma', field: 'body.isma' });
    const opened = await call(ctx.app, keys.handler, 'POST', url, {});
    expect(opened.statusCode, opened.body).toBe(201);
    expect(opened.json()).toMatchObject({ isma: false, channel: 'supplier_report' });
  });
});

describe('more evidence on request (GT-3)', () => {
  it('201 with the unchanged deadline, mailed to the party, listed on the case for handler and party; bad input 400; party may not ask', async () => {
    const { id, row } = await openContactedCase({ isma: false });
    const url = `/cases/${id}/evidence-requests`;
    expect((await call(ctx.app, keys.supplier, 'POST', url, { message: 'x' })).statusCode).toBe(403);
    const empty = await call(ctx.app, keys.handler, 'POST', url, {});
    expect(empty.statusCode).toBe(400);
    expect(empty.json()).toMatchObject({ code: 'invalid_request', field: 'body.message' });
    const blank = await call(ctx.app, keys.handler, 'POST', url, { message: '  ' });
    expect(blank.statusCode).toBe(400);
    expect(blank.json()).toMatchObject({ code: 'message_required', field: 'body.message' });

    const message = 'Stuur het opnamebestand van het telefonisch gegeven mandaat.';
    const res = await call(ctx.app, keys.handler, 'POST', url, { message });
    expect(res.statusCode, res.body).toBe(201);
    const created = res.json();
    expect(created.responseDueAt).toBe(row.responseDueAt!.toISOString());
    const mail = await readMail(
      inject('mailDir'),
      (m) => m.to.includes(sup.mails[0]!) && (m.messageId ?? '').includes(created.requestId),
      20_000,
    );
    expect(mail.text).toContain(message);
    for (let i = 0; i < 100; i++) {
      const [r] = await ctx.db.select().from(evidenceRequests).where(eq(evidenceRequests.id, created.requestId));
      if (r?.mailedAt) break;
      await new Promise((res) => setTimeout(res, 100));
    }

    const full = (await call(ctx.app, keys.handler, 'GET', `/cases/${id}`)).json();
    expect(full.evidenceRequests).toHaveLength(1);
    expect(full.evidenceRequests[0].mail).toMatchObject({ attempts: 1, lastError: null });
    expect(full.evidenceRequests[0].mailedAt).not.toBeNull();
    expect(full.evidenceRequests[0]).toMatchObject({ id: created.requestId, message, requestedBy: expect.any(String) });
    const party = (await call(ctx.app, keys.supplier, 'GET', `/cases/${id}`)).json();
    expect(party.evidenceRequests[0].message).toBe(message);
    expect(party.evidenceRequests[0].requestedBy).toBeUndefined();
    expect(party.evidenceRequests[0].mail).toBeUndefined();
    expect(party.timeline.map((e: { action: string }) => e.action)).toContain('case.evidence_requested');

    // The party answers through the response endpoint as before.
    const answer = await call(ctx.app, keys.supplier, 'POST', `/cases/${id}/responses`, {
      findings: 'Opname bijgevoegd in het dossier.',
      complaintHandling: 'Klant gebeld.',
    });
    expect(answer.statusCode, answer.body).toBe(201);
  });
});

describe('withdrawal (GT-7)', () => {
  it('reason codes: unknown 400 naming it; not_concerning_party answers the wrongful-block effect; the case shows the code', async () => {
    const { id } = await openContactedCase();
    const bad = await call(ctx.app, keys.handler, 'POST', `/cases/${id}/withdraw`, {
      reasonCode: 'changed_mind',
      reason: 'x',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'invalid_request', field: 'body.reasonCode' });
    const res = await call(ctx.app, keys.handler, 'POST', `/cases/${id}/withdraw`, {
      reasonCode: 'not_concerning_party',
      reason: 'De klant bedoelde een andere leverancier.',
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'closed_wrongful_block',
      withdrawal: { reasonCode: 'not_concerning_party', blockedPeriodReleased: true, unblockDeadline: true },
    });
    expect(res.json().withdrawal.effect).toMatch(/Wrongful block/);
    const view = (await call(ctx.app, keys.handler, 'GET', `/cases/${id}`)).json();
    expect(view).toMatchObject({ withdrawalReason: 'not_concerning_party', status: 'closed_wrongful_block' });
    const late = await call(ctx.app, keys.handler, 'POST', `/cases/${id}/evidence-requests`, { message: 'x' });
    expect(late.statusCode).toBe(409);
    expect(late.json().code).toBe('case_closed');
  });
});

describe('OpenAPI', () => {
  it('documents the evidence request with its errors, the withdrawal codes, and isma as optional', async () => {
    const doc = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const op = doc.paths['/cases/{id}/evidence-requests'].post;
    expect(Object.keys(op.responses)).toEqual(
      expect.arrayContaining(['201', '400', '401', '403', '404', '409', '503']),
    );
    expect(op.description).toMatch(/response_window_closed/);
    const withdraw = doc.paths['/cases/{id}/withdraw'].post;
    expect(JSON.stringify(withdraw.requestBody)).toContain('not_concerning_party');
    const create = JSON.stringify(doc.paths['/cases'].post.requestBody);
    expect(create).toContain('connection_not_on_isma');
    expect(create).toContain('isma_party_not_supplier');
    for (const path of ['/cases', '/supplier-reports/{id}/cases']) {
      const schema = doc.paths[path].post.requestBody.content['application/json'].schema;
      expect(schema.properties.isma.type, path).toBe('boolean');
      expect(schema.required ?? [], path).not.toContain('isma');
    }
  });
});
