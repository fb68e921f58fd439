/**
 * The handler sees what it judges (GT-3, GT-8) on the real stack: Fastify → services → PostgreSQL, the case
 * workflow on the Java time-skipping server (caseApiContext timeSkipping), real SMTP capture. Download with
 * metadata and SHA-256, every opening recorded; a legal hold keeps the copy beyond the decision until it is
 * released; without one the copy goes at an acceptance, and after "not demonstrated" once the GT-11
 * assessment and any GT-5 review citing the case are closed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { createHash, randomUUID } from 'node:crypto';
import { apiKeys, breachAssessments, caseResponses, improvementReviews, reviewSignals } from '../../db/schema/index.js';
import { generateApiKey } from '../../lib/api-keys.js';
import { closeReview } from '../../services/reviews/steps.js';
import { caseAuditTrail } from '../../db/repositories/cases.js';
import { call, makeConnection, makeKey, makeMandate } from '../core/fixtures.js';
import { caseApiContext, smallPdf, type CaseApiContext } from './case-context.js';

const HOUR = 3_600_000;
let ctx: CaseApiContext;
let op: Awaited<ReturnType<CaseApiContext['party']>>;
let sup: Awaited<ReturnType<CaseApiContext['party']>>;
const keys = {} as Record<'handler' | 'otherHandler' | 'supplier' | 'compliance', string>;

beforeAll(async () => {
  ctx = await caseApiContext('case_evidence', {}, { timeSkipping: true });
  op = await ctx.party(['grid_operator']);
  const other = await ctx.party(['grid_operator']);
  sup = await ctx.party(['supplier']);
  keys.handler = await makeKey(ctx.db, 'case-handler', { partyId: op.id, holderName: 'H. de Wit' });
  keys.otherHandler = await makeKey(ctx.db, 'case-handler', { partyId: other.id });
  keys.supplier = await makeKey(ctx.db, 'supplier', { partyId: sup.id });
  keys.compliance = await makeKey(ctx.db, 'compliance', { partyId: op.id });
});
afterAll(async () => ctx?.close());

async function caseWithEvidence(pdf: Buffer) {
  const conn = await makeConnection(ctx.db, { gridOperatorId: op.id, supplierId: sup.id });
  await makeMandate(ctx.db, { partyId: sup.id, connectionEan: conn.ean });
  const opened = await call(ctx.app, keys.handler, 'POST', '/cases', {
    connectionEan: conn.ean,
    partyGln: sup.gln,
    channel: 'customer',
    receivedAt: new Date(Date.now() - 60_000).toISOString(),
    reporterName: 'J. de Vries',
    description: 'Klant ziet P4-opvragingen zonder machtiging',
    isma: false,
  });
  expect(opened.statusCode, opened.body).toBe(201);
  const caseId: string = opened.json().id;
  await ctx.waitForCase(caseId, (r) => r.contactedAt !== null);
  const answered = await call(ctx.app, keys.supplier, 'POST', `/cases/${caseId}/responses`, {
    findings: 'Machtiging via website',
    complaintHandling: 'Klant gebeld',
    evidence: {
      filename: 'machtiging klant.pdf',
      contentType: 'application/pdf',
      contentBase64: pdf.toString('base64'),
    },
  });
  expect(answered.statusCode, answered.body).toBe(201);
  return { caseId, responseId: answered.json().response.id as string };
}

async function officerKey(partyId: string): Promise<string> {
  const k = generateApiKey();
  await ctx.db.insert(apiKeys).values({
    keyHash: k.hash,
    prefix: k.prefix,
    label: 'FG',
    holderName: 'M. Visser',
    role: 'privacy-officer',
    partyId,
  });
  return `Bearer ${k.key}`;
}

const evidenceUrl = (caseId: string, responseId: string) => `/cases/${caseId}/responses/${responseId}/evidence`;

describe('evidence download (GT-3) and legal hold (GT-8)', () => {
  it('the handler downloads the copy with its metadata and SHA-256; every opening is recorded; others cannot', async () => {
    const pdf = smallPdf('bewijs A');
    const { caseId, responseId } = await caseWithEvidence(pdf);
    const res = await call(ctx.app, keys.handler, 'GET', evidenceUrl(caseId, responseId));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.rawPayload.equals(pdf)).toBe(true);
    const sha = createHash('sha256').update(pdf).digest('hex');
    expect(res.headers['content-type']).toBe('application/pdf');
    expect(res.headers['content-length']).toBe(String(pdf.length));
    expect(res.headers['x-evidence-sha256']).toBe(sha);
    expect(res.headers['repr-digest']).toBe(`sha-256=:${createHash('sha256').update(pdf).digest('base64')}:`);
    expect(res.headers['content-disposition']).toContain('filename="machtiging klant.pdf"');
    expect((await call(ctx.app, keys.compliance, 'GET', evidenceUrl(caseId, responseId))).statusCode).toBe(200);
    // Another operator's handler: the case does not exist for it; the party itself: not its role.
    const other = await call(ctx.app, keys.otherHandler, 'GET', evidenceUrl(caseId, responseId));
    expect(other.statusCode).toBe(404);
    expect((await call(ctx.app, keys.supplier, 'GET', evidenceUrl(caseId, responseId))).statusCode).toBe(403);
    const unknown = await call(
      ctx.app,
      keys.handler,
      'GET',
      evidenceUrl(caseId, '00000000-0000-4000-8000-000000000000'),
    );
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'response_not_found', field: 'params.responseId' });

    const opened = (await caseAuditTrail(ctx.db, caseId)).filter((e) => e.action === 'case.evidence_opened');
    expect(opened).toHaveLength(2);
    expect(opened[0]!.actor).toMatch(/^api-key:/);
    expect(opened[0]!.actorRole).toBe('case-handler');
    expect(opened[1]!.actorRole).toBe('compliance');
    expect(opened[0]!.data).toMatchObject({ responseId, sha256: sha, size: pdf.length });
    // The party's view of the case does not show who opened its evidence.
    const partyView = (await call(ctx.app, keys.supplier, 'GET', `/cases/${caseId}`)).json();
    expect(partyView.timeline.map((e: { action: string }) => e.action)).not.toContain('case.evidence_opened');
  });

  it('a legal hold keeps the copy beyond the acceptance; released, the copy is destroyed at once (digest kept)', async () => {
    const pdf = smallPdf('bewijs B');
    const { caseId, responseId } = await caseWithEvidence(pdf);
    const bad = await call(ctx.app, keys.handler, 'POST', `/cases/${caseId}/legal-hold`, {
      authority: 'police',
      reason: 'x',
    });
    expect(bad.statusCode).toBe(400);
    const hold = await call(ctx.app, keys.handler, 'POST', `/cases/${caseId}/legal-hold`, {
      authority: 'disputes_committee',
      reason: 'Klant heeft de zaak voorgelegd aan de geschillencommissie',
    });
    expect(hold.statusCode, hold.body).toBe(200);
    expect(hold.json()).toMatchObject({ legalHold: { authority: 'disputes_committee' }, copiesHeld: 1 });
    const again = await call(ctx.app, keys.handler, 'POST', `/cases/${caseId}/legal-hold`, {
      authority: 'acm',
      reason: 'nogmaals',
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('legal_hold_already_set');

    const accepted = await call(ctx.app, keys.handler, 'POST', `/cases/${caseId}/judgements`, {
      responseId,
      decision: 'accept',
    });
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect(accepted.json().status).toBe('closed_mandate_accepted');
    await ctx.waitForCase(caseId, (r) => r.closedAt !== null);
    const kept = await call(ctx.app, keys.handler, 'GET', evidenceUrl(caseId, responseId));
    expect(kept.statusCode).toBe(200);
    expect(kept.rawPayload.equals(pdf)).toBe(true);
    const detail = (await call(ctx.app, keys.handler, 'GET', `/cases/${caseId}`)).json();
    expect(detail.legalHold).toMatchObject({ authority: 'disputes_committee' });
    expect(detail.responses[0].evidence).toMatchObject({ held: true, destroyedAt: null });
    const closed = (await caseAuditTrail(ctx.db, caseId)).find((e) => e.action === 'case.closed');
    expect(closed!.data).toMatchObject({ evidenceDestroyed: 0, evidenceKeptUnderLegalHold: true });

    const released = await call(ctx.app, keys.handler, 'POST', `/cases/${caseId}/legal-hold/release`, {
      reason: 'Uitspraak geschillencommissie ontvangen',
    });
    expect(released.statusCode, released.body).toBe(200);
    expect(released.json()).toEqual({ legalHold: null, evidenceDestroyed: 1 });
    const gone = await call(ctx.app, keys.handler, 'GET', evidenceUrl(caseId, responseId));
    expect(gone.statusCode).toBe(409);
    expect(gone.json()).toMatchObject({
      code: 'evidence_destroyed',
      details: { sha256: createHash('sha256').update(pdf).digest('hex') },
    });
    const [row] = await ctx.db.select().from(caseResponses).where(eq(caseResponses.id, responseId));
    expect(row!.evidenceContent).toBeNull();
    expect(row!.evidenceSha256).toMatch(/^[0-9a-f]{64}$/);
    const none = await call(ctx.app, keys.handler, 'POST', `/cases/${caseId}/legal-hold/release`, { reason: 'x' });
    expect(none.statusCode).toBe(409);
    expect(none.json().code).toBe('no_legal_hold');
    const trail = (await caseAuditTrail(ctx.db, caseId)).map((e) => e.action);
    expect(trail).toEqual(expect.arrayContaining(['case.legal_hold_set', 'case.legal_hold_released']));
  });

  it('an accepted case loses the copy at the close (digest kept), the destruction audited with its reason', async () => {
    const pdf = smallPdf('bewijs D');
    const { caseId, responseId } = await caseWithEvidence(pdf);
    const accepted = await call(ctx.app, keys.handler, 'POST', `/cases/${caseId}/judgements`, {
      responseId,
      decision: 'accept',
      reason: 'Machtiging in orde',
    });
    expect(accepted.statusCode, accepted.body).toBe(200);
    await ctx.waitForCase(caseId, (r) => r.status === 'closed_mandate_accepted');
    const gone = await call(ctx.app, keys.handler, 'GET', evidenceUrl(caseId, responseId));
    expect(gone.json()).toMatchObject({ code: 'evidence_destroyed' });
    const [row] = await ctx.db.select().from(caseResponses).where(eq(caseResponses.id, responseId));
    expect(row!.evidenceSha256).toBe(createHash('sha256').update(pdf).digest('hex'));
    const destroyed = (await caseAuditTrail(ctx.db, caseId)).find((e) => e.action === 'case.evidence_destroyed');
    expect(destroyed?.actor).toMatch(/^api-key:/); // the handler whose acceptance closed the case
    expect(destroyed?.data).toMatchObject({ reason: 'acceptance', copies: 1 });
  });

  it('"not demonstrated" keeps the copy for the GT-11 assessment and a GT-5 review citing the case; both closed, it goes', async () => {
    const pdf = smallPdf('bewijs C');
    const { caseId, responseId } = await caseWithEvidence(pdf);
    const rejected = await call(ctx.app, keys.handler, 'POST', `/cases/${caseId}/judgements`, {
      responseId,
      decision: 'reject',
      reason: 'Handtekening ontbreekt',
    });
    expect(rejected.json().status).toBe('awaiting_response');
    // Rejected but the case is open: the handler can still look at it.
    expect((await call(ctx.app, keys.handler, 'GET', evidenceUrl(caseId, responseId))).statusCode).toBe(200);
    await ctx.skip(73 * HOUR);
    await ctx.waitForCase(caseId, (r) => r.status === 'closed_mandate_not_demonstrated');
    // GT-8: kept under the automatic hold, recorded in the closing entry; the handler still reads it.
    expect((await call(ctx.app, keys.handler, 'GET', evidenceUrl(caseId, responseId))).statusCode).toBe(200);
    const closed = (await caseAuditTrail(ctx.db, caseId)).find((e) => e.action === 'case.closed');
    expect(closed?.data).toMatchObject({ evidenceDestroyed: 0, evidenceHold: { waitsFor: ['breach_assessment'] } });

    // A GT-5 review lists the case among its signals, still open.
    const reviewId = randomUUID();
    await ctx.db.insert(improvementReviews).values({
      id: reviewId,
      partyId: sup.id,
      openedAt: new Date(),
      windowDays: 365,
      signalsAtOpen: 3,
      threshold: 3,
      followUpDays: 90,
      electorate: [],
      status: 'awaiting_decision',
    });
    await ctx.db.insert(reviewSignals).values({
      reviewId,
      kind: 'case',
      signalId: caseId,
      gridOperatorId: op.id,
      receivedAt: new Date(),
    });

    // The privacy officer decides the assessment (GT-11): the review still keeps the copy.
    let assessmentId: string | undefined;
    for (let i = 0; i < 100 && !assessmentId; i++) {
      [{ id: assessmentId } = { id: undefined }] = await ctx.db
        .select({ id: breachAssessments.id })
        .from(breachAssessments)
        .where(eq(breachAssessments.caseId, caseId));
      if (!assessmentId) await new Promise((r) => setTimeout(r, 100));
    }
    expect(assessmentId).toBeDefined();
    const officer = await officerKey(op.id);
    const decided = await call(ctx.app, officer, 'POST', `/breach-assessments/${assessmentId}/decision`, {
      notifyAp: false,
      apReason: 'Geen persoonsgegevens verstrekt',
      informGridUser: false,
      gridUserReason: 'Geen risico',
      assessment: 'Geen datalek',
    });
    expect(decided.statusCode, decided.body).toBe(200);
    for (let i = 0; i < 100; i++) {
      const [a] = await ctx.db.select().from(breachAssessments).where(eq(breachAssessments.id, assessmentId!));
      if (a?.decidedAt) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await call(ctx.app, keys.handler, 'GET', evidenceUrl(caseId, responseId))).statusCode).toBe(200);

    // The review closes: nothing keeps the copy any more.
    await closeReview(ctx.db, {
      reviewId,
      status: 'not_reported',
      at: new Date().toISOString(),
    });
    const gone = await call(ctx.app, keys.handler, 'GET', evidenceUrl(caseId, responseId));
    expect(gone.statusCode).toBe(409);
    expect(gone.json().code).toBe('evidence_destroyed');
    const [row] = await ctx.db.select().from(caseResponses).where(eq(caseResponses.id, responseId));
    expect(row!.evidenceSha256).toBe(createHash('sha256').update(pdf).digest('hex'));
    const destroyed = (await caseAuditTrail(ctx.db, caseId)).filter((e) => e.action === 'case.evidence_destroyed');
    expect(destroyed).toHaveLength(1);
    expect(destroyed[0]!.actor).toBe(`workflow:review:${reviewId}`);
    expect(destroyed[0]!.data).toMatchObject({ reason: 'procedures_closed', copies: 1 });
  });

  it('"not demonstrated": deciding the assessment destroys the copy when nothing else cites the case', async () => {
    const pdf = smallPdf('bewijs E');
    const { caseId, responseId } = await caseWithEvidence(pdf);
    const rejected = await call(ctx.app, keys.handler, 'POST', `/cases/${caseId}/judgements`, {
      responseId,
      decision: 'reject',
      reason: 'Vervalst document',
    });
    expect(rejected.statusCode, rejected.body).toBe(200);
    await ctx.skip(73 * HOUR);
    await ctx.waitForCase(caseId, (r) => r.status === 'closed_mandate_not_demonstrated');
    let assessmentId: string | undefined;
    for (let i = 0; i < 100 && !assessmentId; i++) {
      [{ id: assessmentId } = { id: undefined }] = await ctx.db
        .select({ id: breachAssessments.id })
        .from(breachAssessments)
        .where(eq(breachAssessments.caseId, caseId));
      if (!assessmentId) await new Promise((r) => setTimeout(r, 100));
    }
    // The assessment is open: the privacy officer reads the (possibly forged) document.
    const officer = await officerKey(op.id);
    expect((await call(ctx.app, keys.handler, 'GET', evidenceUrl(caseId, responseId))).statusCode).toBe(200);
    const decided = await call(ctx.app, officer, 'POST', `/breach-assessments/${assessmentId}/decision`, {
      notifyAp: false,
      apReason: 'Geen persoonsgegevens verstrekt',
      informGridUser: false,
      gridUserReason: 'Geen risico',
      assessment: 'Geen datalek',
    });
    expect(decided.statusCode, decided.body).toBe(200);
    let code: string | undefined;
    for (let i = 0; i < 100 && code !== 'evidence_destroyed'; i++) {
      code = (await call(ctx.app, keys.handler, 'GET', evidenceUrl(caseId, responseId))).json().code;
      if (code !== 'evidence_destroyed') await new Promise((r) => setTimeout(r, 100));
    }
    expect(code).toBe('evidence_destroyed');
    const destroyed = (await caseAuditTrail(ctx.db, caseId)).find((e) => e.action === 'case.evidence_destroyed');
    expect(destroyed?.data).toMatchObject({ reason: 'procedures_closed', copies: 1 });
    expect(destroyed?.actorRole).toBe('privacy-officer');
  });
});

describe('contact never stalls (GT-1, GT-10) over HTTP', () => {
  it('an empty doubt contact group shows on the case with attempts and last error; POST /contacts records the call and starts the 72 hours', async () => {
    const lonely = await ctx.party(['supplier'], 0);
    const conn = await makeConnection(ctx.db, { gridOperatorId: op.id, supplierId: lonely.id });
    const opened = await call(ctx.app, keys.handler, 'POST', '/cases', {
      connectionEan: conn.ean,
      partyGln: lonely.gln,
      channel: 'customer',
      receivedAt: new Date(Date.now() - 30 * 60_000).toISOString(),
      reporterName: 'J. de Vries',
      description: 'Klant ziet P4-opvragingen zonder machtiging',
      isma: false,
    });
    expect(opened.statusCode, opened.body).toBe(201);
    const caseId: string = opened.json().id;
    await ctx.waitForCase(caseId, (r) => r.contactGroupEmptyAt !== null && r.contactLastError !== null);
    const view = (await call(ctx.app, keys.handler, 'GET', `/cases/${caseId}`)).json();
    expect(view.contact).toMatchObject({ method: null, lastError: expect.stringMatching(/no contacts/) });
    expect(view.contact.attempts).toBeGreaterThanOrEqual(1);
    expect(view.contact.groupEmptyAt).not.toBeNull();
    const bad = await call(ctx.app, keys.handler, 'POST', `/cases/${caseId}/contacts`, {
      method: 'pigeon',
      contactPerson: 'x',
      summary: 'y',
    });
    expect(bad.statusCode).toBe(400);
    const future = await call(ctx.app, keys.handler, 'POST', `/cases/${caseId}/contacts`, {
      method: 'telephone',
      contactedAt: new Date(Date.now() + 1000 * HOUR).toISOString(), // the test server runs ahead of real time
      contactPerson: 'P. Jansen',
      summary: 'Gebeld',
    });
    expect(future.statusCode).toBe(400);
    expect(future.json()).toMatchObject({ code: 'contact_time_invalid', field: 'body.contactedAt' });
    const made = await call(ctx.app, keys.handler, 'POST', `/cases/${caseId}/contacts`, {
      method: 'telephone',
      contactPerson: 'P. Jansen',
      summary: 'Gebeld via het CPR-nummer; bewijs volgt per post',
    });
    expect(made.statusCode, made.body).toBe(200);
    // (met / missed is the workflow test's: this file's test server clock runs ahead of the app's)
    expect(made.json().status).toBe('awaiting_response');
    expect(made.json().deadlines.contact.doneAt).not.toBeNull();
    const after = (await call(ctx.app, keys.handler, 'GET', `/cases/${caseId}`)).json();
    expect(after.contact).toMatchObject({ method: 'telephone', lastError: null });
    expect(after.deadlines.response.dueAt).not.toBeNull();
    // The party sees that it was contacted, not the grid operator's internal contact problems.
    const lonelyKey = await makeKey(ctx.db, 'supplier', { partyId: lonely.id });
    const partyView = (await call(ctx.app, lonelyKey, 'GET', `/cases/${caseId}`)).json();
    expect(partyView.contact).toBeUndefined();
    const again = await call(ctx.app, keys.handler, 'POST', `/cases/${caseId}/contacts`, {
      method: 'letter',
      contactPerson: 'P. Jansen',
      summary: 'brief',
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('already_contacted');
  });
});

describe('OpenAPI', () => {
  it('lists the evidence and legal-hold routes with their errors and real descriptions', async () => {
    const doc = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const expected: [string, string, string[]][] = [
      ['get', '/cases/{id}/responses/{responseId}/evidence', ['200', '401', '403', '404', '409']],
      ['post', '/cases/{id}/legal-hold', ['200', '400', '401', '403', '404', '409', '413', '415']],
      ['post', '/cases/{id}/legal-hold/release', ['200', '400', '401', '403', '404', '409', '413', '415']],
      ['post', '/cases/{id}/contacts', ['200', '400', '401', '403', '404', '409', '413', '415', '503']],
    ];
    for (const [method, path, statuses] of expected) {
      const op = doc.paths?.[path]?.[method];
      expect(op, `${method} ${path}`).toBeTruthy();
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(statuses));
      expect(op.responses['200'].description).not.toBe('Default Response');
    }
    expect(Object.keys(doc.paths['/cases/{id}/responses/{responseId}/evidence'].get.responses['200'].content)).toEqual([
      'application/octet-stream',
    ]);
  });
});
