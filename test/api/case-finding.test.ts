/**
 * Issue 10 on the real stack (Fastify → case service → Temporal dev server with this file's worker →
 * PostgreSQL, SMTP capture): a handler holding a complaint letter finds its case by connection EAN, case
 * reference, party GLN, the reporter's own reference or the source's reference, within what it may see; an
 * unknown query parameter is a 400 naming it; and the parties of a case look up each other's doubt contact
 * group (GT-10, seed 000 §4), open or closed, while every other party's contacts stay private (404), each
 * lookup recorded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { auditLog, contactPersons, DOUBT_CONTACT_GROUP } from '../../db/schema/index.js';
import { badCheckDigit, call, makeConnection, makeKey, makeMandate, newEan, newGln } from '../core/fixtures.js';
import { caseApiContext, tag, type CaseApiContext } from './case-context.js';

type Party = Awaited<ReturnType<CaseApiContext['party']>>;
interface Summary {
  id: string;
  reference: string;
  connectionEan: string;
}

let ctx: CaseApiContext;
let opA: Party;
let opB: Party;
let supS: Party;
let supT: Party;
const keys: Record<'handlerA' | 'handlerB' | 'supplierS' | 'supplierT' | 'p4S' | 'compliance' | 'complianceB', string> =
  {} as never;
/** Two cases of operator A about S (one closed), one of operator B about S, one of A about T. */
const cases: Record<'a1' | 'a2' | 'b1' | 'aT', Summary & { reporterReference: string; externalReference: string }> =
  {} as never;

async function open(op: Party, handler: string, party: Party, extra: Record<string, unknown> = {}) {
  const c = await makeConnection(ctx.db, { gridOperatorId: op.id, supplierId: party.id });
  await makeMandate(ctx.db, { partyId: party.id, connectionEan: c.ean });
  const reporterReference = `KLACHT-${tag()}`;
  const externalReference = `CW-${tag()}`;
  const res = await call(ctx.app, handler, 'POST', '/cases', {
    connectionEan: c.ean,
    partyGln: party.gln,
    channel: 'consuwijzer',
    receivedAt: new Date(Date.now() - 60_000).toISOString(),
    reporterName: 'Klant via ConsuWijzer',
    reporterContact: 'klant@example.nl',
    reporterReference,
    externalReference,
    description: 'Klant ziet P4-opvragingen zonder machtiging',
    isma: false,
    ...extra,
  });
  expect(res.statusCode, res.body).toBe(201);
  return { ...(res.json() as Summary), reporterReference, externalReference };
}

const list = async (key: string, query: string) => {
  const res = await call(ctx.app, key, 'GET', `/cases?${query}`);
  expect(res.statusCode, `${query}: ${res.body}`).toBe(200);
  return (res.json() as { items: Summary[]; total: number }).items.map((c) => c.id).sort();
};
const ids = (...cs: Summary[]) => cs.map((c) => c.id).sort();

beforeAll(async () => {
  ctx = await caseApiContext('case_finding');
  opA = await ctx.party(['grid_operator'], 2);
  opB = await ctx.party(['grid_operator']);
  supS = await ctx.party(['supplier']);
  supT = await ctx.party(['service_provider']);
  keys.handlerA = await makeKey(ctx.db, 'case-handler', { partyId: opA.id });
  keys.handlerB = await makeKey(ctx.db, 'case-handler', { partyId: opB.id });
  keys.supplierS = await makeKey(ctx.db, 'supplier', { partyId: supS.id });
  keys.supplierT = await makeKey(ctx.db, 'supplier', { partyId: supT.id });
  keys.p4S = await makeKey(ctx.db, 'p4-client', { partyId: supS.id });
  // Compliance officers of A and of B: each reads its own grid operator's case files.
  keys.compliance = await makeKey(ctx.db, 'compliance', { partyId: opA.id });
  keys.complianceB = await makeKey(ctx.db, 'compliance', { partyId: opB.id });
  cases.a1 = await open(opA, keys.handlerA, supS);
  cases.a2 = await open(opA, keys.handlerA, supS);
  cases.b1 = await open(opB, keys.handlerB, supS);
  cases.aT = await open(opA, keys.handlerA, supT);
  // a2 closes: the lookup below must not depend on the case being open.
  await ctx.waitForCase(cases.a2.id, (r) => r.status === 'awaiting_response', 60_000);
  const withdrawn = await call(ctx.app, keys.handlerA, 'POST', `/cases/${cases.a2.id}/withdraw`, {
    reason: 'Dubbele melding',
  });
  expect(withdrawn.statusCode, withdrawn.body).toBe(200);
  await ctx.waitForCase(cases.a2.id, (r) => r.status.startsWith('closed'), 60_000);
}, 180_000);
afterAll(async () => ctx?.close());

