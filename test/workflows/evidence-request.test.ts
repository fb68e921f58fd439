/**
 * Issue 10, the workflow pieces, with time skipping, real PostgreSQL and the real SMTP capture:
 *  - GT-3: the handler asks for more or other evidence within the 72 hours (bilingual mail, recorded, the
 *    deadline unchanged; a resend after an ambiguous SMTP failure is the same message);
 *  - GT-7: a withdrawal's reason code decides the block and the blocked period;
 *  - GT-4: the iSMA variant follows from the party and the connection's allocation basis at the signal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { inject } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { blocks, contactPersons, doubtCases, evidenceRequests } from '../../db/schema/index.js';
import { caseAuditTrail } from '../../db/repositories/cases.js';
import { recordAllocationBasis } from '../../db/repositories/allocation.js';
import { formatAmsterdam } from '../../domain/working-days.js';
import { DomainError } from '../../lib/errors.js';
import type { Mailer } from '../../notifications/mailer.js';
import { registerSignal } from '../../services/cases/intake.js';
import {
  judgeEvidence,
  requestEvidence,
  submitResponse,
  withdrawCase,
  type CaseServiceDeps,
} from '../../services/cases/actions.js';
import { listMail } from '../helpers/index.js';
import { caseHarness, TASK_QUEUE, type CaseHarness } from './harness.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const pdf = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');
const handler = { actor: 'api-key:handler', actorRole: 'case-handler' };

let h: CaseHarness;
let svc: CaseServiceDeps;
let stopWorker: () => Promise<void>;
/** Evidence-request sends that SMTP accepted and then "failed" (the result lost): each is retried once. */
const ambiguous = new Set<string>();

beforeAll(async () => {
  h = await caseHarness('w10a');
  svc = { db: h.db, temporal: h.env.client, taskQueue: TASK_QUEUE, evidenceMaxBytes: 1_048_576 };
  // The first send of every evidence request reaches SMTP, then throws: Temporal retries the activity.
  const flaky: Mailer = {
    from: h.mailer.from,
    close: () => undefined,
    async send(mail) {
      const sent = await h.mailer.send(mail);
      const id = mail.messageId ?? '';
      if (id.includes('evidence-request') && !ambiguous.has(id)) {
        ambiguous.add(id);
        throw new Error('connection reset after DATA (the message may have been delivered)');
      }
      return sent;
    },
  };
  const flakyActivities = createActivities({ ...h.deps, mailer: flaky });
  const worker = await h.worker({ sendEvidenceRequestEmail: flakyActivities.sendEvidenceRequestEmail });
  const running = worker.run();
  stopWorker = async () => {
    worker.shutdown();
    await running;
  };
});
afterAll(async () => {
  await stopWorker?.();
  await h?.close();
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (e: unknown) => (e instanceof DomainError ? e.code : String(e)),
  );
}

function respond(caseId: string, partyId: string) {
  return submitResponse(svc, {
    caseId,
    partyId,
    actor: 'api-key:supplier',
    actorRole: 'supplier',
    actorPartyId: partyId,
    findings: 'Aanvullend: de getekende machtiging.',
    complaintHandling: 'Klant gebeld.',
    evidence: { filename: 'machtiging-2.pdf', contentType: 'application/pdf', content: pdf.toString('base64') },
  });
}

async function caseRow(id: string) {
  return (await h.db.select().from(doubtCases).where(eq(doubtCases.id, id)))[0]!;
}

