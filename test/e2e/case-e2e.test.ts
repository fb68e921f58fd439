/**
 * THE end-to-end test through the real stack: HTTP POST /cases → Fastify → Temporal dev server workflow →
 * activities → PostgreSQL (block, case status, contact moment) and the contact mail in the SMTP capture
 * (GT-1, GT-2, GT-3, GT-10); then the party answers with a small PDF, the handler accepts (GT-8): block
 * lifted retroactively, evidence destroyed with its SHA-256 kept, the party told by mail, and the
 * compliance history showing both the Temporal events and the audit entries.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { blocks, caseResponses, doubtCases } from '../../db/schema/index.js';
import { formatAmsterdam } from '../../domain/working-days.js';
import { call, days, iso, makeConnection, makeKey, makeMandate } from '../core/fixtures.js';
import { caseApiContext, smallPdf, tag, type CaseApiContext } from '../api/case-context.js';

let ctx: CaseApiContext;
beforeAll(async () => {
  ctx = await caseApiContext('case_e2e');
});
afterAll(async () => ctx?.close());

describe('a doubt case from report to accepted mandate', () => {
  it('runs through HTTP, Temporal, PostgreSQL and SMTP', async () => {
    const operator = await ctx.party(['grid_operator']);
    const supplier = await ctx.party(['supplier'], 2);
    const conn = await makeConnection(ctx.db, { gridOperatorId: operator.id, supplierId: supplier.id });
    await makeMandate(ctx.db, { partyId: supplier.id, connectionEan: conn.ean });
    const handlerKey = await makeKey(ctx.db, 'case-handler', { partyId: operator.id });
    const supplierKey = await makeKey(ctx.db, 'supplier', { partyId: supplier.id });
    const p4Key = await makeKey(ctx.db, 'p4-client', { partyId: supplier.id });
    const complianceKey = await makeKey(ctx.db, 'compliance', { partyId: operator.id });
    const gate = async () =>
      (
        await call(ctx.app, p4Key, 'POST', '/p4/requests', {
          connectionEan: conn.ean,
          dataKind: 'interval_data',
          from: iso(Date.now() - days(3)),
          to: iso(Date.now() - days(2)),
        })
      ).json();

    // 1. Intake over HTTP: 201, the block already in force.
    const opened = await ctx.app.inject({
      method: 'POST',
      url: '/cases',
      headers: { authorization: handlerKey, 'content-type': 'application/json', 'idempotency-key': `e2e-${tag()}` },
      payload: {
        connectionEan: conn.ean,
        partyGln: supplier.gln,
        channel: 'customer',
        receivedAt: new Date(Date.now() - 5 * 60_000).toISOString(),
        reporterName: 'J. de Vries',
        description: 'Klant ziet kwartierwaarden opgevraagd door een leverancier zonder machtiging',
        isma: false,
      },
    });
    expect(opened.statusCode, opened.body).toBe(201);
    const c = opened.json();
    expect((await gate()).reasonCode).toBe('blocked_by_doubt_case');

    // 2. The workflow contacted the party: PostgreSQL holds the block, the status and the contact moment.
    const row = await ctx.waitForCase(c.id, (r) => r.contactedAt !== null);
    expect(row.status).toBe('awaiting_response');
    expect(row.workflowStartedAt).not.toBeNull();
    const [block] = await ctx.db.select().from(blocks).where(eq(blocks.caseId, c.id));
    expect(block).toMatchObject({ partyId: supplier.id, connectionEan: conn.ean, endedAt: null });
    // GT-3: 72 clock hours from the contact (never shorter than what the mail stated).
    expect(row.responseDueAt!.getTime() - row.contactedAt!.getTime()).toBeGreaterThanOrEqual(72 * 3_600_000);

    // 3. The contact mail: to the party's doubt contact group, Dutch first, the 72-hour deadline in Amsterdam time.
    const mail = await ctx.mail((m) => m.headers['x-case-id'] === c.id && (m.subject ?? '').includes('Gerede twijfel'));
    expect([...mail.to].sort()).toEqual([...supplier.mails].sort());
    expect([...mail.envelope.rcptTo].sort()).toEqual([...supplier.mails].sort());
    expect(mail.subject).toContain(`[${c.reference}]`);
    // The deadline the mail states: 72 hours from sending it, a moment before the workflow recorded the contact.
    const responseDueAt = new Date(mail.headers['x-response-due']!);
    expect(row.responseDueAt!.getTime() - responseDueAt.getTime()).toBeGreaterThanOrEqual(0);
    expect(row.responseDueAt!.getTime() - responseDueAt.getTime()).toBeLessThan(60_000);
    expect(responseDueAt.getTime() - Date.parse(mail.receivedAt)).toBeGreaterThan(72 * 3_600_000 - 60_000);
    const text = mail.text ?? '';
    const nl = text.indexOf('Beste contactpersoon');
    const en = text.indexOf('Dear "Gerede twijfel Klantmandaat" contact');
    expect(nl).toBeGreaterThanOrEqual(0);
    expect(en).toBeGreaterThan(nl);
    expect(text.slice(nl, en)).toContain(formatAmsterdam(responseDueAt, 'nl'));
    expect(text.slice(en)).toContain(formatAmsterdam(responseDueAt, 'en'));
    expect(text).toContain(c.reference);
    expect(formatAmsterdam(responseDueAt, 'en')).toMatch(/\(Amsterdam time\)$/);

    // 4. The party answers with a small PDF.
    const pdf = smallPdf(`Machtiging ${c.reference}`);
    const sha256 = createHash('sha256').update(pdf).digest('hex');
    const answered = await call(ctx.app, supplierKey, 'POST', `/cases/${c.id}/responses`, {
      findings: 'De klant heeft op onze website een machtiging voor kwartierwaarden gegeven',
      complaintHandling: 'Klant gebeld en de machtiging toegelicht',
      evidence: { filename: 'machtiging.pdf', contentType: 'application/pdf', contentBase64: pdf.toString('base64') },
    });
    expect(answered.statusCode, answered.body).toBe(201);
    const responseId: string = answered.json().response.id;
    expect(answered.json().case.status).toBe('awaiting_judgement');
    const [held] = await ctx.db.select().from(caseResponses).where(eq(caseResponses.id, responseId));
    expect(held!.evidenceContent?.equals(pdf)).toBe(true);

    // 5. The handler accepts (GT-8): the workflow answers with the closed case.
    const judged = await call(ctx.app, handlerKey, 'POST', `/cases/${c.id}/judgements`, {
      responseId,
      decision: 'accept',
    });
    expect(judged.statusCode, judged.body).toBe(200);
    expect(judged.json()).toMatchObject({
      status: 'closed_mandate_accepted',
      outcome: 'accepted',
      responses: [{ responseId, judgement: 'accepted' }],
    });

    const [closed] = await ctx.db.select().from(doubtCases).where(eq(doubtCases.id, c.id));
    expect(closed).toMatchObject({ status: 'closed_mandate_accepted' });
    expect(closed!.unblockedAt).not.toBeNull();
    expect(closed!.unblockedAt!.getTime()).toBeLessThan(closed!.unblockDueAt!.getTime());
    const [liftedBlock] = await ctx.db.select().from(blocks).where(eq(blocks.caseId, c.id));
    expect(liftedBlock).toMatchObject({ liftReason: 'mandate_accepted', retroactive: true });
    expect(liftedBlock!.endedAt).not.toBeNull();
    const [destroyed] = await ctx.db.select().from(caseResponses).where(eq(caseResponses.id, responseId));
    expect(destroyed).toMatchObject({
      evidenceContent: null,
      evidenceSha256: sha256,
      evidenceSize: pdf.length,
      judgement: 'accepted',
    });
    expect(destroyed!.evidenceDestroyedAt).not.toBeNull();
    // Retroactive: the blocked period may be requested again.
    expect(await gate()).toMatchObject({ allowed: true });

    // 6. The party is told by mail.
    const outcome = await ctx.mail((m) => m.headers['x-case-id'] === c.id && m.id !== mail.id);
    expect([...outcome.to].sort()).toEqual([...supplier.mails].sort());
    expect(outcome.subject).toContain(c.reference);

    // 7. The case view: every deadline judged, the evidence metadata without content.
    const view = (await call(ctx.app, handlerKey, 'GET', `/cases/${c.id}`)).json();
    expect(view.deadlines).toMatchObject({
      contact: { state: 'met' },
      response: { state: 'met' },
      unblock: { state: 'met', rule: 'GT-8' },
    });
    expect(view.responses[0].evidence).toMatchObject({ sha256, held: false });

    // 8. Compliance: Temporal events and audit entries in one ordered history (once the run has completed).
    const final = await ctx.temporal.workflow.getHandle(c.id).result();
    expect(final).toMatchObject({ status: 'closed_mandate_accepted' });
    const history = (await call(ctx.app, complianceKey, 'GET', `/cases/${c.id}/history`)).json();
    const entries: { at: string; source: string; type: string; actor: string; detail?: string }[] = history.entries;
    const types = (source: string) => entries.filter((e) => e.source === source).map((e) => e.type);
    expect(types('temporal')).toEqual(
      expect.arrayContaining([
        'WorkflowExecutionStarted',
        'ActivityTaskScheduled',
        'WorkflowExecutionUpdateAccepted',
        'WorkflowExecutionCompleted',
      ]),
    );
    expect(types('database')).toEqual(
      expect.arrayContaining([
        'case.opened',
        'block.placed',
        'case.contacted',
        'case.response_submitted',
        'case.evidence_judged',
        'block.lifted',
        'case.closed',
      ]),
    );
    const times = entries.map((e) => Date.parse(e.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const judgeEvent = entries.find(
      (e) => e.type === 'WorkflowExecutionUpdateAccepted' && e.detail === 'judgeEvidence',
    );
    const judgeAudit = entries.find((e) => e.type === 'case.evidence_judged');
    expect(judgeEvent?.actor).toBe(judgeAudit?.actor);
    expect(judgeAudit?.actor).toMatch(/^api-key:/);
  });
});
