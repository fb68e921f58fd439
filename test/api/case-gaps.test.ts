/**
 * Review gaps on the real stack (app → case service → Temporal dev server with this file's worker →
 * PostgreSQL, SMTP capture): GT-6 reports to the ACM after the case workflow has completed; one case per
 * GT-9 supplier report under concurrent intake; an open case whose workflow never started answers 503
 * (not case_closed); the worker's start-up recovery starts supplier-report notifications that never started.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { and, eq, like } from 'drizzle-orm';
import { createCaseWithBlock } from '../../db/repositories/cases.js';
import { createSupplierReport } from '../../db/repositories/supplier-reports.js';
import { acmNotifications, auditLog, doubtCases, supplierReports } from '../../db/schema/index.js';
import { pino } from 'pino';
import { connectClient } from '../../lib/infra/temporal-connection.js';
import { createLogger } from '../../lib/logger.js';
import { recoverIntakes } from '../../services/recovery/sweep.js';
import { supplierReportWorkflowId } from '../../workflows/shared.js';
import { listMail, testConfig } from '../helpers/index.js';
import { call, makeConnection, makeKey, makeMandate } from '../core/fixtures.js';
import { caseApiContext, type CaseApiContext } from './case-context.js';

let ctx: CaseApiContext;
let opA: Awaited<ReturnType<CaseApiContext['party']>>;
let supS: Awaited<ReturnType<CaseApiContext['party']>>;
const keys: Record<'handlerA' | 'supplierS', string> = {} as never;
const logger = createLogger({ logLevel: 'silent' });

beforeAll(async () => {
  ctx = await caseApiContext('case_gaps');
  opA = await ctx.party(['grid_operator']);
  supS = await ctx.party(['supplier']);
  keys.handlerA = await makeKey(ctx.db, 'case-handler', { partyId: opA.id });
  keys.supplierS = await makeKey(ctx.db, 'supplier', { partyId: supS.id });
});
afterAll(async () => ctx?.close());

async function connectionOfA() {
  const c = await makeConnection(ctx.db, { gridOperatorId: opA.id, supplierId: supS.id });
  await makeMandate(ctx.db, { partyId: supS.id, connectionEan: c.ean });
  return c.ean;
}

async function openCase() {
  const ean = await connectionOfA();
  const res = await call(ctx.app, keys.handlerA, 'POST', '/cases', {
    connectionEan: ean,
    partyGln: supS.gln,
    channel: 'customer',
    receivedAt: new Date(Date.now() - 60_000).toISOString(),
    reporterName: 'Klant',
    description: 'P4-opvragingen zonder machtiging',
    isma: false,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; reference: string };
}

describe('GT-6: the ACM may be informed at any time', () => {
  it('after the case workflow has completed, the API sends and records the report itself (once per request)', async () => {
    const c = await openCase();
    const lifted = await call(ctx.app, keys.handlerA, 'POST', `/cases/${c.id}/lift-block`, {
      reason: 'Verkeerde aansluiting',
    });
    expect(lifted.statusCode, lifted.body).toBe(200);
    await ctx.temporal.workflow.getHandle(c.id).result();
    // Other actions on the completed case stay refused as closed.
    const withdraw = await call(ctx.app, keys.handlerA, 'POST', `/cases/${c.id}/withdraw`, { reason: 'dubbel' });
    expect(withdraw.statusCode).toBe(409);
    expect(withdraw.json().code).toBe('case_closed');

    const res = await call(ctx.app, keys.handlerA, 'POST', `/cases/${c.id}/acm-notifications`, {
      message: 'Ook na afsluiting melden',
    });
    expect(res.statusCode, res.body).toBe(201);
    const { notificationId } = res.json() as { notificationId: string; sentAt: string };
    const mail = await ctx.mail((m) => m.to.includes(testConfig().acmReportEmail) && m.headers['x-case-id'] === c.id);
    expect(mail.subject).toContain(c.reference);
    expect(mail.text).toContain('Ook na afsluiting melden');

    const [n] = await ctx.db.select().from(acmNotifications).where(eq(acmNotifications.id, notificationId));
    expect(n).toMatchObject({ caseId: c.id, dedupeKey: `case:${c.id}:acm:direct:1` });
    expect(n!.sentBy).toMatch(/^api-key:/);
    const [row] = await ctx.db.select().from(doubtCases).where(eq(doubtCases.id, c.id));
    expect(row!.acmNotifiedAt?.toISOString()).toBe(n!.sentAt.toISOString());
    const audits = await ctx.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entityId, c.id), eq(auditLog.action, 'case.acm_notified')));
    expect(audits).toHaveLength(1);
    expect(audits[0]!.data).toMatchObject({ notificationId, rule: 'GT-6' });

    // A second report is a new notification with its own key; the first stays recorded once.
    const again = await call(ctx.app, keys.handlerA, 'POST', `/cases/${c.id}/acm-notifications`, {
      message: 'Tweede melding',
    });
    expect(again.statusCode, again.body).toBe(201);
    expect(again.json().notificationId).not.toBe(notificationId);
    const all = await ctx.db
      .select()
      .from(acmNotifications)
      .where(like(acmNotifications.dedupeKey, `case:${c.id}:acm:%`));
    expect(all.map((x) => x.dedupeKey).sort()).toEqual([`case:${c.id}:acm:direct:1`, `case:${c.id}:acm:direct:2`]);
    const view = (await call(ctx.app, keys.handlerA, 'GET', `/cases/${c.id}`)).json();
    expect(view.timeline.filter((e: { action: string }) => e.action === 'case.acm_notified')).toHaveLength(2);
  });
});

describe('an open case whose workflow never started', () => {
  it('answers 503 case_workflow_not_started (retried), not case_closed', async () => {
    const ean = await connectionOfA();
    const at = new Date();
    const { row } = await createCaseWithBlock(ctx.db, {
      actor: 'test',
      gridOperatorId: opA.id,
      partyId: supS.id,
      connectionEan: ean,
      channel: 'customer',
      receivedAt: at,
      reporterName: 'K',
      description: 'd',
      isma: false,
      at,
    });
    const res = await call(ctx.app, keys.handlerA, 'POST', `/cases/${row.id}/withdraw`, { reason: 'dubbel' });
    expect(res.statusCode, res.body).toBe(503);
    expect(res.json()).toMatchObject({ code: 'case_workflow_not_started' });
    expect(res.json().message).toMatch(/repeat/);
  });
});

describe('GT-9: one case per supplier report', () => {
  it('parallel intakes from one report without an Idempotency-Key open one case; the others answer 200 with it', async () => {
    const ean = await connectionOfA();
    const rep = await call(ctx.app, keys.supplierS, 'POST', '/supplier-reports', {
      connectionEan: ean,
      signalReceivedAt: new Date(Date.now() - 3_600_000).toISOString(),
      customerSatisfaction: 'dissatisfied',
      findings: 'f',
      actions: 'a',
    });
    expect(rep.statusCode, rep.body).toBe(201);
    const reportId = rep.json().id as string;
    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        i % 2 === 0
          ? call(ctx.app, keys.handlerA, 'POST', '/cases', { supplierReportId: reportId, isma: false })
          : call(ctx.app, keys.handlerA, 'POST', `/supplier-reports/${reportId}/cases`, { isma: false }),
      ),
    );
    for (const r of results) expect([200, 201], r.body).toContain(r.statusCode);
    expect(results.filter((r) => r.statusCode === 201)).toHaveLength(1);
    expect(new Set(results.map((r) => r.json().id)).size).toBe(1);
    const cases = await ctx.db.select().from(doubtCases).where(eq(doubtCases.supplierReportId, reportId));
    expect(cases).toHaveLength(1);
  });
});

describe('worker start-up recovery of supplier-report notifications (GT-9, GT-10)', () => {
  it('starts the workflow of a report whose start failed, accepts one that already runs, leaves started ones alone, and survives Temporal being unreachable', async () => {
    const at = new Date(Date.now() - 2 * 60_000);
    const input = {
      actor: 'test',
      partyId: supS.id,
      signalReceivedAt: new Date(at.getTime() - 3_600_000),
      customerSatisfaction: 'unknown' as const,
      findings: 'f',
      actions: 'a',
      at,
    };
    // POST /supplier-reports committed these, then failed to start their workflows (503).
    const lost = await createSupplierReport(ctx.db, { ...input, connectionEan: await connectionOfA() });
    const running = await createSupplierReport(ctx.db, { ...input, connectionEan: await connectionOfA() });
    // ...except that this one's start did reach Temporal before the failure was seen.
    await ctx.temporal.workflow.start('supplierReportWorkflow', {
      workflowId: supplierReportWorkflowId(running.id),
      taskQueue: ctx.taskQueue,
      args: [{ reportId: running.id }],
    });
    // Too recent: an intake may still be starting it.
    const fresh = await createSupplierReport(ctx.db, {
      ...input,
      connectionEan: await connectionOfA(),
      at: new Date(),
    });

    // A sweep that cannot reach Temporal starts nothing, says so in the log, and does not reject.
    const failures: string[] = [];
    const down = await connectClient(testConfig({}).temporal, inject('temporalAddress'));
    await down.connection.close();
    const unreachable = await recoverIntakes(
      {
        db: ctx.db,
        temporal: down.client,
        taskQueue: ctx.taskQueue,
        logger: pino({ level: 'error' }, { write: (line: string) => failures.push(line) }),
      },
      { kinds: ['supplier_report'] },
    );
    expect(unreachable.supplier_report.pending).toBeGreaterThanOrEqual(2);
    expect(unreachable.supplier_report.started).toBe(0);
    expect(failures.join('')).toContain('could not recover supplier reports without a notification workflow');

    const recovery = { db: ctx.db, temporal: ctx.temporal, taskQueue: ctx.taskQueue, logger };
    const first = await recoverIntakes(recovery, { kinds: ['supplier_report'] });
    expect(first.supplier_report.started).toBeGreaterThanOrEqual(2);
    expect(first.supplier_report.started).toBe(first.supplier_report.pending);
    for (const r of [lost, running]) {
      await ctx.mail((m) => m.headers['x-supplier-report-id'] === r.id);
      await ctx.temporal.workflow.getHandle(supplierReportWorkflowId(r.id)).result();
      const [row] = await ctx.db.select().from(supplierReports).where(eq(supplierReports.id, r.id));
      expect(row!.notificationStartedAt).not.toBeNull();
      expect(row!.notifiedAt).not.toBeNull();
    }
    const [untouched] = await ctx.db.select().from(supplierReports).where(eq(supplierReports.id, fresh.id));
    expect(untouched!.notificationStartedAt).toBeNull();

    // A second start-up finds nothing left of these: no second mail.
    await recoverIntakes(recovery, { kinds: ['supplier_report'] });
    expect(await listMail(inject('mailDir'), (m) => m.headers['x-supplier-report-id'] === lost.id)).toHaveLength(1);
  });
});