describe('more evidence on request (GT-3)', () => {
  it('asked within the 72 hours: recorded with the actor, mailed bilingually with the unchanged reply-by; a resend is the same message; refused before contact and after the 72 hours', async () => {
    // Before contact the 72 hours have not started: refused.
    const silent = await h.openCase({ fixture: await h.fixture({ partyContacts: false }) });
    await h.startWorkflow(silent.row.id);
    await h.waitFor(silent.row.id, (s) => s.status === 'blocked');
    expect(await codeOf(requestEvidence(svc, silent.row.id, { ...handler, message: 'Stuur de machtiging.' }))).toBe(
      'response_window_not_open',
    );

    const { row, fixture } = await h.openCase({});
    await h.startWorkflow(row.id);
    const before = await h.waitFor(row.id, (s) => s.status === 'awaiting_response');
    const due = before.deadlines.response.dueAt!;
    expect(await codeOf(requestEvidence(svc, row.id, { ...handler, message: '   ' }))).toBe('message_required');

    await h.env.sleep(2 * HOUR);
    const message =
      'Stuur de door de klant getekende machtiging van 12 maart, met de IP-registratie van de ondertekening.';
    const req = await requestEvidence(svc, row.id, { ...handler, message });
    expect(req.responseDueAt).toBe(due); // the 72 hours do not restart
    const after = await h.snapshot(row.id);
    expect(after.deadlines.response.dueAt).toBe(due);
    expect(after.status).toBe('awaiting_response');

    // The mail: to the party's doubt contact group, Dutch then English, what is asked, where to answer, by when.
    const first = await h.mail((m) => m.to.includes(fixture.partyMail) && (m.messageId ?? '').includes(req.requestId));
    const dueAt = new Date(due);
    expect(first.subject).toContain(row.reference);
    expect(first.text).toContain(message);
    expect(first.text).toContain(`/cases/${row.id}/responses`);
    expect(first.text).toContain(formatAmsterdam(dueAt, 'nl'));
    expect(first.text).toContain(formatAmsterdam(dueAt, 'en'));
    expect(first.text!.indexOf('Wat wij nodig hebben')).toBeLessThan(first.text!.indexOf('English version'));
    expect(first.text!.indexOf('English version')).toBeLessThan(first.text!.indexOf('What we need'));
    // SMTP took the first send but the activity failed: the retry sends the same text under the same Message-ID.
    let copies = [first];
    for (let i = 0; i < 100 && copies.length < 2; i++) {
      await h.env.sleep(30_000);
      await new Promise((r) => setTimeout(r, 100));
      copies = await listMail(inject('mailDir'), (m) => m.messageId === first.messageId);
    }
    expect(copies).toHaveLength(2);
    expect(copies[1]!.text).toBe(first.text);
    expect(copies[1]!.subject).toBe(first.subject);

    const [stored] = await h.db.select().from(evidenceRequests).where(eq(evidenceRequests.id, req.requestId));
    expect(stored).toMatchObject({ caseId: row.id, message, requestedBy: handler.actor });
    expect(stored!.responseDueAt.toISOString()).toBe(due);
    for (
      let i = 0;
      i < 50 &&
      !(await h.db.select().from(evidenceRequests).where(eq(evidenceRequests.id, req.requestId)))[0]!.mailedAt;
      i++
    )
      await new Promise((r) => setTimeout(r, 100));
    const [mailed] = await h.db.select().from(evidenceRequests).where(eq(evidenceRequests.id, req.requestId));
    expect(mailed!.mailedAt).not.toBeNull();
    expect(mailed!.recipients).toEqual([fixture.partyMail]);
    expect(mailed!.attempts).toBe(2); // the ambiguous failure, then the resend
    expect(mailed!.lastError).toMatch(/connection reset after DATA/);
    const trail = await caseAuditTrail(h.db, row.id);
    const asked = trail.filter((e) => e.action === 'case.evidence_requested');
    expect(asked).toHaveLength(1);
    expect(asked[0]!.actor).toBe(handler.actor);
    expect(asked[0]!.data).toMatchObject({ requestId: req.requestId, message, responseDueAt: due, rule: 'GT-3' });
    expect(trail.filter((e) => e.action === 'case.evidence_request_mailed')).toHaveLength(1);

    // The party answers through the response endpoint; after the 72 hours no more requests.
    await respond(row.id, fixture.partyId);
    await h.skipTo(new Date(dueAt.getTime() + HOUR));
    await h.waitFor(row.id, (s) => s.responseWindowClosed);
    expect(await codeOf(requestEvidence(svc, row.id, { ...handler, message: 'Nog iets.' }))).toBe(
      'response_window_closed',
    );
    const snap = await h.snapshot(row.id);
    const responseId = snap.responses[0]!.responseId;
    await judgeEvidence(svc, row.id, { ...handler, responseId, decision: 'accept' });
    const final = await h.result(row.id);
    expect(final.status).toBe('closed_mandate_accepted');
    expect(await codeOf(requestEvidence(svc, row.id, { ...handler, message: 'Te laat.' }))).toBe('case_closed');
    await h.recordHistory(row.id, 'w10a-evidence-request');
  });
});

