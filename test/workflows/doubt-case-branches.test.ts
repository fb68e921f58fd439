/**
 * Every branch of the doubt case with time skipping, real PostgreSQL and the real SMTP capture: the
 * deadlines are the real ones (1 working day, 72 hours), skipped by the Java test server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import {
  acmNotifications,
  allocationMethods,
  blocks,
  caseHistoryArchives,
  caseResponses,
  doubtCases,
  zeroAllocations,
} from '../../db/schema/index.js';
import { caseAuditTrail } from '../../db/repositories/cases.js';
import {
  addNote,
  judgeEvidence,
  liftWrongfulBlock,
  notifyAcm,
  submitResponse,
  withdrawCase,
  type CaseServiceDeps,
} from '../../services/cases/actions.js';
import { ApplicationFailure } from '@temporalio/common';
import type { CaseRefusal } from '../../domain/case.js';
import type { SignedWith } from '../../domain/visibility.js';
import { DomainError } from '../../lib/errors.js';
import { judgeEvidenceUpdate, REFUSAL_TYPE } from '../../workflows/shared.js';
import { caseHarness, TASK_QUEUE, workflowBundle, type CaseHarness } from './harness.js';

const HOUR = 3_600_000;
const pdf = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');
const handler = { actor: 'api-key:handler', actorRole: 'case-handler' };

let h: CaseHarness;
let svc: CaseServiceDeps;
let stopWorker: () => Promise<void>;
beforeAll(async () => {
  h = await caseHarness('branches');
  svc = { db: h.db, temporal: h.env.client, taskQueue: TASK_QUEUE, evidenceMaxBytes: 1_048_576 };
  stopWorker = await h.runWorker();
});
afterAll(async () => {
  await stopWorker?.();
  await h?.close();
});

function respond(caseId: string, partyId: string, withEvidence = true) {
  return submitResponse(svc, {
    caseId,
    partyId,
    actor: 'api-key:supplier',
    actorRole: 'supplier',
    actorPartyId: partyId,
    findings: 'De klant heeft via ons portaal toestemming gegeven.',
    complaintHandling: 'Klant teruggebeld, uitleg gegeven.',
    evidence: withEvidence
      ? { filename: 'machtiging.pdf', contentType: 'application/pdf', content: pdf.toString('base64') }
      : null,
  });
}

async function expectDomainError(p: Promise<unknown>, code: string): Promise<DomainError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  expect((err as DomainError).code).toBe(code);
  return err as DomainError;
}

describe('doubt case branches', () => {
  it('accepted (GT-8, GT-7): the Update answers the new state; block lifted retroactively, zero allocation ended, evidence destroyed, party told', async () => {
    const { row, fixture } = await h.openCase({ isma: true });
    await h.startWorkflow(row.id);
    await h.waitFor(row.id, (s) => s.status === 'awaiting_response');
    await h.env.sleep(10 * HOUR);
    const sent = await respond(row.id, fixture.partyId);
    expect(sent!.result.snapshot.status).toBe('awaiting_judgement');
    const [stored] = await h.db.select().from(caseResponses).where(eq(caseResponses.id, sent!.response.id));
    expect(stored!.status).toBe('received');
    expect(stored!.evidenceSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(stored!.evidenceContent).not.toBeNull();

    const snap = await judgeEvidence(svc, row.id, { ...handler, responseId: sent!.response.id, decision: 'accept' });
    expect(snap.status).toBe('closed_mandate_accepted');
    expect(snap.deadlines.unblock.state).toBe('met');
    expect(snap.deadlines.response.state).toBe('met');
    await h.result(row.id);
    const [b] = await h.db.select().from(blocks).where(eq(blocks.caseId, row.id));
    expect(b!.endedAt).not.toBeNull();
    expect(b!.retroactive).toBe(true);
    expect(b!.liftReason).toBe('mandate_accepted');
    const [z] = await h.db.select().from(zeroAllocations).where(eq(zeroAllocations.caseId, row.id));
    expect(z!.endedAt).not.toBeNull();
    expect(await h.db.select().from(allocationMethods).where(eq(allocationMethods.caseId, row.id))).toHaveLength(0);
    const [resp] = await h.db.select().from(caseResponses).where(eq(caseResponses.caseId, row.id));
    expect(resp!.evidenceContent).toBeNull(); // GT-8: copy destroyed
    expect(resp!.evidenceSha256).toMatch(/^[0-9a-f]{64}$/); // digest kept
    expect(resp!.evidenceDestroyedAt).not.toBeNull();
    expect(resp!.judgement).toBe('accepted');
    const [c] = await h.db.select().from(doubtCases).where(eq(doubtCases.id, row.id));
    expect(c!.status).toBe('closed_mandate_accepted');
    expect(c!.unblockedAt!.getTime()).toBeLessThan(c!.unblockDueAt!.getTime());
    await h.mail((m) => m.to.includes(fixture.partyMail) && (m.subject ?? '').includes('blokkade opgeheven'));

    // Compliance archive: the complete history (through the completion) is in PostgreSQL and replays.
    const live = await h.env.client.workflow.getHandle(row.id).fetchHistory();
    const [archive] = await h.db.select().from(caseHistoryArchives).where(eq(caseHistoryArchives.caseId, row.id));
    expect(archive!.eventCount).toBe(live.events!.length);
    const archived = historyFromJSON(archive!.history);
    expect(archived.events!.at(-1)!.workflowExecutionCompletedEventAttributes).toBeTruthy();
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, archived, row.id);
    await h.recordHistory(row.id, 'accepted-isma');
  });

  it('rejected with a reason (GT-3, GT-4): the case stays open, the party answers again within the 72 hours, an acceptance closes at once (GT-8)', async () => {
    const { row, fixture } = await h.openCase({ isma: true });
    await h.startWorkflow(row.id);
    await h.waitFor(row.id, (s) => s.status === 'awaiting_response');
    const first = await respond(row.id, fixture.partyId);
    const noReason = await expectDomainError(
      judgeEvidence(svc, row.id, { ...handler, responseId: first!.response.id, decision: 'reject', reason: '' }),
      'reason_required',
    );
    expect(noReason.field).toBe('reason'); // the domain input; api/ maps it to body.reason
    const rejected = await judgeEvidence(svc, row.id, {
      ...handler,
      responseId: first!.response.id,
      decision: 'reject',
      reason: 'handtekening ontbreekt',
    });
    // The 72 hours are the party's: a rejection does not decide the case.
    expect(rejected.status).toBe('awaiting_response');
    expect(rejected.outcome).toBeNull();
    expect(rejected.responses[0]!.judgement).toBe('rejected');
    const [open] = await h.db.select().from(doubtCases).where(eq(doubtCases.id, row.id));
    expect(open!.status).toBe('awaiting_response');
    expect(open!.closedAt).toBeNull();
    const [b0] = await h.db.select().from(blocks).where(eq(blocks.caseId, row.id));
    expect(b0!.endedAt).toBeNull();
    await expectDomainError(
      judgeEvidence(svc, row.id, { ...handler, responseId: first!.response.id, decision: 'accept' }),
      'nothing_to_judge',
    );

    await h.env.sleep(30 * HOUR);
    const second = await respond(row.id, fixture.partyId);
    expect(second!.result.snapshot.status).toBe('awaiting_judgement');
    const snap = await judgeEvidence(svc, row.id, { ...handler, responseId: second!.response.id, decision: 'accept' });
    expect(snap.status).toBe('closed_mandate_accepted');
    await h.result(row.id);
    const [b] = await h.db.select().from(blocks).where(eq(blocks.caseId, row.id));
    expect(b!.liftReason).toBe('mandate_accepted');
    const trail = await caseAuditTrail(h.db, row.id);
    const judged = trail.filter((e) => e.action === 'case.evidence_judged');
    expect(judged.map((e) => (e.data as { decision: string }).decision)).toEqual(['rejected', 'accepted']);
    expect(judged[0]!.actor).toBe(handler.actor);
    expect(judged[0]!.data).toMatchObject({ reason: 'handtekening ontbreekt', caseOpen: true, rule: 'GT-3, GT-4' });
    await h.recordHistory(row.id, 'rejected-then-accepted');
  });

  it('rejected and no other evidence: "mandate not demonstrated" falls at the end of the 72 hours, block stays, iSMA to profile (GT-4); later evidence refused (GT-8)', async () => {
    const { row, fixture } = await h.openCase({ isma: true });
    await h.startWorkflow(row.id);
    const s0 = await h.waitFor(row.id, (s) => s.status === 'awaiting_response');
    const sent = await respond(row.id, fixture.partyId);
    const rejected = await judgeEvidence(svc, row.id, {
      ...handler,
      responseId: sent!.response.id,
      decision: 'reject',
      reason: 'handtekening ontbreekt',
    });
    expect(rejected.status).toBe('awaiting_response');
    // Nothing changes before the 72 hours end: no profile switch, the '0' allocation stays.
    await h.skipTo(new Date(new Date(s0.deadlines.response.dueAt!).getTime() - HOUR));
    const s1 = await h.snapshot(row.id);
    expect(s1.status).toBe('awaiting_response');
    expect(await h.db.select().from(allocationMethods).where(eq(allocationMethods.caseId, row.id))).toHaveLength(0);

    const final = await h.result(row.id);
    expect(final.status).toBe('closed_mandate_not_demonstrated');
    const [b] = await h.db.select().from(blocks).where(eq(blocks.caseId, row.id));
    expect(b!.endedAt).toBeNull();
    const [m] = await h.db.select().from(allocationMethods).where(eq(allocationMethods.caseId, row.id));
    expect(m!.method).toBe('profile');
    const [c] = await h.db.select().from(doubtCases).where(eq(doubtCases.id, row.id));
    expect(c!.closeReason).toBe(
      'mandate evidence rejected (handtekening ontbreekt); no evidence accepted within 72 hours',
    );
    expect(c!.closedBy).toBe(`workflow:${row.id}`);
    expect(c!.closedAt!.getTime()).toBeGreaterThanOrEqual(new Date(s0.deadlines.response.dueAt!).getTime());
    expect(c!.profileEffectiveFrom).not.toBeNull();

    const late = await expectDomainError(respond(row.id, fixture.partyId), 'response_window_closed');
    expect(late.message).toMatch(/regular processes/);
    await h.mail(
      (x) =>
        x.to.includes(fixture.partyMail) &&
        (x.subject ?? '').includes('niet aangetoond') &&
        (x.text ?? '').includes('handtekening ontbreekt'),
    );
    await h.recordHistory(row.id, 'rejected-isma-window-ends');
  });

  it('evidence in time, rejected after the 72 hours: "mandate not demonstrated" at once, by the handler (GT-4)', async () => {
    const { row, fixture } = await h.openCase({ isma: false });
    await h.startWorkflow(row.id);
    const s0 = await h.waitFor(row.id, (s) => s.status === 'awaiting_response');
    const sent = await respond(row.id, fixture.partyId);
    await h.skipTo(new Date(new Date(s0.deadlines.response.dueAt!).getTime() + HOUR));
    await h.waitFor(row.id, (s) => s.responseWindowClosed);
    // Issue 19: signed with a person's fresh authentication, which the decision carries to the judgement's entry.
    const signedWith: SignedWith = {
      kind: 'step_up',
      authenticatedAt: '2026-01-05T09:00:00.000Z',
      acr: 'urn:test:mfa',
      amr: ['pwd', 'otp'],
    };
    const snap = await judgeEvidence(svc, row.id, {
      ...handler,
      responseId: sent!.response.id,
      decision: 'reject',
      reason: 'machtiging van een andere aansluiting',
      signedWith,
    });
    expect(snap.status).toBe('closed_mandate_not_demonstrated');
    await h.result(row.id);
    const [c] = await h.db.select().from(doubtCases).where(eq(doubtCases.id, row.id));
    expect(c!.closedBy).toBe(handler.actor);
    expect(c!.closeReason).toBe('machtiging van een andere aansluiting');
    const judged = (await caseAuditTrail(h.db, row.id)).filter((e) => e.action === 'case.evidence_judged');
    expect(judged.map((e) => [e.actor, e.data])).toEqual([
      [handler.actor, expect.objectContaining({ decision: 'rejected', signedWith })],
    ]);
    // Recorded as its own history: late-rejection.json (before issue 19, no signedWith) stays for the cases that
    // started before it, and this one shows the signed update and activity input replaying.
    await h.recordHistory(row.id, 'late-rejection-signed');
  });

  it('evidence in time but unjudged at 72 hours: waits for the judgement, reminds the handler, allocation unchanged; evidence after 72 h refused', async () => {
    const { row, fixture } = await h.openCase({ isma: true });
    await h.startWorkflow(row.id);
    const s0 = await h.waitFor(row.id, (s) => s.status === 'awaiting_response');

    await h.env.sleep(70 * HOUR);
    const sent = await respond(row.id, fixture.partyId);
    await h.skipTo(new Date(new Date(s0.deadlines.response.dueAt!).getTime() + HOUR));
    const s1 = await h.waitFor(row.id, (s) => s.responseWindowClosed);
    expect(s1.status).toBe('awaiting_judgement');
    expect(s1.deadlines.response.state).toBe('met');
    await h.mail((m) => m.to.includes(fixture.handlerMail) && (m.subject ?? '').includes('Herinnering'));
    // Allocation untouched while the judgement is pending.
    const [z] = await h.db.select().from(zeroAllocations).where(eq(zeroAllocations.caseId, row.id));
    expect(z!.endedAt).toBeNull();
    expect(await h.db.select().from(allocationMethods).where(eq(allocationMethods.caseId, row.id))).toHaveLength(0);
    // A second answer after the 72 hours is refused, its copy dropped at once.
    await expectDomainError(respond(row.id, fixture.partyId), 'response_window_closed');
    const refused = await h.db
      .select()
      .from(caseResponses)
      .where(and(eq(caseResponses.caseId, row.id), eq(caseResponses.status, 'refused')));
    expect(refused).toHaveLength(1);
    expect(refused[0]!.evidenceContent).toBeNull();
    expect(refused[0]!.evidenceSha256).toMatch(/^[0-9a-f]{64}$/);
    const snap = await judgeEvidence(svc, row.id, { ...handler, responseId: sent!.response.id, decision: 'accept' });
    expect(snap.status).toBe('closed_mandate_accepted');
    await h.result(row.id);
    const trail = await caseAuditTrail(h.db, row.id);
    expect(trail.map((e) => e.action)).toEqual(
      expect.arrayContaining(['case.judgement_reminder', 'case.response_refused']),
    );
    await h.recordHistory(row.id, 'late-judgement');
  });

  it('a wrongful block is lifted at any moment (GT-7), retroactively; the Update answers the closed state', async () => {
    const { row, fixture } = await h.openCase({ isma: false });
    await h.startWorkflow(row.id);
    await h.waitFor(row.id, (s) => s.status === 'awaiting_response');
    await expectDomainError(liftWrongfulBlock(svc, row.id, { ...handler, reason: ' ' }), 'invalid_request');
    const snap = await liftWrongfulBlock(svc, row.id, { ...handler, reason: 'verkeerde aansluiting gemeld' });
    expect(snap.status).toBe('closed_wrongful_block');
    expect(snap.deadlines.unblock.state).toBe('met');
    await h.result(row.id);
    const [b] = await h.db.select().from(blocks).where(eq(blocks.caseId, row.id));
    expect(b!.liftReason).toBe('wrongful_block');
    expect(b!.retroactive).toBe(true);
    await h.mail((m) => m.to.includes(fixture.partyMail) && (m.subject ?? '').includes('onterecht'));
    await expectDomainError(liftWrongfulBlock(svc, row.id, { ...handler, reason: 'again' }), 'case_closed');
    await h.recordHistory(row.id, 'wrongful-block');
  });

  it('ACM notification (GT-6), notes and withdrawal are recorded with who and when', async () => {
    const { row, fixture } = await h.openCase({ isma: true });
    await h.startWorkflow(row.id);
    await h.waitFor(row.id, (s) => s.status === 'awaiting_response');
    const acm = await notifyAcm(svc, row.id, { ...handler, message: 'Derde signaal over deze partij deze maand.' });
    expect(acm.notificationId).toMatch(/[0-9a-f-]{36}/);
    await addNote(svc, row.id, { ...handler, text: 'Klant telefonisch gesproken.' });
    const snap = await withdrawCase(svc, row.id, { ...handler, reason: 'klant trekt melding in' });
    expect(snap.status).toBe('closed_withdrawn');
    await h.result(row.id);
    const [n] = await h.db.select().from(acmNotifications).where(eq(acmNotifications.caseId, row.id));
    expect(n!.sentBy).toBe(handler.actor);
    await h.mail((m) => m.to.includes(h.deps.config.acmReportEmail) && (m.subject ?? '').includes(row.reference));
    const trail = await caseAuditTrail(h.db, row.id);
    const note = trail.find((e) => e.action === 'case.note');
    expect(note?.actor).toBe(handler.actor);
    expect(note?.data).toMatchObject({ text: 'Klant telefonisch gesproken.' });
    expect(trail.find((e) => e.action === 'case.acm_notified')?.actor).toBe(handler.actor);
    expect(trail.find((e) => e.action === 'case.closed')?.actor).toBe(handler.actor);
    const [b] = await h.db.select().from(blocks).where(eq(blocks.caseId, row.id));
    expect(b!.liftReason).toBe('case_withdrawn');
    expect(b!.retroactive).toBe(false);
    const [z] = await h.db.select().from(zeroAllocations).where(eq(zeroAllocations.caseId, row.id));
    expect(z!.endedAt).not.toBeNull();
    // A note on a closed case still lands in the audit log.
    await addNote(svc, row.id, { ...handler, text: 'Nagekomen opmerking.' });
    expect((await caseAuditTrail(h.db, row.id)).filter((e) => e.action === 'case.note')).toHaveLength(2);
    void fixture;
    await h.recordHistory(row.id, 'withdrawn-acm-note');
  });

  it('the service and the workflow validator refuse a judgement with one answer: nothing to judge, unknown response, no evidence', async () => {
    const { row, fixture } = await h.openCase({ isma: false });
    await h.startWorkflow(row.id);
    await h.waitFor(row.id, (s) => s.status === 'awaiting_response');
    const unknownId = '00000000-0000-4000-8000-000000000000';
    // The workflow's own refusal (its validator, asked directly), mapped as the service maps it.
    const validator = (j: { responseId: string; decision: 'accept' | 'reject'; reason?: string }) =>
      h.env.client.workflow
        .getHandle(row.id)
        .executeUpdate(judgeEvidenceUpdate, { args: [{ ...handler, ...j }] })
        .then(
          () => undefined,
          (e: unknown) => {
            const f = (e as { cause?: unknown }).cause;
            expect(f).toBeInstanceOf(ApplicationFailure);
            expect((f as ApplicationFailure).type).toBe(REFUSAL_TYPE);
            return ((f as ApplicationFailure).details?.[0] as CaseRefusal).code;
          },
        );
    await expectDomainError(
      judgeEvidence(svc, row.id, { ...handler, responseId: unknownId, decision: 'accept' }),
      'nothing_to_judge',
    );
    expect(await validator({ responseId: unknownId, decision: 'accept' })).toBe('nothing_to_judge');
    expect(await validator({ responseId: unknownId, decision: 'reject', reason: ' ' })).toBe('reason_required');
    const sent = await respond(row.id, fixture.partyId, false);
    expect(sent!.result.snapshot.status).toBe('awaiting_response'); // findings only: still waiting for evidence
    await expectDomainError(
      judgeEvidence(svc, row.id, { ...handler, responseId: unknownId, decision: 'accept' }),
      'response_not_found',
    );
    expect(await validator({ responseId: unknownId, decision: 'accept' })).toBe('response_not_found');
    await expectDomainError(
      judgeEvidence(svc, row.id, { ...handler, responseId: sent!.response.id, decision: 'accept' }),
      'response_without_evidence',
    );
    expect(await validator({ responseId: sent!.response.id, decision: 'accept' })).toBe('response_without_evidence');
    // Findings without evidence at 72 hours: the mandate was not demonstrated.
    const final = await h.result(row.id);
    expect(final.status).toBe('closed_mandate_not_demonstrated');
    expect(final.deadlines.response.state).toBe('met');
    const [c] = await h.db.select().from(doubtCases).where(eq(doubtCases.id, row.id));
    expect(c!.closeReason).toBe('no mandate evidence within 72 hours');
    expect(await h.db.select().from(allocationMethods).where(eq(allocationMethods.caseId, row.id))).toHaveLength(0); // not iSMA
    await h.recordHistory(row.id, 'findings-without-evidence');
  });
});
