/**
 * GT-5 repeat offenders: the scan counts signals per party across ALL grid operators over a rolling
 * window; a party at the threshold gets one improvement review (its own workflow): contacted on behalf of
 * all grid operators, a follow-up period runs (skipped), and when the signals have not decreased the ACM
 * report is prepared and sent. GT-9: a supplier-side report informs the grid operator's contact group.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { acmNotifications, connections, improvementReviews, parties, supplierReports } from '../../db/schema/index.js';
import { createCaseWithBlock } from '../../db/repositories/cases.js';
import { withCheckDigit } from '../../lib/gs1.js';
import {
  reviewWorkflowId,
  supplierReportWorkflowId,
  type ImprovementReviewResult,
  type RepeatOffenderScanResult,
} from '../../workflows/shared.js';
import { caseHarness, TASK_QUEUE, type CaseHarness, type Fixture } from './harness.js';

const DAY = 86_400_000;
let h: CaseHarness;
let stopWorker: () => Promise<void>;
beforeAll(async () => {
  h = await caseHarness('repeat_offenders');
  stopWorker = await h.runWorker();
});
afterAll(async () => {
  await stopWorker?.();
  await h?.close();
});

let seq = 0;
/** A second grid operator with a connection, so signals about one party come from several operators. */
async function otherOperatorConnection(): Promise<{ gridOperatorId: string; connectionEan: string }> {
  const n =
    `${process.pid % 1000}`.padStart(3, '0') +
    String(Date.now() % 100_000).padStart(5, '0') +
    String(++seq).padStart(2, '0');
  const [gop] = await h.db
    .insert(parties)
    .values({ gln: withCheckDigit(`88${n}`), name: `Tweede netbeheerder ${n}`, roles: ['grid_operator'] })
    .returning();
  const [conn] = await h.db
    .insert(connections)
    .values({ ean: withCheckDigit(`8719${n}000`), gridOperatorId: gop!.id, gridArea: 'Test', capacityKw: 17.25 })
    .returning();
  return { gridOperatorId: gop!.id, connectionEan: conn!.ean };
}

async function signal(f: { gridOperatorId: string; connectionEan: string }, partyId: string, at: Date): Promise<void> {
  await createCaseWithBlock(h.db, {
    actor: 'test',
    gridOperatorId: f.gridOperatorId,
    partyId,
    connectionEan: f.connectionEan,
    channel: 'consuwijzer',
    receivedAt: at,
    reporterName: 'Klant',
    description: 'signaal',
    isma: false,
    at,
  });
}

const scan = (input: { threshold: number; windowDays: number; followUpDays: number }) =>
  h.env.client.workflow.execute('repeatOffenderScanWorkflow', {
    taskQueue: TASK_QUEUE,
    workflowId: `scan-${Date.now()}-${++seq}`,
    args: [input],
  }) as Promise<RepeatOffenderScanResult>;