describe('withdrawal (GT-7)', () => {
  it('not concerning the party is a wrongful block: lifted within 1 working day with the blocked period released; a request mail still retrying is stopped', async () => {
    const { row, fixture } = await h.openCase({ isma: true });
    await h.startWorkflow(row.id);
    await h.waitFor(row.id, (s) => s.status === 'awaiting_response');
    // The party's group empties: the request mail retries (GT-10) until the case is decided.
    await h.db.delete(contactPersons).where(eq(contactPersons.partyId, fixture.partyId));
    const req = await requestEvidence(svc, row.id, { ...handler, message: 'Stuur de machtiging.' });
    // No hidden retries: the request shows its failing attempts.
    let failing = (await h.db.select().from(evidenceRequests).where(eq(evidenceRequests.id, req.requestId)))[0]!;
    for (let i = 0; i < 100 && failing.attempts < 2; i++) {
      await h.env.sleep(30_000);
      await new Promise((r) => setTimeout(r, 100));
      failing = (await h.db.select().from(evidenceRequests).where(eq(evidenceRequests.id, req.requestId)))[0]!;
    }
    expect(failing.attempts).toBeGreaterThanOrEqual(2);
    expect(failing.lastError).toMatch(/no contacts in the "Gerede twijfel Klantmandaat" group/);
    expect(failing.mailedAt).toBeNull();
    const out = await withdrawCase(svc, row.id, {
      ...handler,
      reasonCode: 'not_concerning_party',
      reason: 'Het signaal betrof een andere leverancier.',
    });
    expect(out.status).toBe('closed_wrongful_block');
    expect(out.withdrawal).toMatchObject({
      reasonCode: 'not_concerning_party',
      outcome: 'wrongful_block',
      blockLifted: true,
      blockedPeriodReleased: true,
      unblockDeadline: true,
    });
    expect(out.deadlines.unblock.dueAt).not.toBeNull();
    await h.result(row.id); // completes: the retrying request mail was stopped
    const c = await caseRow(row.id);
    expect(c.withdrawalReason).toBe('not_concerning_party');
    expect(c.closeReason).toBe('Het signaal betrof een andere leverancier.');
    expect(c.unblockDueAt).not.toBeNull();
    const [b] = await h.db.select().from(blocks).where(eq(blocks.caseId, row.id));
    expect(b).toMatchObject({ liftReason: 'wrongful_block', retroactive: true });
    const [r] = await h.db.select().from(evidenceRequests).where(eq(evidenceRequests.id, req.requestId));
    expect(r!.mailedAt).toBeNull();
    const closed = (await caseAuditTrail(h.db, row.id)).find((e) => e.action === 'case.closed');
    expect(closed!.actor).toBe(handler.actor);
    expect(closed!.data).toMatchObject({
      outcome: 'wrongful_block',
      withdrawalReason: 'not_concerning_party',
      blockedPeriodReleased: true,
      retroactive: true,
      rule: 'GT-7, GT-8',
    });
    expect(String(closed!.data['effect'])).toMatch(/Wrongful block/);
    await h.recordHistory(row.id, 'w10a-withdrawn-not-concerning-party');
  });

  it('duplicate releases this case’s own period; reporter withdrew and no code (older callers) keep it closed', async () => {
    const cases = await Promise.all([h.openCase({}), h.openCase({}), h.openCase({})]);
    for (const { row } of cases) await h.startWorkflow(row.id);
    for (const { row } of cases) await h.waitFor(row.id, (s) => s.status === 'awaiting_response');
    const [dup, withdrew, legacy] = cases.map((c) => c.row);
    const d = await withdrawCase(svc, dup!.id, {
      ...handler,
      reasonCode: 'duplicate',
      reason: 'Zelfde melding als GT-x',
    });
    const w = await withdrawCase(svc, withdrew!.id, {
      ...handler,
      reasonCode: 'reporter_withdrew',
      reason: 'Klant trekt in',
    });
    const l = await withdrawCase(svc, legacy!.id, { ...handler, reason: 'klant trekt melding in' });
    expect([d.status, w.status, l.status]).toEqual(['closed_withdrawn', 'closed_withdrawn', 'closed_withdrawn']);
    expect([d.withdrawal.blockedPeriodReleased, w.withdrawal.blockedPeriodReleased, l.withdrawal.reasonCode]).toEqual([
      true,
      false,
      'other',
    ]);
    for (const [row, retroactive, code] of [
      [dup!, true, 'duplicate'],
      [withdrew!, false, 'reporter_withdrew'],
      [legacy!, false, 'other'],
    ] as const) {
      await h.result(row.id);
      const [b] = await h.db
        .select()
        .from(blocks)
        .where(and(eq(blocks.caseId, row.id)));
      expect(b).toMatchObject({ liftReason: 'case_withdrawn', retroactive });
      expect(b!.endedAt).not.toBeNull();
      const c = await caseRow(row.id);
      expect(c.withdrawalReason).toBe(code);
      expect(c.unblockDueAt).toBeNull();
      const closed = (await caseAuditTrail(h.db, row.id)).find((e) => e.action === 'case.closed');
      expect(closed!.data).toMatchObject({ withdrawalReason: code, blockedPeriodReleased: retroactive });
    }
  });
});

