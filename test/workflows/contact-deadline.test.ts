/**
 * GT-1 with SMTP down, then up: the contact mail is retried with backoff; when the 1-working-day deadline
 * nears the handler is alerted and at the deadline the miss is recorded — never silently dropped. When
 * SMTP returns, contact is made (late) and the 72 hours run from that moment. Real deadlines, skipped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { doubtCases } from '../../db/schema/index.js';
import { caseAuditTrail } from '../../db/repositories/cases.js';
import { startSmtpCapture, type SmtpCapture } from '../../lib/infra/smtp-capture.js';
import { CONTACT_ALERT_LEAD_MS } from '../../workflows/doubt-case/index.js';
import { caseHarness, type CaseHarness } from './harness.js';

const HOUR = 3_600_000;
let h: CaseHarness;
let smtp: SmtpCapture;
let dir: string;
let stopWorker: () => Promise<void>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gt-smtp-down-'));
  smtp = await startSmtpCapture({ port: 0, dir });
  h = await caseHarness('contact_deadline', { smtpUrl: smtp.url });
  stopWorker = await h.runWorker();
});
afterAll(async () => {
  await stopWorker?.();
  await h?.close();
  await smtp?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('contact within 1 working day (GT-1) while SMTP is down', () => {
  it('retries, alerts the handler before the deadline, records the miss, contacts late once SMTP is back', async () => {
    smtp.setRefusing(true);
    const { row, fixture } = await h.openCase({ isma: false });
    await h.startWorkflow(row.id);
    const s0 = await h.waitFor(row.id, (s) => s.status === 'blocked');
    const contactDue = new Date(s0.deadlines.contact.dueAt!);
    expect(contactDue.getTime()).toBe(row.contactDueAt.getTime());

    // Just after the alert point: the alert is recorded, contact still not achieved.
    await h.skipTo(new Date(contactDue.getTime() - CONTACT_ALERT_LEAD_MS + 5 * 60_000));
    await expect
      .poll(async () => (await h.db.select().from(doubtCases).where(eq(doubtCases.id, row.id)))[0]!.contactAlertedAt, {
        timeout: 15_000,
      })
      .not.toBeNull();
    expect((await h.snapshot(row.id)).status).toBe('blocked');

    // Past the deadline: the miss is recorded and visible in the workflow's own view.
    await h.skipTo(new Date(contactDue.getTime() + 5 * 60_000));
    await expect
      .poll(
        async () => (await h.db.select().from(doubtCases).where(eq(doubtCases.id, row.id)))[0]!.contactMissRecordedAt,
        { timeout: 15_000 },
      )
      .not.toBeNull();
    const s1 = await h.snapshot(row.id);
    expect(s1.status).toBe('blocked');
    expect(s1.deadlines.contact.state).toBe('missed');
    expect(await smtp.list()).toHaveLength(0);

    // SMTP back: the next retry (backoff capped at 30 minutes) gets through.
    smtp.setRefusing(false);
    await h.skipTo(new Date(contactDue.getTime() + 45 * 60_000));
    const s2 = await h.waitFor(row.id, (s) => s.status === 'awaiting_response', 30_000);
    expect(s2.deadlines.contact.state).toBe('missed');
    const contactedAt = new Date(s2.contactedAt!);
    expect(contactedAt.getTime()).toBeGreaterThan(contactDue.getTime());
    expect(new Date(s2.deadlines.response.dueAt!).getTime() - contactedAt.getTime()).toBe(72 * HOUR);

    const contact = await smtp.waitFor((m) => m.to.includes(fixture.partyMail), 15_000);
    // The stated deadline never exceeds the enforced one (test clock: the mail is sent on real time).
    expect(new Date(contact.headers['x-response-due']!).getTime()).toBeLessThanOrEqual(
      new Date(s2.deadlines.response.dueAt!).getTime(),
    );
    const alert = await smtp.waitFor(
      (m) => m.to.includes(fixture.handlerMail) && (m.subject ?? '').includes('LET OP'),
      15_000,
    );
    expect(alert.text).toContain(row.reference);

    const final = await h.result(row.id);
    expect(final.status).toBe('closed_mandate_not_demonstrated');
    const trail = await caseAuditTrail(h.db, row.id);
    const actions = trail.map((e) => e.action);
    expect(actions.indexOf('case.contact_at_risk')).toBeLessThan(actions.indexOf('case.contacted'));
    expect(
      trail.find(
        (e) => e.action === 'case.deadline_missed' && (e.data as { deadline?: string }).deadline === 'contact',
      ),
    ).toBeDefined();
    expect(trail.find((e) => e.action === 'case.contacted')?.data).toMatchObject({ met: false });
    await h.recordHistory(row.id, 'smtp-down-then-up');
  }, 120_000);

  it('a party without contacts in the doubt contact group is never contacted silently: alerted and recorded', async () => {
    const fixture = await h.fixture({ partyContacts: false });
    const { row } = await h.openCase({ fixture });
    await h.startWorkflow(row.id);
    await h.skipTo(new Date(row.contactDueAt.getTime() + 60_000));
    await expect
      .poll(
        async () => (await h.db.select().from(doubtCases).where(eq(doubtCases.id, row.id)))[0]!.contactMissRecordedAt,
        { timeout: 15_000 },
      )
      .not.toBeNull();
    await smtp.waitFor((m) => m.to.includes(fixture.handlerMail) && (m.subject ?? '').includes('LET OP'), 15_000);
    // The handler withdraws the case; the pending contact attempt is cancelled.
    const { withdrawCase } = await import('../../services/cases/actions.js');
    const snap = await withdrawCase(
      { db: h.db, temporal: h.env.client, taskQueue: 'unused', evidenceMaxBytes: 1 },
      row.id,
      { actor: 'api-key:handler', reason: 'partij onbereikbaar, via telefoon opgelost' },
    );
    expect(snap.status).toBe('closed_withdrawn');
    expect(snap.deadlines.contact.state).toBe('missed');
    await h.result(row.id);
  }, 120_000);
});
