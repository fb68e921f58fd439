/**
 * Issue 10, the people around the case (domain/case-notices.ts), with time skipping on the real stack (Java
 * test server, PostgreSQL, the SMTP capture receiving the real mail): the reporter's acknowledgement at intake
 * and outcome at closing, the grid user's block and lift notices, "no address" recorded, and a reporter whose
 * mail keeps failing that holds up nothing (bounded retries, the failure recorded).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities/index.js';
import { caseAuditTrail, createCaseWithBlock, requireCase } from '../../db/repositories/cases.js';
import { recordConnectionEvent } from '../../db/repositories/connections.js';
import { blocks, connections, gridUsers, type AuditEntry, type SignalChannel } from '../../db/schema/index.js';
import type { CaseNotice } from '../../domain/case-notices.js';
import { partySeesCaseAction } from '../../domain/visibility.js';
import {
  judgeEvidence,
  liftWrongfulBlock,
  submitResponse,
  type CaseServiceDeps,
} from '../../services/cases/actions.js';
import { NOTICE_RETRY } from '../../workflows/activity-options.js';
import { TELL_PEOPLE_AROUND_THE_CASE } from '../../workflows/doubt-case/patches.js';
import type { CapturedMail } from '../helpers/index.js';
import { caseHarness, TASK_QUEUE, workflowBundle, type CaseHarness, type Fixture } from './harness.js';

const HOUR = 3_600_000;
const pdf = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');
const handler = { actor: 'api-key:handler', actorRole: 'case-handler' };
/** Reporters at this domain stand for a mailbox that refuses every attempt (550), as a real one can. */
const UNREACHABLE = '@unreachable.example';

let h: CaseHarness;
let svc: CaseServiceDeps;
let worker: Worker;
let running: Promise<void>;
const failedAttempts = new Map<string, number>();

beforeAll(async () => {
  h = await caseHarness('people');
  svc = { db: h.db, temporal: h.env.client, taskQueue: TASK_QUEUE, evidenceMaxBytes: 1_048_576 };
  const real = createActivities(h.deps);
  // One worker for the file (harness.ts): the real activities, except that a reporter at UNREACHABLE refuses.
  worker = await Worker.create({
    connection: h.env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowBundle: await workflowBundle(),
    dataConverter: h.dataConverter,
    activities: {
      ...real,
      async sendCaseNotice(input: { caseId: string; notice: CaseNotice; at: string }) {
        const row = await requireCase(h.db, input.caseId);
        if (input.notice.startsWith('reporter') && row.reporterContact?.endsWith(UNREACHABLE)) {
          failedAttempts.set(input.caseId, (failedAttempts.get(input.caseId) ?? 0) + 1);
          throw ApplicationFailure.retryable(`550 5.1.1 <${row.reporterContact}>: mailbox unavailable`, 'SmtpRejected');
        }
        return real.sendCaseNotice(input);
      },
    },
  });
  running = worker.run();
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await h?.close();
});

const tag = () => randomBytes(3).toString('hex');

/** A connection with a grid user (with or without an e-mail address), or none. */
async function withGridUser(f: Fixture, email: string | null | 'none'): Promise<void> {
  if (email === 'none') return;
  const [u] = await h.db.insert(gridUsers).values({ name: 'J. de Vries', email }).returning();
  await h.db.update(connections).set({ gridUserId: u!.id }).where(eq(connections.ean, f.connectionEan));
}

async function openCase(o: {
  channel: SignalChannel;
  reporterName: string;
  reporterContact?: string;
  reporterReference?: string;
  gridUserEmail: string | null | 'none';
}) {
  const f = await h.fixture();
  await withGridUser(f, o.gridUserEmail);
  const at = await h.now();
  const { row } = await createCaseWithBlock(h.db, {
    actor: 'test',
    actorRole: 'case-handler',
    gridOperatorId: f.gridOperatorId,
    partyId: f.partyId,
    connectionEan: f.connectionEan,
    channel: o.channel,
    receivedAt: at,
    reporterName: o.reporterName,
    reporterContact: o.reporterContact ?? null,
    reporterReference: o.reporterReference ?? null,
    description: 'Klant meldt onbekende P4-opvragingen',
    isma: false,
    at,
  });
  await h.startWorkflow(row.id);
  return { row, fixture: f };
}