describe('finding a case from a complaint letter (GET /cases filters)', () => {
  it('by connection EAN, case reference, party GLN, reporter reference and external reference', async () => {
    const h = keys.handlerA;
    expect(await list(h, `connectionEan=${cases.a1.connectionEan}`)).toEqual(ids(cases.a1));
    expect(await list(h, `reference=${cases.a2.reference}`)).toEqual(ids(cases.a2));
    expect(await list(h, `partyGln=${supT.gln}`)).toEqual(ids(cases.aT));
    expect(await list(h, `reporterReference=${cases.a1.reporterReference}`)).toEqual(ids(cases.a1));
    expect(await list(h, `externalReference=${cases.aT.externalReference}`)).toEqual(ids(cases.aT));
    // Filters combine: all must hold.
    expect(await list(h, `partyGln=${supS.gln}&connectionEan=${cases.aT.connectionEan}`)).toEqual([]);
    expect(await list(h, `partyGln=${supS.gln}&status=closed_withdrawn`)).toEqual(ids(cases.a2));
    // Matched exactly as recorded: a part of a reference finds nothing.
    expect(await list(h, `reporterReference=${cases.a1.reporterReference.slice(0, -1)}`)).toEqual([]);
    expect(await list(h, `connectionEan=${newEan()}`)).toEqual([]);
  });

  it('within what the caller may see: another operator’s case is not found by its reference', async () => {
    expect(await list(keys.handlerB, `reference=${cases.a1.reference}`)).toEqual([]);
    expect(await list(keys.handlerB, `reference=${cases.b1.reference}`)).toEqual(ids(cases.b1));
    expect(await list(keys.supplierT, `connectionEan=${cases.a1.connectionEan}`)).toEqual([]);
    expect(await list(keys.supplierS, `reference=${cases.b1.reference}`)).toEqual(ids(cases.b1));
    expect(await list(keys.complianceB, `reporterReference=${cases.b1.reporterReference}`)).toEqual(ids(cases.b1));
    expect(await list(keys.compliance, `reporterReference=${cases.b1.reporterReference}`)).toEqual([]);
  });

  it('the reporter reference is the operator’s: shown to its handler, neither shown to nor searchable by the party', async () => {
    const handlerView = (await call(ctx.app, keys.handlerA, 'GET', `/cases/${cases.a1.id}`)).json();
    expect(handlerView.reporterReference).toBe(cases.a1.reporterReference);
    const partyView = (await call(ctx.app, keys.supplierS, 'GET', `/cases/${cases.a1.id}`)).json();
    expect(partyView).not.toHaveProperty('reporterReference');
    const refused = await call(
      ctx.app,
      keys.supplierS,
      'GET',
      `/cases?reporterReference=${cases.a1.reporterReference}`,
    );
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ code: 'filter_not_allowed', field: 'querystring.reporterReference' });
  });

  it('bad filters are a 400 naming the field: unknown parameter, malformed reference, EAN or GLN', async () => {
    for (const [query, code, field] of [
      [`partygln=${supS.gln}`, 'unknown_query_parameter', 'querystring.partygln'],
      [`ean=${cases.a1.connectionEan}`, 'unknown_query_parameter', 'querystring.ean'],
      ['reference=42', 'invalid_request', 'querystring.reference'],
      ['connectionEan=1234', 'invalid_request', 'querystring.connectionEan'],
      [`reporterReference=${'x'.repeat(101)}`, 'invalid_request', 'querystring.reporterReference'],
      [`partyGln=${badCheckDigit(supS.gln)}`, 'invalid_gln', 'query.partyGln'],
    ] as const) {
      const res = await call(ctx.app, keys.handlerA, 'GET', `/cases?${query}`);
      expect(res.statusCode, `${query}: ${res.body}`).toBe(400);
      expect(res.json(), query).toMatchObject({ code, field, message: expect.any(String) });
    }
  });

  it('intake takes reporterReference up to 100 characters; longer is a 400 and opens nothing', async () => {
    const c = await makeConnection(ctx.db, { gridOperatorId: opA.id, supplierId: supS.id });
    const res = await call(ctx.app, keys.handlerA, 'POST', '/cases', {
      connectionEan: c.ean,
      partyGln: supS.gln,
      channel: 'customer',
      receivedAt: new Date(Date.now() - 60_000).toISOString(),
      reporterName: 'Klant',
      reporterReference: 'x'.repeat(101),
      description: 'P4-opvragingen zonder machtiging',
      isma: false,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ field: 'body.reporterReference' });
    expect(await list(keys.handlerA, `connectionEan=${c.ean}`)).toEqual([]);
  });
});

