/**
 * GT-11 through the API on the real stack (dev server, worker, PostgreSQL): a handler asks for a breach
 * assessment, the privacy officer of the same grid operator decides (another operator's sees nothing), the
 * case shows the clock, the AP report and the art. 34 letter are exported, and the history names the
 * key holder with each entry's chain position. The decision is signed by the key's recorded holder (a key
 * with only a label cannot decide); the party the case is about sees none of the assessment in its timeline;
 * only the compliance officer of the case's grid operator reads its history.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { createCaseWithBlock } from '../../db/repositories/cases.js';
import { apiKeys, auditLog, breachAssessments } from '../../db/schema/index.js';
import { generateApiKey } from '../../lib/api-keys.js';
import { call, makeConnection, makeGridUser, makeKey } from '../core/fixtures.js';
import { caseApiContext, type CaseApiContext } from './case-context.js';
import { callAs, makePerson, steppedUp, stepUpRecord } from './person.js';

let ctx: CaseApiContext;
let caseId: string;
let reference: string;
let opAId: string;
let supplierId: string;
const keys = {} as Record<
  'handlerA' | 'officerA' | 'officerB' | 'officerDesk' | 'compliance' | 'complianceB' | 'supplier',
  string
>;

async function officerKey(partyId: string, holderName: string | null): Promise<string> {
  const k = generateApiKey();
  await ctx.db
    .insert(apiKeys)
    .values({ keyHash: k.hash, prefix: k.prefix, label: 'FG', holderName, role: 'privacy-officer', partyId });
  return `Bearer ${k.key}`;
}

beforeAll(async () => {
  ctx = await caseApiContext('breach_routes');
  const opA = await ctx.party(['grid_operator']);
  const opB = await ctx.party(['grid_operator']);
  const sup = await ctx.party(['supplier']);
  opAId = opA.id;
  supplierId = sup.id;
  keys.handlerA = await makeKey(ctx.db, 'case-handler', { partyId: opA.id });
  keys.officerA = await officerKey(opA.id, 'M. Visser');
  keys.officerB = await officerKey(opB.id, 'P. Bakker');
  // A privacy officer's key with a label ('FG') and no recorded holder: it cannot sign a decision.
  keys.officerDesk = await officerKey(opA.id, null);
  keys.compliance = await makeKey(ctx.db, 'compliance', { partyId: opA.id, holderName: 'C. de Jong' });
  keys.complianceB = await makeKey(ctx.db, 'compliance', { partyId: opB.id, holderName: 'D. Dekker' });
  keys.supplier = await makeKey(ctx.db, 'supplier', { partyId: sup.id });
  const gu = await makeGridUser(ctx.db, 'mevrouw A. Jansen');
  const conn = await makeConnection(ctx.db, { gridOperatorId: opA.id, gridUserId: gu.id });
  const { row } = await createCaseWithBlock(ctx.db, {
    actor: 'test',
    actorRole: 'case-handler',
    gridOperatorId: opA.id,
    partyId: sup.id,
    connectionEan: conn.ean,
    channel: 'customer',
    receivedAt: new Date(),
    reporterName: 'Klant',
    description: 'Onbekende opvragingen',
    isma: false,
    at: new Date(),
  });
  caseId = row.id;
  reference = row.reference;
});
afterAll(async () => {
  await ctx?.close();
});

describe('breach assessment routes (GT-11)', () => {
  it('a handler asks, the own privacy officer decides, another operator sees nothing', async () => {
    const opened = await call(ctx.app, keys.handlerA, 'POST', `/cases/${caseId}/breach-assessment`);
    expect(opened.statusCode, opened.body).toBe(201);
    const a = opened.json();
    expect(a).toMatchObject({ caseId, trigger: 'handler_request', clock: 'running', prefill: { deliveries: 0 } });
    const again = await call(ctx.app, keys.handlerA, 'POST', `/cases/${caseId}/breach-assessment`);
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(a.id);

    expect((await call(ctx.app, keys.officerB, 'GET', `/breach-assessments/${a.id}`)).statusCode).toBe(404);
    expect((await call(ctx.app, keys.officerB, 'GET', '/breach-assessments')).json().items).toEqual([]);
    expect((await call(ctx.app, keys.officerA, 'GET', '/breach-assessments')).json().total).toBe(1);

    const decision = { notifyAp: true, informGridUser: true, assessment: 'Mogelijk onrechtmatig verstrekt' };
    expect(
      (await call(ctx.app, keys.handlerA, 'POST', `/breach-assessments/${a.id}/decision`, decision)).statusCode,
    ).toBe(403);
    expect(
      (await call(ctx.app, keys.officerB, 'POST', `/breach-assessments/${a.id}/decision`, decision)).statusCode,
    ).toBe(404);
    const incomplete = await call(ctx.app, keys.officerA, 'POST', `/breach-assessments/${a.id}/decision`, {
      ...decision,
      notifyAp: false,
    });
    expect(incomplete.statusCode).toBe(400);
    expect(incomplete.json()).toMatchObject({ code: 'breach_decision_incomplete', field: 'body.apReason' });

    // The label is not a signature: a key without a recorded holder is refused, nothing is decided.
    const unsigned = await call(ctx.app, keys.officerDesk, 'POST', `/breach-assessments/${a.id}/decision`, decision);
    expect(unsigned.statusCode).toBe(403);
    expect(unsigned.json()).toMatchObject({ code: 'key_holder_required' });
    const [still] = await ctx.db.select().from(breachAssessments).where(eq(breachAssessments.id, a.id));
    expect(still!.decidedAt).toBeNull();

    const decided = await call(ctx.app, keys.officerA, 'POST', `/breach-assessments/${a.id}/decision`, decision);
    expect(decided.statusCode, decided.body).toBe(200);
    expect(decided.json()).toMatchObject({
      clock: 'met',
      notifyAp: true,
      decidedByName: 'M. Visser',
      decidedByRole: 'privacy-officer',
    });
    expect(decided.json().decidedBy).toMatch(/^api-key:/);
    const [entry] = await ctx.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entityId, caseId), eq(auditLog.action, 'breach.decided')));
    expect(entry).toMatchObject({
      actor: decided.json().decidedBy,
      actorName: 'M. Visser',
      actorRole: 'privacy-officer',
    });
    // Issue 19: the decision's own entry says it was signed by the key's recorded holder (a key: no step-up).
    expect(entry!.data['signedWith']).toEqual({
      kind: 'key_holder',
      keyId: entry!.actor.slice('api-key:'.length),
      holderName: 'M. Visser',
    });
    const twice = await call(ctx.app, keys.officerA, 'POST', `/breach-assessments/${a.id}/decision`, decision);
    expect(twice.statusCode).toBe(409);

    const inCase = await call(ctx.app, keys.handlerA, 'GET', `/cases/${caseId}/breach-assessment`);
    expect(inCase.json()).toMatchObject({ id: a.id, clock: 'met' });

    const report = await call(ctx.app, keys.officerA, 'GET', `/breach-assessments/${a.id}/ap-report`);
    expect(report.statusCode).toBe(200);
    expect(report.headers['content-disposition']).toBe(`attachment; filename="ap-melding-${reference}.json"`);
    expect(report.json()).toMatchObject({ status: 'to_be_notified', clock: 'met', decidedBy: 'M. Visser' });
    const letter = await call(ctx.app, keys.officerA, 'GET', `/breach-assessments/${a.id}/grid-user-letter`);
    expect(letter.statusCode).toBe(200);
    expect(letter.headers['content-type']).toMatch(/^text\/plain/);
    expect(letter.body).toContain('Geachte mevrouw A. Jansen,');
    expect(letter.body).toContain('geen meetgegevens daadwerkelijk geleverd');
  });

  it("the case history names the key holder and gives each audit entry's chain position", async () => {
    const res = await call(ctx.app, keys.compliance, 'GET', `/cases/${caseId}/history`);
    expect(res.statusCode, res.body).toBe(200);
    const entries: { source: string; type: string; actorName?: string; actorRole?: string; chainPosition?: number }[] =
      res.json().entries;
    const decided = entries.find((e) => e.type === 'breach.decided');
    expect(decided).toMatchObject({ actorName: 'M. Visser', actorRole: 'privacy-officer' });
    for (const e of entries.filter((x) => x.source === 'database')) expect(e.chainPosition).toBeGreaterThan(0);
    const v = await call(ctx.app, keys.compliance, 'GET', '/audit/verify');
    expect(v.json()).toMatchObject({ intact: true, firstBroken: null });
  });

  it('the party’s timeline of its case shows none of the breach assessment: not that it was opened, nor its clock', async () => {
    const handlerView = (await call(ctx.app, keys.handlerA, 'GET', `/cases/${caseId}`)).json();
    const internal = handlerView.timeline.map((e: { action: string }) => e.action);
    expect(internal).toEqual(expect.arrayContaining(['breach.opened', 'breach.decided']));
    const party = await call(ctx.app, keys.supplier, 'GET', `/cases/${caseId}`);
    expect(party.statusCode, party.body).toBe(200);
    const actions: string[] = party.json().timeline.map((e: { action: string }) => e.action);
    expect(actions).toContain('case.opened');
    expect(actions.filter((a) => !a.startsWith('case.') && !a.startsWith('block.'))).toEqual([]);
    expect(party.body).not.toMatch(/breach\.|breach_assessment|assessmentId/);
    // Nor can it reach the assessment itself.
    expect((await call(ctx.app, keys.supplier, 'GET', `/cases/${caseId}/breach-assessment`)).statusCode).toBe(403);
  });

  it('another grid operator’s compliance officer does not read the case or its history', async () => {
    expect((await call(ctx.app, keys.complianceB, 'GET', `/cases/${caseId}/history`)).statusCode).toBe(404);
    expect((await call(ctx.app, keys.complianceB, 'GET', `/cases/${caseId}`)).statusCode).toBe(404);
    expect((await call(ctx.app, keys.complianceB, 'GET', '/breach-assessments')).json().items).toEqual([]);
  });

  it('a privacy officer in the console signs the decision only with a fresh authentication, and its entry records it (issue 19)', async () => {
    const conn = await makeConnection(ctx.db, { gridOperatorId: opAId });
    const { row } = await createCaseWithBlock(ctx.db, {
      actor: 'test',
      actorRole: 'case-handler',
      gridOperatorId: opAId,
      partyId: supplierId,
      connectionEan: conn.ean,
      channel: 'customer',
      receivedAt: new Date(),
      reporterName: 'Klant',
      description: 'Onbekende opvragingen',
      isma: false,
      at: new Date(),
    });
    const opened = await call(ctx.app, keys.handlerA, 'POST', `/cases/${row.id}/breach-assessment`);
    expect(opened.statusCode, opened.body).toBe(201);
    const id: string = opened.json().id;
    const officer = await makePerson(ctx.db, 'Fleur de Graaf', 'privacy-officer', opAId);
    const decision = {
      notifyAp: false,
      apReason: 'Geen gegevens geleverd',
      informGridUser: false,
      gridUserReason: 'Geen risico',
      assessment: 'Geen levering',
    };

    // Signed in, no step-up: refused, nothing decided.
    const refused = await callAs(ctx.app, officer, 'POST', `/breach-assessments/${id}/decision`, decision);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'step_up_required' });
    const [still] = await ctx.db.select().from(breachAssessments).where(eq(breachAssessments.id, id));
    expect(still!.decidedAt).toBeNull();

    const signer = steppedUp(officer, 30_000, null, ['pwd']);
    const decided = await callAs(ctx.app, signer, 'POST', `/breach-assessments/${id}/decision`, decision);
    expect(decided.statusCode, decided.body).toBe(200);
    expect(decided.json()).toMatchObject({ decidedBy: `user:${officer.id}`, decidedByName: 'Fleur de Graaf' });
    const [entry] = await ctx.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entityId, row.id), eq(auditLog.action, 'breach.decided')));
    expect(entry).toMatchObject({
      actor: `user:${officer.id}`,
      actorName: 'Fleur de Graaf',
      actorRole: 'privacy-officer',
    });
    expect(entry!.data['signedWith']).toEqual(stepUpRecord(signer));
    expect(entry!.data['signedWith']).toEqual({
      kind: 'step_up',
      authenticatedAt: new Date(signer.stepUp.at).toISOString(),
      acr: null,
      amr: ['pwd'],
    });
  });
});