const notices = (trail: AuditEntry[], notice: CaseNotice) => trail.filter((e) => e.data['notice'] === notice);
const sent = (trail: AuditEntry[], notice: CaseNotice) =>
  trail.find((e) => e.action === 'case.notice_sent' && e.data['notice'] === notice);

/** Dutch first, English below (templates.ts). */
function expectDutchThenEnglish(m: CapturedMail, dutch: string, english: string): void {
  const text = m.text ?? '';
  const nl = text.indexOf(dutch);
  const divider = text.indexOf('English version');
  const en = text.indexOf(english);
  expect(nl).toBeGreaterThanOrEqual(0);
  expect(divider).toBeGreaterThan(nl);
  expect(en).toBeGreaterThan(divider);
}

describe('the people around the case', () => {
  it('an AP signal: the reporter is acknowledged and told the outcome, the grid user told of the block and its lift (GT-2, GT-8)', async () => {
    const t = tag();
    const reporter = `melder-${t}@ap.example`;
    const gridUser = `bewoner-${t}@home.example`;
    const { row, fixture } = await openCase({
      channel: 'ap',
      reporterName: 'Autoriteit Persoonsgegevens, afdeling Meldingen',
      reporterContact: reporter,
      reporterReference: `AP-${t}`,
      gridUserEmail: gridUser,
    });

    const ack = await h.mail((m) => m.to.includes(reporter) && (m.subject ?? '').includes('Ontvangstbevestiging'));
    expect(ack.subject).toContain(row.reference);
    expect(ack.subject).toContain(`AP-${t}`); // their own reference, echoed
    expectDutchThenEnglish(ack, 'Geachte Autoriteit Persoonsgegevens', 'Dear Autoriteit Persoonsgegevens');
    expect(ack.text).toContain('via de Autoriteit Persoonsgegevens (AP)');
    expect(ack.text).toContain('via the Dutch Data Protection Authority (AP)');
    expect(ack.headers['x-case-reference']).toBe(row.reference);

    const blocked = await h.mail((m) => m.to.includes(gridUser) && (m.subject ?? '').includes('geblokkeerd'));
    const [block] = await h.db.select().from(blocks).where(eq(blocks.caseId, row.id));
    expectDutchThenEnglish(blocked, 'Geachte J. de Vries', 'Dear J. de Vries');
    expect(blocked.text).toContain(fixture.connectionEan);
    expect(blocked.text).toContain(`Leverancier`); // names the party ...
    expect(blocked.text).not.toContain('Autoriteit Persoonsgegevens'); // ... never the reporter
    expect(blocked.text).not.toContain(`AP-${t}`);
    expect(blocked.text).not.toContain(reporter);

    await h.waitFor(row.id, (s) => s.status === 'awaiting_response');
    await h.env.sleep(5 * HOUR);
    const response = await submitResponse(svc, {
      caseId: row.id,
      partyId: fixture.partyId,
      actor: 'api-key:supplier',
      actorRole: 'supplier',
      actorPartyId: fixture.partyId,
      findings: 'Toestemming via ons portaal.',
      complaintHandling: 'Klant gebeld.',
      evidence: { filename: 'machtiging.pdf', contentType: 'application/pdf', content: pdf.toString('base64') },
    });
    await judgeEvidence(svc, row.id, { ...handler, responseId: response!.response.id, decision: 'accept' });
    await h.result(row.id);

    const outcome = await h.mail((m) => m.to.includes(reporter) && (m.subject ?? '').includes('Uitkomst'));
    expect(outcome.subject).toContain('mandaat aangetoond, blokkade opgeheven');
    expect(outcome.subject).toContain(`AP-${t}`);
    expectDutchThenEnglish(outcome, 'heeft aannemelijk gemaakt', 'has demonstrated');
    const lifted = await h.mail((m) => m.to.includes(gridUser) && (m.subject ?? '').includes('opgeheven'));
    const [liftedBlock] = await h.db.select().from(blocks).where(eq(blocks.caseId, row.id));
    expect(liftedBlock!.endedAt).not.toBeNull();
    expectDutchThenEnglish(lifted, 'is opgeheven', 'has been lifted');
    // The period: from the block's start to its lift, on the Amsterdam clock.
    expect(lifted.text).toMatch(/van .+ tot .+, is opgeheven/);
    expect(lifted.text).toContain('over de periode van de blokkade'); // GT-8: retroactive
    expect(lifted.text).not.toContain('Autoriteit Persoonsgegevens');
    expect(block!.startedAt.getTime()).toBeLessThan(liftedBlock!.endedAt!.getTime());

    // Recorded in the case history: what was sent and to whom; none of it shown to the party.
    const trail = await caseAuditTrail(h.db, row.id);
    const kinds: CaseNotice[] = ['reporter_acknowledgement', 'grid_user_block', 'reporter_outcome', 'grid_user_lift'];
    for (const notice of kinds) {
      const e = sent(trail, notice);
      expect(e, notice).toBeDefined();
      expect(e!.actor).toBe(`workflow:${row.id}`);
      expect(notices(trail, notice)).toHaveLength(1);
    }
    expect(sent(trail, 'reporter_acknowledgement')!.data).toMatchObject({
      recipient: 'reporter',
      to: [reporter],
      subject: ack.subject,
      messageId: ack.messageId,
      reporterReference: `AP-${t}`,
    });
    expect(sent(trail, 'reporter_outcome')!.data).toMatchObject({
      outcome: 'accepted',
      blockLifted: true,
      rule: 'GT-8',
    });
    expect(sent(trail, 'grid_user_lift')!.data).toMatchObject({
      recipient: 'grid_user',
      to: [gridUser],
      blockedFrom: block!.startedAt.toISOString(),
      blockedUntil: liftedBlock!.endedAt!.toISOString(),
      retroactive: true,
    });
    const partyView = trail.filter((e) => partySeesCaseAction(e.action));
    expect(partyView.some((e) => e.action.startsWith('case.notice'))).toBe(false);
    expect(JSON.stringify(partyView)).not.toContain(reporter);
    // A new run records the patch once, under the id naming the behaviour, not the branch's former id
    // (FORMER_PATCH_IDS; workflows/patched-as.ts): the recorded w10b histories carry that one and replay.
    expect(await h.patchIds(row.id)).toEqual([TELL_PEOPLE_AROUND_THE_CASE]);
    await h.recordHistory(row.id, 'w10b-accepted-people-told');
  });

  it('not demonstrated (GT-4): the reporter hears the block stays; a grid user without an address is recorded, and no lift is announced', async () => {
    const reporter = `klant-${tag()}@mail.example`;
    const { row } = await openCase({
      channel: 'customer',
      reporterName: 'P. Jansen',
      reporterContact: `  ${reporter} `,
      gridUserEmail: null,
    });
    await h.waitFor(row.id, (s) => s.status === 'awaiting_response');
    await h.result(row.id); // the 72 hours run out
    const outcome = await h.mail((m) => m.to.includes(reporter) && (m.subject ?? '').includes('Uitkomst'));
    expect(outcome.subject).toContain('mandaat niet aangetoond, blokkade blijft');
    expectDutchThenEnglish(outcome, 'De blokkade blijft van kracht', 'The block stays in force');
    const trail = await caseAuditTrail(h.db, row.id);
    expect(sent(trail, 'reporter_acknowledgement')!.data['to']).toEqual([reporter]);
    expect(notices(trail, 'grid_user_block')).toMatchObject([
      { action: 'case.notice_not_sent', data: { recipient: 'grid_user', reason: 'grid_user_without_email' } },
    ]);
    // The block stays: what the grid user is told of a possible breach is GT-11's decision, not a lift notice.
    expect(notices(trail, 'grid_user_lift')).toEqual([]);
    expect(sent(trail, 'reporter_outcome')!.data).toMatchObject({ outcome: 'not_demonstrated', blockLifted: false });
  });

  it('a wrongful block (GT-7) with a reporter reachable by telephone only and no grid user: "no address" recorded for each notice', async () => {
    const { row, fixture } = await openCase({
      channel: 'consuwijzer',
      reporterName: 'ConsuWijzer',
      reporterContact: '088 070 70 70',
      gridUserEmail: 'none',
    });
    await h.waitFor(row.id, (s) => s.status === 'awaiting_response');
    await liftWrongfulBlock(svc, row.id, { ...handler, reason: 'signaal betrof een andere partij' });
    await h.result(row.id);
    await h.mail((m) => m.to.includes(fixture.partyMail) && (m.subject ?? '').includes('onterecht'));
    const trail = await caseAuditTrail(h.db, row.id);
    for (const notice of ['reporter_acknowledgement', 'reporter_outcome'] as const)
      expect(notices(trail, notice)).toMatchObject([
        { action: 'case.notice_not_sent', data: { reason: 'reporter_contact_not_an_email_address' } },
      ]);
    for (const notice of ['grid_user_block', 'grid_user_lift'] as const)
      expect(notices(trail, notice)).toMatchObject([
        { action: 'case.notice_not_sent', data: { reason: 'no_grid_user' } },
      ]);
    await h.recordHistory(row.id, 'w10b-wrongful-block-no-addresses');
  });

  it('DC-7: after a change of customer the new grid user is told of the lift, for the period since they moved in', async () => {
    const t = tag();
    const before = `vorige-${t}@home.example`;
    const after = `nieuwe-${t}@home.example`;
    const { row, fixture } = await openCase({ channel: 'customer', reporterName: 'Klant', gridUserEmail: before });
    await h.mail((m) => m.to.includes(before) && (m.subject ?? '').includes('geblokkeerd'));
    await h.waitFor(row.id, (s) => s.status === 'awaiting_response');
    await h.env.sleep(2 * HOUR);
    const movedIn = await h.now();
    const [newcomer] = await h.db.insert(gridUsers).values({ name: 'M. Bakker', email: after }).returning();
    // On the test server's (skipped) clock, which runs ahead of the real one.
    await recordConnectionEvent(
      h.db,
      handler,
      fixture.connectionEan,
      { kind: 'customer_switch', effectiveAt: movedIn, newGridUserId: newcomer!.id },
      movedIn,
    );
    await h.env.sleep(HOUR);
    await liftWrongfulBlock(svc, row.id, { ...handler, reason: 'verkeerde aansluiting' });
    await h.result(row.id);
    const lifted = await h.mail((m) => m.to.includes(after) && (m.subject ?? '').includes('opgeheven'));
    expect(lifted.text).toContain('Geachte M. Bakker');
    const trail = await caseAuditTrail(h.db, row.id);
    const [block] = await h.db.select().from(blocks).where(eq(blocks.caseId, row.id));
    expect(sent(trail, 'grid_user_block')!.data).toMatchObject({
      to: [before],
      blockedFrom: block!.startedAt.toISOString(),
    });
    expect(sent(trail, 'grid_user_lift')!.data).toMatchObject({ to: [after], blockedFrom: movedIn.toISOString() });
    expect(block!.startedAt.getTime()).toBeLessThan(movedIn.getTime());
  });

  it("a reporter's mailbox that refuses holds up nothing: bounded retries, then the failure is recorded; the grid user is told", async () => {
    const t = tag();
    const reporter = `melder-${t}${UNREACHABLE}`;
    const gridUser = `bewoner-${t}@home.example`;
    const { row, fixture } = await openCase({
      channel: 'acm',
      reporterName: 'ACM',
      reporterContact: reporter,
      gridUserEmail: gridUser,
    });
    // The case goes on at once: the party is contacted and the grid user told while the reporter's mail fails.
    await h.waitFor(row.id, (s) => s.status === 'awaiting_response');
    await h.mail((m) => m.to.includes(fixture.partyMail) && (m.subject ?? '').includes(row.reference));
    await h.mail((m) => m.to.includes(gridUser) && (m.subject ?? '').includes('geblokkeerd'));
    await liftWrongfulBlock(svc, row.id, { ...handler, reason: 'melding betrof een andere aansluiting' });
    await h.result(row.id); // skips through the retries' backoff
    expect(failedAttempts.get(row.id)).toBe(2 * NOTICE_RETRY.maximumAttempts!);
    const trail = await caseAuditTrail(h.db, row.id);
    for (const notice of ['reporter_acknowledgement', 'reporter_outcome'] as const)
      expect(notices(trail, notice)).toMatchObject([
        {
          action: 'case.notice_failed',
          data: { recipient: 'reporter', error: expect.stringContaining('550 5.1.1') as unknown },
        },
      ]);
    expect(sent(trail, 'grid_user_lift')!.data['to']).toEqual([gridUser]);
    expect(trail.find((e) => e.action === 'case.closed')!.data['outcome']).toBe('wrongful_block');
  });
});