describe('the doubt contact group of the other side of a case (GT-10, seed 000 §4)', () => {
  const lookUp = (key: string, gln: string) => call(ctx.app, key, 'GET', `/parties/${gln}/doubt-contacts`);
  const consulted = (partyId: string) =>
    ctx.db
      .select()
      .from(auditLog)
      .where(
        and(
          eq(auditLog.entityType, 'party'),
          eq(auditLog.entityId, partyId),
          eq(auditLog.action, 'contact_group.consulted'),
        ),
      );

  it('a supplier or service provider sees the group of a grid operator it has a case with, recorded', async () => {
    // Operator A also keeps another group and a removed member: neither is shown.
    await ctx.db
      .insert(contactPersons)
      .values({ partyId: opA.id, contactGroup: 'facturatie', name: 'Billing', email: `billing-${tag()}@a.example` });
    const [removed] = await ctx.db
      .insert(contactPersons)
      .values({
        partyId: opA.id,
        contactGroup: DOUBT_CONTACT_GROUP,
        name: 'Former',
        email: `former-${tag()}@a.example`,
        removedAt: new Date(),
      })
      .returning();
    const before = (await consulted(opA.id)).length;
    for (const key of [keys.supplierS, keys.supplierT]) {
      const res = await lookUp(key, opA.gln);
      expect(res.statusCode, res.body).toBe(200);
      const items = (res.json() as { items: { email: string; contactGroup: string }[] }).items;
      expect(items.map((i) => i.email).sort()).toEqual([...opA.mails].sort());
      expect(items.every((i) => i.contactGroup === DOUBT_CONTACT_GROUP)).toBe(true);
      expect(items.map((i) => i.email)).not.toContain(removed!.email);
    }
    const entries = await consulted(opA.id);
    expect(entries).toHaveLength(before + 2);
    expect(entries.at(-1)).toMatchObject({ actorRole: 'supplier', actorPartyId: supT.id });
    expect((entries.at(-1)!.data as { contacts: string[] }).contacts).toHaveLength(opA.mails.length);
  });

  it('the case handler sees the group of a party its operator has a case about; the closed case counts', async () => {
    const res = await lookUp(keys.handlerA, supS.gln);
    expect(res.statusCode, res.body).toBe(200);
    expect((res.json() as { items: { email: string }[] }).items.map((i) => i.email)).toEqual(supS.mails);
    // B's only case about T? none: B has no case with T.
    const none = await lookUp(keys.handlerB, supT.gln);
    expect(none.statusCode).toBe(404);
    expect(none.json()).toMatchObject({ code: 'contact_group_not_found', field: 'params.gln' });
  });

  it('a case only closed still counts; a party without any case sees nothing (404, not 403)', async () => {
    const opC = await ctx.party(['grid_operator']);
    const supU = await ctx.party(['supplier']);
    const keyU = await makeKey(ctx.db, 'supplier', { partyId: supU.id });
    const handlerC = await makeKey(ctx.db, 'case-handler', { partyId: opC.id });
    const before = await lookUp(keyU, opC.gln);
    expect(before.statusCode).toBe(404);
    expect(before.json()).toMatchObject({ code: 'contact_group_not_found' });
    const c = await open(opC, handlerC, supU);
    await ctx.waitForCase(c.id, (r) => r.status === 'awaiting_response', 60_000);
    const withdrawn = await call(ctx.app, handlerC, 'POST', `/cases/${c.id}/withdraw`, { reason: 'Dubbel' });
    expect(withdrawn.statusCode, withdrawn.body).toBe(200);
    await ctx.waitForCase(c.id, (r) => r.status.startsWith('closed'), 60_000);
    const after = await lookUp(keyU, opC.gln);
    expect(after.statusCode, after.body).toBe(200);
    expect((after.json() as { items: { email: string }[] }).items.map((i) => i.email)).toEqual(opC.mails);
  });

  it('every other lookup of another party’s contacts is private: 404, nothing recorded', async () => {
    const before = (await consulted(supT.id)).length + (await consulted(opB.id)).length;
    // A supplier of another supplier, an operator without a case with the party, a general contacts read.
    for (const [key, gln, path, code] of [
      [keys.supplierS, supT.gln, 'doubt-contacts', 'contact_group_not_found'],
      [keys.supplierT, opB.gln, 'doubt-contacts', 'contact_group_not_found'],
      [keys.supplierS, opA.gln, 'contacts', 'contacts_not_found'],
      [keys.handlerA, supS.gln, 'contacts', 'contacts_not_found'],
    ] as const) {
      const res = await call(ctx.app, key, 'GET', `/parties/${gln}/${path}`);
      expect(res.statusCode, `${path} ${res.body}`).toBe(404);
      expect(res.json()).toMatchObject({ code, field: 'params.gln' });
    }
    expect((await consulted(supT.id)).length + (await consulted(opB.id)).length).toBe(before);
    // Roles that do not consult contact groups are refused by role; an unknown GLN is not found.
    expect((await lookUp(keys.p4S, opA.gln)).statusCode).toBe(403);
    const unknown = await lookUp(keys.supplierS, newGln());
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'party_not_found', field: 'params.gln' });
  });

  it('its own group a party reads without a case and without a record; compliance that of its operator’s counterpart', async () => {
    const before = (await consulted(supT.id)).length;
    const own = await lookUp(keys.supplierT, supT.gln);
    expect(own.statusCode).toBe(200);
    expect((own.json() as { items: { email: string }[] }).items.map((i) => i.email)).toEqual(supT.mails);
    expect(await consulted(supT.id)).toHaveLength(before);
    const compliance = await lookUp(keys.compliance, supT.gln);
    expect(compliance.statusCode).toBe(200);
    expect(await consulted(supT.id)).toHaveLength(before + 1);
    // B's compliance officer: B has no case about T, so T's group is not B's to read.
    expect((await lookUp(keys.complianceB, supT.gln)).statusCode).toBe(404);
  });
});