describe('repeat offenders (GT-5)', () => {
  it('signals across grid operators open one review; not decreased after follow-up: reported to the ACM', async () => {
    const p: Fixture = await h.fixture();
    const other = await otherOperatorConnection();
    const now = await h.now();
    await signal(p, p.partyId, new Date(now.getTime() - 20 * DAY));
    await signal(p, p.partyId, new Date(now.getTime() - 10 * DAY));
    await signal(other, p.partyId, new Date(now.getTime() - 5 * DAY)); // another grid operator
    await h.db.insert(supplierReports).values({
      partyId: p.partyId,
      gridOperatorId: other.gridOperatorId,
      connectionEan: other.connectionEan,
      signalReceivedAt: new Date(now.getTime() - 2 * DAY),
      reportedAt: new Date(now.getTime() - 2 * DAY),
      reportedWithinOneWorkingDay: true,
      customerSatisfaction: 'dissatisfied',
      findings: 'f',
      actions: 'a',
      createdBy: 'test',
    });
    const q = await h.fixture(); // below the threshold
    await signal(q, q.partyId, new Date(now.getTime() - 3 * DAY));

    const input = { threshold: 4, windowDays: 30, followUpDays: 10 };
    const first = await scan(input);
    const mine = first.offenders.filter((o) => o.partyId === p.partyId || o.partyId === q.partyId);
    expect(mine).toEqual([{ partyId: p.partyId, signals: 4, reviewId: expect.any(String) }]);
    const reviewId = mine[0]!.reviewId!;

    // A second scan while the review is open opens no second one.
    const again = await scan(input);
    expect(again.offenders.find((o) => o.partyId === p.partyId)?.reviewId).toBe(reviewId);
    expect(await h.db.select().from(improvementReviews).where(eq(improvementReviews.partyId, p.partyId))).toHaveLength(
      1,
    );

    await h.mail((m) => m.to.includes(p.partyMail) && (m.subject ?? '').includes('Verbetertraject'));
    await expect
      .poll(
        async () =>
          (await h.db.select().from(improvementReviews).where(eq(improvementReviews.id, reviewId)))[0]!.status,
        { timeout: 15_000 },
      )
      .toBe('follow_up');
    const [rv] = await h.db.select().from(improvementReviews).where(eq(improvementReviews.id, reviewId));
    // Signals keep coming during the follow-up: 2 in 10 days is no decrease from 4 in 30 days.
    await signal(p, p.partyId, new Date(rv!.followUpFrom!.getTime() + 1 * DAY));
    await signal(other, p.partyId, new Date(rv!.followUpFrom!.getTime() + 3 * DAY));

    const result = (await h.env.client.workflow
      .getHandle(reviewWorkflowId(reviewId))
      .result()) as ImprovementReviewResult;
    expect(result).toMatchObject({ outcome: 'reported_to_acm', signalsAtOpen: 4, signalsAfterFollowUp: 2 });
    const [closed] = await h.db.select().from(improvementReviews).where(eq(improvementReviews.id, reviewId));
    expect(closed!.status).toBe('reported_to_acm');
    expect(closed!.closedAt!.getTime()).toBeGreaterThanOrEqual(closed!.followUpUntil!.getTime());
    const [acm] = await h.db.select().from(acmNotifications).where(eq(acmNotifications.reviewId, reviewId));
    expect(acm!.signalCount).toBe(2);
    await h.mail((m) => m.to.includes(h.deps.config.acmReportEmail) && (m.subject ?? '').includes('structurele'));
    await h.recordHistory(reviewWorkflowId(reviewId), 'review-reported-to-acm');
  });

  it('signals decreased during the follow-up: improved, no ACM report', async () => {
    const r = await h.fixture();
    const now = await h.now();
    for (const d of [1, 2, 3]) await signal(r, r.partyId, new Date(now.getTime() - d * DAY));
    const res = await scan({ threshold: 3, windowDays: 30, followUpDays: 10 });
    const reviewId = res.offenders.find((o) => o.partyId === r.partyId)!.reviewId!;
    const result = (await h.env.client.workflow
      .getHandle(reviewWorkflowId(reviewId))
      .result()) as ImprovementReviewResult;
    expect(result.outcome).toBe('improved');
    expect(await h.db.select().from(acmNotifications).where(eq(acmNotifications.reviewId, reviewId))).toHaveLength(0);
    await h.recordHistory(reviewWorkflowId(reviewId), 'review-improved');
  });
});

describe('supplier-side report (GT-9)', () => {
  it('informs the grid operator’s doubt contact group and records it', async () => {
    const f = await h.fixture();
    const now = await h.now();
    const [rep] = await h.db
      .insert(supplierReports)
      .values({
        partyId: f.partyId,
        gridOperatorId: f.gridOperatorId,
        connectionEan: f.connectionEan,
        signalReceivedAt: new Date(now.getTime() - 3 * DAY),
        reportedAt: now,
        reportedWithinOneWorkingDay: false,
        customerSatisfaction: 'unknown',
        findings: 'Klant twijfelt aan machtiging.',
        actions: 'Machtiging opnieuw opgevraagd.',
        createdBy: 'test',
      })
      .returning();
    const out = (await h.env.client.workflow.execute('supplierReportWorkflow', {
      taskQueue: TASK_QUEUE,
      workflowId: supplierReportWorkflowId(rep!.id),
      args: [{ reportId: rep!.id }],
    })) as { messageId: string | null };
    expect(out.messageId).toBeTruthy();
    const mail = await h.mail((m) => m.to.includes(f.handlerMail) && (m.text ?? '').includes(rep!.id));
    expect(mail.text).toContain('NIET binnen 1 werkdag');
    const [after] = await h.db.select().from(supplierReports).where(eq(supplierReports.id, rep!.id));
    expect(after!.notifiedAt).not.toBeNull();
    await h.recordHistory(supplierReportWorkflowId(rep!.id), 'supplier-report');
  });
});
