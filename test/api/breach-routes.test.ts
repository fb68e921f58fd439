/**
 * GT-11 through the API on the real stack (dev server, worker, PostgreSQL): a handler asks for a breach
 * assessment, the privacy officer of the same grid operator decides (another operator's sees nothing), the
 * case shows the clock, the AP report and the art. 34 letter are exported, and the history names the
 * key holder with each entry's chain position.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCaseWithBlock } from '../../db/repositories/cases.js';
import { apiKeys } from '../../db/schema/index.js';
import { generateApiKey } from '../../lib/api-keys.js';
import { call, makeConnection, makeGridUser, makeKey } from '../core/fixtures.js';
import { caseApiContext, type CaseApiContext } from './case-context.js';

let ctx: CaseApiContext;
let caseId: string;
let reference: string;
const keys = {} as Record<'handlerA' | 'officerA' | 'officerB' | 'compliance', string>;

async function officerKey(partyId: string, holderName: string): Promise<string> {
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
  keys.handlerA = await makeKey(ctx.db, 'case-handler', { partyId: opA.id });
  keys.officerA = await officerKey(opA.id, 'M. Visser');
  keys.officerB = await officerKey(opB.id, 'P. Bakker');
  keys.compliance = await makeKey(ctx.db, 'compliance');
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

    const decided = await call(ctx.app, keys.officerA, 'POST', `/breach-assessments/${a.id}/decision`, decision);
    expect(decided.statusCode, decided.body).toBe(200);
    expect(decided.json()).toMatchObject({ clock: 'met', notifyAp: true, decidedByName: 'M. Visser' });
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
});