describe('the iSMA variant follows from the connection (GT-4)', () => {
  const intake = (f: Awaited<ReturnType<CaseHarness['fixture']>>, o: { isma?: boolean; receivedAt: Date }) =>
    registerSignal(
      svc,
      { ...handler, gridOperatorId: f.gridOperatorId },
      {
        connectionEan: f.connectionEan,
        partyGln: f.partyGln,
        channel: 'customer',
        receivedAt: o.receivedAt,
        reporterName: 'Klant',
        description: 'Onbekende opvragingen',
        ...(o.isma === undefined ? {} : { isma: o.isma }),
      },
    );

  /** iSMA on the supplier's request from ten days ago (the fixture's party is the supplier of record). */
  const onIsma = async (f: Awaited<ReturnType<CaseHarness['fixture']>>, now: Date) => {
    await recordAllocationBasis(h.db, {
      ...handler,
      connectionEan: f.connectionEan,
      method: 'isma',
      effectiveFrom: new Date(now.getTime() - 10 * DAY),
      basis: 'supplier_isma_request',
      supplierId: null,
      reference: null,
      reason: 'test',
    });
    return f;
  };

  it('derived from the party and the allocation basis at the signal; "concerns the iSMA reading" refused for a connection not on iSMA then', async () => {
    const now = new Date(); // the intake's clock (the test server's runs ahead once skipped)
    // The supplier of record's case on a connection on its iSMA request: GT-4 applies.
    const isma = await onIsma(await h.fixture(), now);
    const derived = await intake(isma, { receivedAt: new Date(now.getTime() - HOUR) });
    expect(derived.row.isma).toBe(true);
    const opened = (await caseAuditTrail(h.db, derived.row.id)).find((e) => e.action === 'case.opened');
    expect(opened!.data).toMatchObject({
      isma: true,
      ismaBasis: {
        derived: true,
        gt4Applies: true,
        onIsma: true,
        partyIsSupplierOfRecord: true,
        supplierOfRecordId: isma.partyId,
        allocationMethod: 'isma',
        allocationBasis: 'supplier_isma_request',
      },
    });

    // Profile allocation from two days ago: a signal from yesterday cannot concern the iSMA reading ...
    const profile = await onIsma(await h.fixture(), now);
    await recordAllocationBasis(h.db, {
      ...handler,
      connectionEan: profile.connectionEan,
      method: 'profile',
      effectiveFrom: new Date(now.getTime() - 2 * DAY),
      basis: null,
      supplierId: null,
      reference: null,
      reason: 'test',
    });
    const refused = await intake(profile, { isma: true, receivedAt: new Date(now.getTime() - DAY) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({ code: 'connection_not_on_isma', field: 'isma', kind: 'state' });
    expect(await h.db.select().from(doubtCases).where(eq(doubtCases.connectionEan, profile.connectionEan))).toEqual([]);
    // ... derived, it is not iSMA; a signal from before the switch was (the method at the signal moment).
    expect((await intake(profile, { receivedAt: new Date(now.getTime() - DAY) })).row.isma).toBe(false);
    const earlier = await intake(profile, { isma: true, receivedAt: new Date(now.getTime() - 3 * DAY) });
    expect(earlier.row.isma).toBe(true);

    // The handler may say an iSMA connection's signal concerns P4 requests only.
    const p4Only = await intake(await onIsma(await h.fixture(), now), {
      isma: false,
      receivedAt: new Date(now.getTime() - HOUR),
    });
    expect(p4Only.row.isma).toBe(false);
    const stated = (await caseAuditTrail(h.db, p4Only.row.id)).find((e) => e.action === 'case.opened');
    expect(stated!.data).toMatchObject({ isma: false, ismaBasis: { derived: false, onIsma: true } });
  });
});
