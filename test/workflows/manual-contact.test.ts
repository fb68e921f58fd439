/**
 * Contact never stalls (GT-1, GT-10) with time skipping, real PostgreSQL and SMTP: a party without anyone in
 * its doubt contact group alerts the handler at once and shows on the case with every attempt and the last
 * error; contact made by telephone counts as the GT-1 contact and starts the 72 hours from its moment.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { doubtCases } from '../../db/schema/index.js';
import { caseAuditTrail } from '../../db/repositories/cases.js';
import { recordManualContact, type CaseServiceDeps } from '../../services/cases/actions.js';
import { DomainError } from '../../lib/errors.js';
import { caseHarness, TASK_QUEUE, type CaseHarness } from './harness.js';

const HOUR = 3_600_000;
const handler = { actor: 'api-key:handler', actorRole: 'case-handler' };
let h: CaseHarness;
let svc: CaseServiceDeps;
let stopWorker: () => Promise<void>;
beforeAll(async () => {
  h = await caseHarness('manual_contact');
  svc = { db: h.db, temporal: h.env.client, taskQueue: TASK_QUEUE, evidenceMaxBytes: 1_048_576 };
  stopWorker = await h.runWorker();
});
afterAll(async () => {
  await stopWorker?.();
  await h?.close();
});

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: unknown) => (e instanceof DomainError ? e.code : String(e)),
  );

describe('contact never stalls', () => {
  it('empty doubt contact group: handler alerted at once, attempts and last error on the case; a telephone call is the GT-1 contact and starts the 72 hours', async () => {
    const fixture = await h.fixture({ partyContacts: false });
    const { row } = await h.openCase({ fixture });
    await h.startWorkflow(row.id);
    // At once: the alert to the handlers, long before the GT-1 "deadline nears" alert.
    const alert = await h.mail(
      (m) => m.to.includes(fixture.handlerMail) && (m.subject ?? '').includes('geen contactgroep'),
    );
    expect(alert.text).toContain(`/cases/${row.id}/contacts`);
    const until = Date.now() + 15_000;
    let c = (await h.db.select().from(doubtCases).where(eq(doubtCases.id, row.id)))[0]!;
    while (c.contactAttempts < 2 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
      await h.env.sleep(60_000); // the mail retries with backoff
      c = (await h.db.select().from(doubtCases).where(eq(doubtCases.id, row.id)))[0]!;
    }
    expect(c.contactGroupEmptyAt).not.toBeNull();
    expect(c.contactAttempts).toBeGreaterThanOrEqual(2);
    expect(c.contactLastError).toMatch(/no contacts in the "Gerede twijfel Klantmandaat" group/);
    expect(c.contactedAt).toBeNull();
    expect((await caseAuditTrail(h.db, row.id)).filter((e) => e.action === 'case.contact_group_empty')).toHaveLength(1);

    await h.env.sleep(10 * 60_000);
    const now = await h.now();
    const manual = { ...handler, method: 'telephone' as const, contactPerson: 'P. Jansen', summary: 'Gebeld via CPR' };
    expect(
      await codeOf(
        recordManualContact(svc, row.id, { ...manual, contactedAt: new Date(now.getTime() + HOUR).toISOString() }),
      ),
    ).toBe('contact_time_invalid');
    const called = new Date(now.getTime() - 5 * 60_000);
    const snap = await recordManualContact(svc, row.id, { ...manual, contactedAt: called.toISOString() });
    const recorded = await h.now();
    expect(snap.status).toBe('awaiting_response');
    expect(snap.contactedAt).toBe(called.toISOString());
    expect(snap.deadlines.contact.state).toBe('met');
    // GT-3: recorded 5 minutes after the call, the 72 hours run from the recording (never shortened).
    const due = new Date(snap.deadlines.response.dueAt!).getTime();
    expect(due).toBeGreaterThanOrEqual(now.getTime() + 72 * HOUR);
    expect(due).toBeLessThanOrEqual(recorded.getTime() + 72 * HOUR);
    expect(await codeOf(recordManualContact(svc, row.id, manual))).toBe('already_contacted');

    const [after] = await h.db.select().from(doubtCases).where(eq(doubtCases.id, row.id));
    expect(after!.contactMethod).toBe('telephone');
    expect(after!.contactedAt!.toISOString()).toBe(called.toISOString());
    const contacted = (await caseAuditTrail(h.db, row.id)).find((e) => e.action === 'case.contacted');
    expect(contacted!.actor).toBe(handler.actor);
    expect(contacted!.data).toMatchObject({
      method: 'telephone',
      contactPerson: 'P. Jansen',
      summary: 'Gebeld via CPR',
    });

    // No answer: "not demonstrated" at the end of the 72 hours from the call.
    const final = await h.result(row.id);
    expect(final.status).toBe('closed_mandate_not_demonstrated');
    const [closed] = await h.db.select().from(doubtCases).where(eq(doubtCases.id, row.id));
    expect(closed!.closedAt!.getTime()).toBeGreaterThanOrEqual(called.getTime() + 72 * HOUR);
    await h.recordHistory(row.id, 'manual-contact-empty-group');
  });

  it('a call recorded 73 hours after it happened still leaves the party 72 hours from the recording (GT-3)', async () => {
    const fixture = await h.fixture({ partyContacts: false });
    const { row } = await h.openCase({ fixture });
    await h.startWorkflow(row.id);
    await h.waitFor(row.id, (s) => s.status === 'blocked');
    const called = new Date((await h.now()).getTime() + 10 * 60_000);
    await h.env.sleep(73 * HOUR + 20 * 60_000);
    const before = await h.now();
    expect(before.getTime() - called.getTime()).toBeGreaterThanOrEqual(73 * HOUR);
    const manual = {
      ...handler,
      method: 'telephone' as const,
      contactPerson: 'P. Jansen',
      summary: 'Gebeld, laat vastgelegd',
    };
    const snap = await recordManualContact(svc, row.id, { ...manual, contactedAt: called.toISOString() });
    const after = await h.now();
    // Not closed at once: the party has its 72 hours, from the recording.
    expect(snap.status).toBe('awaiting_response');
    expect(snap.contactedAt).toBe(called.toISOString());
    const due = new Date(snap.deadlines.response.dueAt!).getTime();
    expect(due).toBeGreaterThanOrEqual(before.getTime() + 72 * HOUR);
    expect(due).toBeLessThanOrEqual(after.getTime() + 72 * HOUR);
    const [open] = await h.db.select().from(doubtCases).where(eq(doubtCases.id, row.id));
    expect(open!.closedAt).toBeNull();
    expect(await h.patchIds(row.id)).toContain('manual-contact-never-shortens-response-window');

    // No answer: "not demonstrated" only when the 72 hours from the recording have run.
    const final = await h.result(row.id);
    expect(final.status).toBe('closed_mandate_not_demonstrated');
    const [closed] = await h.db.select().from(doubtCases).where(eq(doubtCases.id, row.id));
    expect(closed!.closedAt!.getTime()).toBeGreaterThanOrEqual(before.getTime() + 72 * HOUR);
    await h.recordHistory(row.id, 'manual-contact-recorded-late');
  });

  it('with a working group the mail is the contact: attempts recorded without error, manual contact refused afterwards', async () => {
    const { row } = await h.openCase({});
    await h.startWorkflow(row.id);
    await h.waitFor(row.id, (s) => s.status === 'awaiting_response');
    // The workflow's state moves on as the mail is handed over; the row follows with the next activity.
    let c = (await h.db.select().from(doubtCases).where(eq(doubtCases.id, row.id)))[0];
    for (let i = 0; i < 100 && c?.contactedAt == null; i++) {
      await new Promise((r) => setTimeout(r, 100));
      c = (await h.db.select().from(doubtCases).where(eq(doubtCases.id, row.id)))[0];
    }
    expect(c!.contactMethod).toBe('email');
    expect(c!.contactAttempts).toBe(1);
    expect(c!.contactLastError).toBeNull();
    expect(c!.contactGroupEmptyAt).toBeNull();
    expect(
      await codeOf(
        recordManualContact(svc, row.id, { ...handler, method: 'letter', contactPerson: 'X', summary: 'brief' }),
      ),
    ).toBe('already_contacted');
  });
});
