/**
 * No leak through answers (issue 9), on the real stack: the party's view of a case names no person or key
 * of the grid operator (responses[].judgedBy); a case handler PUTting a block under another operator's case
 * id gets the same 404 as a read; the development mail view shows a case handler only its own operator's
 * mail (real mails through the real SMTP capture) and does not exist in production.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp, type App } from '../../api/app.js';
import { createDb } from '../../db/client.js';
import { doubtCases } from '../../db/schema/index.js';
import { createMailer } from '../../notifications/mailer.js';
import { call, days, iso, makeCase, makeConnection, makeKey, makeMandate, makeParty } from '../core/fixtures.js';
import { placeBlock } from '../../db/repositories/blocks.js';
import { freshDatabase, readMail, testConfig } from '../helpers/index.js';
import { caseApiContext, smallPdf, tag, type CaseApiContext } from './case-context.js';

let ctx: CaseApiContext;
beforeAll(async () => {
  ctx = await caseApiContext('no_leaks');
});
afterAll(async () => ctx?.close());

describe('the party’s view of its case', () => {
  it('shows the judgement, not who judged (judgedBy) nor any key of the grid operator', async () => {
    const operator = await ctx.party(['grid_operator']);
    const supplier = await ctx.party(['supplier']);
    const conn = await makeConnection(ctx.db, { gridOperatorId: operator.id, supplierId: supplier.id });
    await makeMandate(ctx.db, { partyId: supplier.id, connectionEan: conn.ean });
    const handlerKey = await makeKey(ctx.db, 'case-handler', { partyId: operator.id, holderName: 'H. de Wit' });
    const supplierKey = await makeKey(ctx.db, 'supplier', { partyId: supplier.id });
    const opened = await call(ctx.app, handlerKey, 'POST', '/cases', {
      connectionEan: conn.ean,
      partyGln: supplier.gln,
      channel: 'customer',
      receivedAt: iso(Date.now() - 60_000),
      reporterName: 'J. de Vries',
      description: 'Kwartierwaarden opgevraagd zonder machtiging',
      isma: false,
    });
    expect(opened.statusCode, opened.body).toBe(201);
    const id: string = opened.json().id;
    await ctx.waitForCase(id, (r) => r.contactedAt !== null);
    const answered = await call(ctx.app, supplierKey, 'POST', `/cases/${id}/responses`, {
      findings: 'Machtiging via website',
      complaintHandling: 'Klant gebeld',
      evidence: {
        filename: 'machtiging.pdf',
        contentType: 'application/pdf',
        contentBase64: smallPdf().toString('base64'),
      },
    });
    expect(answered.statusCode, answered.body).toBe(201);
    const judged = await call(ctx.app, handlerKey, 'POST', `/cases/${id}/judgements`, {
      responseId: answered.json().response.id,
      decision: 'reject',
      reason: 'Handtekening ontbreekt',
    });
    expect(judged.statusCode, judged.body).toBe(200);

    const handlerView = (await call(ctx.app, handlerKey, 'GET', `/cases/${id}`)).json();
    const judgedBy: string = handlerView.responses[0].judgedBy;
    expect(judgedBy).toMatch(/^api-key:/);
    const partyView = await call(ctx.app, supplierKey, 'GET', `/cases/${id}`);
    expect(partyView.statusCode).toBe(200);
    expect(partyView.json().responses[0]).toMatchObject({ judgement: 'rejected', judgedBy: null });
    expect(partyView.json().closedBy).toBeNull();
    expect(partyView.body).not.toContain(judgedBy.slice('api-key:'.length));
  });
});

describe('blocks under another operator’s case', () => {
  it('a read gets 404 naming nothing of the other operator; there is no PUT to probe with (issue 18)', async () => {
    const opA = await ctx.party(['grid_operator']);
    const opB = await ctx.party(['grid_operator']);
    const provider = await ctx.party(['service_provider']);
    const handlerA = await makeKey(ctx.db, 'case-handler', { partyId: opA.id });
    const handlerB = await makeKey(ctx.db, 'case-handler', { partyId: opB.id });
    const connA = await makeConnection(ctx.db, { gridOperatorId: opA.id });
    const connB = await makeConnection(ctx.db, { gridOperatorId: opB.id });
    const kase = await makeCase(ctx.db, { partyId: provider.id, connectionEan: connB.ean, gridOperatorId: opB.id });
    await placeBlock(ctx.db, {
      actor: 'test',
      caseId: kase.id,
      partyId: provider.id,
      connectionEan: connB.ean,
      at: new Date(),
    });
    expect((await call(ctx.app, handlerB, 'GET', `/blocks/${kase.id}`)).statusCode).toBe(200);

    const read = await call(ctx.app, handlerA, 'GET', `/blocks/${kase.id}`);
    expect(read.statusCode).toBe(404);
    expect(read.body).not.toContain(connB.ean);
    expect(read.body).not.toContain(provider.id);
    const put = await call(ctx.app, handlerA, 'PUT', `/blocks/${kase.id}`, {
      partyGln: provider.gln,
      connectionEan: connA.ean,
    });
    expect(put.statusCode).toBe(404);
    expect(put.body).not.toContain(connB.ean);
  });
});

describe('the development mail view', () => {
  let dev: App;
  let prod: App;
  let close: () => Promise<void>;
  beforeAll(async () => {
    const fresh = await freshDatabase('no_leaks_mail');
    const handle = createDb(fresh.url, { max: 4 });
    dev = await buildApp({
      config: testConfig({ NODE_ENV: 'development' }),
      db: handle.db,
      sql: handle.sql,
      mailCaptureDir: inject('mailDir'),
      logger: false,
    });
    prod = await buildApp({
      config: testConfig({
        NODE_ENV: 'production',
        ACM_REPORT_EMAIL: 'meldingen@acm.example',
        PUBLIC_URL: 'https://gerede-twijfel.example',
      }),
      db: handle.db,
      sql: handle.sql,
      mailCaptureDir: inject('mailDir'),
      logger: false,
    });
    await Promise.all([dev.ready(), prod.ready()]);
    close = async () => {
      await dev.close();
      await prod.close();
      await handle.close();
      await fresh.drop();
    };
    // Cases of two grid operators, and a real mail about each through the real SMTP capture.
    const db = handle.db;
    const opA = await makeParty(db, ['grid_operator']);
    const opB = await makeParty(db, ['grid_operator']);
    const supplier = await makeParty(db, ['supplier']);
    const ids: Record<'A' | 'B', string> = { A: randomUUID(), B: randomUUID() };
    for (const [k, op] of [
      ['A', opA],
      ['B', opB],
    ] as const) {
      const conn = await makeConnection(db, { gridOperatorId: op.id });
      await db.insert(doubtCases).values({
        id: ids[k],
        reference: `LEAK-${tag()}`,
        gridOperatorId: op.id,
        partyId: supplier.id,
        connectionEan: conn.ean,
        channel: 'acm',
        receivedAt: new Date(),
        reporterName: 'x',
        description: 'x',
        isma: false,
        status: 'blocked',
        contactDueAt: new Date(Date.now() + days(1)),
        createdBy: 'test',
      });
    }
    const mailer = createMailer(inject('smtpUrl'), { from: 'gerede-twijfel@netbeheer.example' });
    const run = tag();
    for (const k of ['A', 'B'] as const) {
      await mailer.send({
        to: ['meldingen@acm.example'],
        subject: `ACM ${k} ${run}`,
        text: `report ${k}`,
        html: `<p>report ${k}</p>`,
        headers: { 'X-Case-Id': ids[k] },
      });
    }
    await mailer.send({
      to: ['x@party.example'],
      subject: `review ${run}`,
      text: 'review',
      html: '<p>review</p>',
      headers: { 'X-Improvement-Review-Id': randomUUID() },
    });
    mailer.close();
    for (const s of [`ACM A ${run}`, `ACM B ${run}`, `review ${run}`])
      await readMail(inject('mailDir'), (m) => m.subject === s);
    Object.assign(state, {
      run,
      keyA: await makeKey(db, 'case-handler', { partyId: opA.id }),
      keyB: await makeKey(db, 'case-handler', { partyId: opB.id }),
      admin: await makeKey(db, 'admin'),
    });
  });
  afterAll(async () => close?.());
  const state = { run: '', keyA: '', keyB: '', admin: '' };
  const subjects = async (app: App, key: string) =>
    ((await call(app, key, 'GET', '/dev/mail?limit=500')).json().items as Array<{ subject: string }>)
      .map((m) => m.subject)
      .filter((s) => s.endsWith(state.run))
      .sort();

  it('shows a case handler its own grid operator’s mail only; an admin all', async () => {
    expect(await subjects(dev, state.keyA)).toEqual([`ACM A ${state.run}`]);
    expect(await subjects(dev, state.keyB)).toEqual([`ACM B ${state.run}`]);
    expect(await subjects(dev, state.admin)).toEqual([
      `ACM A ${state.run}`,
      `ACM B ${state.run}`,
      `review ${state.run}`,
    ]);
  });

  it('does not exist in production', async () => {
    const res = await call(prod, state.admin, 'GET', '/dev/mail');
    expect(res.statusCode).toBe(404);
  });
});
