/**
 * GT-5 repeat offenders, the grid operators' joint judgement: the scan proposes (the signals behind the
 * proposal, classified; won, wrongful-block and withdrawn cases excluded), every grid operator in the system
 * votes (the electorate, fixed with the proposal: signals or not), the agreement rule over it starts the review
 * (contact on behalf of all, commitment, follow-up skipped) — one operator's vote never decides where others
 * exist — and the ACM report is sent only after a named person signs the decision; a decision not to report is
 * recorded. The file's database gathers grid operators test after test, so each review's electorate is read
 * from the review and as many of them vote as the rule needs.
 * GT-9: a supplier-side report informs the grid operator's contact group.
 *
 * The scan and the people's steps go through a client that does not unlock time skipping (the test server
 * would jump to the proposal's voting deadline whenever nothing is pending); the follow-up is skipped explicitly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { Client } from '@temporalio/client';
import {
  acmNotifications,
  auditLog,
  connections,
  doubtCases,
  improvementReviews,
  parties,
  reviewSignals,
  reviewVotes,
  supplierReports,
} from '../../db/schema/index.js';
import { createActivities } from '../../activities/index.js';
import { createCaseWithBlock } from '../../db/repositories/cases.js';
import { withCheckDigit } from '../../lib/gs1.js';
import type { CaseStatus } from '../../domain/case.js';
import type { SignalClass } from '../../domain/review.js';
import {
  classifyCaseSignal,
  decideAcmReport,
  recordCommitment,
  voteOnReview,
  type ReviewPerson,
} from '../../services/reviews/actions.js';
import {
  reviewStateQuery,
  reviewWorkflowId,
  supplierReportWorkflowId,
  type ImprovementReviewResult,
  type RepeatOffenderScanInput,
  type RepeatOffenderScanResult,
  type ReviewSnapshot,
} from '../../workflows/shared.js';
import { caseHarness, TASK_QUEUE, type CaseHarness, type Fixture } from './harness.js';

const DAY = 86_400_000;
let h: CaseHarness;
let plain: Client;
let stopWorker: () => Promise<void>;
beforeAll(async () => {
  h = await caseHarness('repeat_offenders');
  plain = new Client({ connection: h.env.connection, namespace: 'default', dataConverter: h.dataConverter });
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

async function signal(
  f: { gridOperatorId: string; connectionEan: string },
  partyId: string,
  at: Date,
  o: { signalClass?: SignalClass; status?: CaseStatus } = {},
): Promise<string> {
  const { row } = await createCaseWithBlock(h.db, {
    actor: 'test',
    gridOperatorId: f.gridOperatorId,
    partyId,
    connectionEan: f.connectionEan,
    channel: 'consuwijzer',
    receivedAt: at,
    reporterName: 'Klant',
    description: 'signaal',
    isma: false,
    signalClass: o.signalClass ?? 'party_unknown_to_customer',
    at,
  });
  // A closed case as its workflow would leave it (only its status matters to GT-5).
  if (o.status) await h.db.update(doubtCases).set({ status: o.status }).where(eq(doubtCases.id, row.id));
  return row.id;
}

const scan = (input: RepeatOffenderScanInput) =>
  plain.workflow.execute('repeatOffenderScanWorkflow', {
    taskQueue: TASK_QUEUE,
    workflowId: `scan-${Date.now()}-${++seq}`,
    args: [input],
  }) as Promise<RepeatOffenderScanResult>;

const handler = (gridOperatorId: string, name: string): ReviewPerson => ({
  actor: `api-key:${name.replace(/\W/g, '').toLowerCase()}`,
  actorRole: 'case-handler',
  actorPartyId: gridOperatorId,
  gridOperatorId,
  name,
});
const deps = () => ({ db: h.db, temporal: plain });
const state = (reviewId: string) =>
  plain.workflow.getHandle(reviewWorkflowId(reviewId)).query(reviewStateQuery) as Promise<ReviewSnapshot>;
async function waitForStatus(reviewId: string, status: string): Promise<ReviewSnapshot> {
  let last: ReviewSnapshot | undefined;
  for (const until = Date.now() + 20_000; Date.now() < until;) {
    last = await state(reviewId).catch(() => undefined);
    if (last?.status === status) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`review ${reviewId} did not reach ${status}; last ${JSON.stringify(last)}`);
}
const reviewRow = async (id: string) =>
  (await h.db.select().from(improvementReviews).where(eq(improvementReviews.id, id)))[0]!;
const auditActions = async (id: string) =>
  (
    await h.db
      .select({ action: auditLog.action, actor: auditLog.actor, data: auditLog.data })
      .from(auditLog)
      .where(and(eq(auditLog.entityType, 'improvement_review'), eq(auditLog.entityId, id)))
      .orderBy(auditLog.at, auditLog.id)
  ).map((a) => a.action);

/** The review's electorate (GT-5: every grid operator in the system when proposed). */
const electorateOf = async (reviewId: string) => (await reviewRow(reviewId)).electorate;
const allGridOperators = async () =>
  (await h.db.select({ id: parties.id, roles: parties.roles }).from(parties))
    .filter((x) => x.roles.includes('grid_operator'))
    .map((x) => x.id)
    .sort();

/**
 * Votes `agree` by the electorate, the operators in `first` first (with their names), the others after them,
 * skipping those that voted, until the agreement is no longer pending. Returns the operators that voted, in order, and the last state.
 */
async function voteUntilDecided(
  reviewId: string,
  agree: boolean,
  first: Array<[string, string]> = [],
): Promise<{ voters: string[]; last: ReviewSnapshot }> {
  const electorate = await electorateOf(reviewId);
  const named = new Map(first);
  const voted = new Set(
    (await h.db.select().from(reviewVotes).where(eq(reviewVotes.reviewId, reviewId))).map((v) => v.gridOperatorId),
  );
  const order = [...first.map(([id]) => id), ...electorate.filter((id) => !named.has(id))].filter(
    (id) => !voted.has(id),
  );
  const voters: string[] = [];
  let last: ReviewSnapshot | undefined;
  for (const [k, id] of order.entries()) {
    last = await voteOnReview(deps(), reviewId, handler(id, named.get(id) ?? `Behandelaar ${k}`), {
      agree,
      reason: agree ? 'Vergelijkbare signalen' : 'Niet vergelijkbaar',
    });
    voters.push(id);
    if (last.agreement !== 'pending') break;
  }
  return { voters, last: last! };
}

/** A party with signals from two grid operators, proposed and agreed by the electorate; in the follow-up period. */
async function agreedReview(): Promise<{ p: Fixture; other: { gridOperatorId: string }; reviewId: string }> {
  const p = await h.fixture();
  const other = await otherOperatorConnection();
  const now = await h.now();
  await signal(p, p.partyId, new Date(now.getTime() - 20 * DAY));
  await signal(p, p.partyId, new Date(now.getTime() - 10 * DAY));
  await signal(other, p.partyId, new Date(now.getTime() - 5 * DAY));
  const res = await scan({ threshold: 3, windowDays: 30, followUpDays: 10, votingDays: 3650 });
  const reviewId = res.offenders.find((o) => o.partyId === p.partyId)!.reviewId!;
  await waitForStatus(reviewId, 'proposed');
  const { last } = await voteUntilDecided(reviewId, true, [
    [p.gridOperatorId, 'Anna de Vries'],
    [other.gridOperatorId, 'Bram Bakker'],
  ]);
  expect(last.agreement).toBe('agreed');
  await waitForStatus(reviewId, 'follow_up');
  return { p, other, reviewId };
}

async function skipFollowUp(reviewId: string): Promise<void> {
  const rv = await reviewRow(reviewId);
  await h.skipTo(new Date(rv.followUpUntil!.getTime() + 1000));
  await waitForStatus(reviewId, 'awaiting_decision');
}

describe('repeat offenders (GT-5): the grid operators’ joint judgement', () => {
  it('the scan proposes from the counted signals only: won, wrongful-block and withdrawn cases excluded', async () => {
    const p = await h.fixture();
    const other = await otherOperatorConnection();
    const now = await h.now();
    const ago = (d: number) => new Date(now.getTime() - d * DAY);
    const counted = [
      await signal(p, p.partyId, ago(20)),
      await signal(p, p.partyId, ago(12), { signalClass: 'no_mandate_given' }),
      await signal(other, p.partyId, ago(8)),
    ];
    const won = await signal(p, p.partyId, ago(15), { status: 'closed_mandate_accepted' });
    const withdrawn = await signal(other, p.partyId, ago(6), { status: 'closed_withdrawn' });
    const wrongful = await signal(p, p.partyId, ago(4), { status: 'closed_wrongful_block' });
    // Would reach the threshold only if the won and withdrawn cases counted: not proposed.
    const q = await h.fixture();
    await signal(q, q.partyId, ago(3));
    await signal(q, q.partyId, ago(2), { status: 'closed_mandate_accepted' });
    await signal(q, q.partyId, ago(1), { status: 'closed_withdrawn' });

    const res = await scan({ threshold: 2, windowDays: 30, followUpDays: 10, votingDays: 3650 });
    expect(res.offenders.find((o) => o.partyId === q.partyId)).toBeUndefined();
    const mine = res.offenders.find((o) => o.partyId === p.partyId)!;
    expect(mine.signals).toBe(3);
    const signals = await h.db.select().from(reviewSignals).where(eq(reviewSignals.reviewId, mine.reviewId!));
    expect(signals.map((s) => s.signalId).sort()).toEqual([...counted].sort());
    expect(signals.map((s) => s.signalId)).not.toContain(won);
    expect(signals.map((s) => s.signalId)).not.toContain(withdrawn);
    expect(signals.map((s) => s.signalId)).not.toContain(wrongful);
    expect(signals.filter((s) => s.signalClass === 'party_unknown_to_customer')).toHaveLength(2);
    expect(new Set(signals.map((s) => s.gridOperatorId))).toEqual(new Set([p.gridOperatorId, other.gridOperatorId]));
    const s = await waitForStatus(mine.reviewId!, 'proposed');
    expect(s.agreement).toBe('pending');
    // A proposal is not a review: nobody is contacted before the grid operators agree.
    expect((await reviewRow(mine.reviewId!)).contactedAt).toBeNull();

    // The handler's classification shows in the open proposal.
    await classifyCaseSignal(deps(), handler(p.gridOperatorId, 'Anna'), counted[0]!, 'mandate_withdrawn');
    const [reclassified] = await h.db.select().from(reviewSignals).where(eq(reviewSignals.signalId, counted[0]!));
    expect(reclassified!.signalClass).toBe('mandate_withdrawn');
    // Another grid operator's case is not this handler's to classify.
    await expect(
      classifyCaseSignal(deps(), handler(other.gridOperatorId, 'Bram'), counted[0]!, 'other'),
    ).rejects.toMatchObject({ code: 'case_not_found' });

    // GT-5 jointly: the electorate is every grid operator in the system, the one without signals (q's) too.
    const electorate = await electorateOf(mine.reviewId!);
    expect(electorate).toEqual(await allGridOperators());
    expect(electorate).toContain(q.gridOperatorId);
    expect(electorate.length).toBeGreaterThanOrEqual(3);
    // The operators disagree until the majority can no longer be met.
    const { last } = await voteUntilDecided(mine.reviewId!, false, [[other.gridOperatorId, 'Bram Bakker']]);
    expect(last.agreement).toBe('rejected');
    const result = (await plain.workflow
      .getHandle(reviewWorkflowId(mine.reviewId!))
      .result()) as ImprovementReviewResult;
    expect(result.outcome).toBe('not_agreed');
    expect((await reviewRow(mine.reviewId!)).status).toBe('not_agreed');
    // Not proposed again within the same window.
    const again = await scan({ threshold: 2, windowDays: 30, followUpDays: 10, votingDays: 3650 });
    expect(again.offenders.find((o) => o.partyId === p.partyId)).toBeUndefined();
  });

  it('one vote never decides where others exist; an operator without signals counts; a second vote and an operator from after the proposal are refused', async () => {
    const p = await h.fixture();
    const other = await otherOperatorConnection();
    const third = await otherOperatorConnection(); // no signals about the party
    const now = await h.now();
    await signal(p, p.partyId, new Date(now.getTime() - 20 * DAY));
    await signal(p, p.partyId, new Date(now.getTime() - 10 * DAY));
    await signal(other, p.partyId, new Date(now.getTime() - 5 * DAY));
    const res = await scan({ threshold: 3, windowDays: 30, followUpDays: 10, votingDays: 3650 });
    const reviewId = res.offenders.find((o) => o.partyId === p.partyId)!.reviewId!;
    await waitForStatus(reviewId, 'proposed');

    // A grid operator that joined after the proposal is not in its electorate.
    const late = await otherOperatorConnection();
    expect(await electorateOf(reviewId)).not.toContain(late.gridOperatorId);
    await expect(
      voteOnReview(deps(), reviewId, handler(late.gridOperatorId, 'Dirk'), { agree: true, reason: 'x' }),
    ).rejects.toMatchObject({ code: 'review_not_found' });
    // The operator with most of the signals, alone: pending, nobody contacted.
    const first = await voteOnReview(deps(), reviewId, handler(p.gridOperatorId, 'Anna de Vries'), {
      agree: true,
      reason: 'Steeds klanten die de partij niet kennen',
    });
    expect(first).toMatchObject({ status: 'proposed', agreement: 'pending' });
    await expect(
      voteOnReview(deps(), reviewId, handler(p.gridOperatorId, 'Anna de Vries'), { agree: false, reason: 'y' }),
    ).rejects.toMatchObject({ code: 'review_step_done' });
    expect((await reviewRow(reviewId)).contactedAt).toBeNull();
    // The operator without signals votes and counts; then the others until the majority of the electorate.
    const { voters, last } = await voteUntilDecided(reviewId, true, [
      [third.gridOperatorId, 'Cor Claassen'],
      [other.gridOperatorId, 'Bram Bakker'],
    ]);
    expect(last.agreement).toBe('agreed');
    const electorate = await electorateOf(reviewId);
    expect(voters.length + 1).toBe(Math.floor(electorate.length / 2) + 1);
    await h.mail((m) => m.to.includes(p.partyMail) && (m.subject ?? '').includes('Verbetertraject'));
    await waitForStatus(reviewId, 'follow_up');
    const votes = await h.db.select().from(reviewVotes).where(eq(reviewVotes.reviewId, reviewId));
    expect(votes).toHaveLength(voters.length + 1);
    expect(votes.every((v) => v.agree && v.votedByRole === 'case-handler')).toBe(true);
    expect(votes.map((v) => v.votedByName)).toEqual(expect.arrayContaining(['Anna de Vries', 'Cor Claassen']));
    const rv = await reviewRow(reviewId);
    expect(rv.agreedAt).not.toBeNull();
    expect(await auditActions(reviewId)).toEqual([
      'review.proposed',
      ...votes.map(() => 'review.vote_recorded'),
      'review.agreed',
      'review.follow_up_started',
    ]);
  });

  it('the ACM report is sent only after a named person signs the decision', async () => {
    const { p, other, reviewId } = await agreedReview();
    await recordCommitment(deps(), reviewId, handler(other.gridOperatorId, 'Bram Bakker'), {
      commitment: 'Nieuwe controle op machtigingen vanaf volgende maand',
    });
    // Deciding during the follow-up is refused.
    await expect(
      decideAcmReport(deps(), reviewId, handler(p.gridOperatorId, 'Anna de Vries'), {
        decision: 'report',
        reason: 'x',
      }),
    ).rejects.toMatchObject({ code: 'review_wrong_state' });
    // Signals keep coming during the follow-up.
    const rv = await reviewRow(reviewId);
    await signal(p, p.partyId, new Date(rv.followUpFrom!.getTime() + 1 * DAY));
    await signal(p, p.partyId, new Date(rv.followUpFrom!.getTime() + 3 * DAY));
    await skipFollowUp(reviewId);
    // The figures are put to the operators; nothing goes to the ACM without a decision.
    const waiting = await reviewRow(reviewId);
    expect(waiting.signalsAfterFollowUp).toBe(2);
    await new Promise((r) => setTimeout(r, 500));
    expect(await h.db.select().from(acmNotifications).where(eq(acmNotifications.reviewId, reviewId))).toHaveLength(0);
    // The mail activity itself refuses to send an unsigned report.
    await expect(
      createActivities(h.deps).reportReviewToAcm({
        reviewId,
        signalsAfterFollowUp: 2,
        at: new Date().toISOString(),
      }),
    ).rejects.toMatchObject({ nonRetryable: true, cause: { code: 'review_report_not_signed' } });

    const decided = await decideAcmReport(deps(), reviewId, handler(p.gridOperatorId, 'Anna de Vries'), {
      decision: 'report',
      reason: 'Signalen niet afgenomen ondanks toezegging',
    });
    expect(decided.decision).toBe('report');
    const result = (await plain.workflow.getHandle(reviewWorkflowId(reviewId)).result()) as ImprovementReviewResult;
    expect(result).toMatchObject({ outcome: 'reported_to_acm', signalsAtOpen: 3, signalsAfterFollowUp: 2 });
    const [acm] = await h.db.select().from(acmNotifications).where(eq(acmNotifications.reviewId, reviewId));
    expect(acm!.signalCount).toBe(2);
    expect(acm!.report).toMatchObject({
      decision: { signedBy: 'Anna de Vries', reason: 'Signalen niet afgenomen ondanks toezegging' },
      commitment: 'Nieuwe controle op machtigingen vanaf volgende maand',
    });
    expect((acm!.report as { signals: unknown[] }).signals).toHaveLength(3);
    const mail = await h.mail(
      (m) => m.to.includes(h.deps.config.acmReportEmail) && (m.text ?? '').includes(p.partyGln),
    );
    expect(mail.text).toContain('Ondertekend door');
    expect(mail.text).toContain('Anna de Vries');
    const closed = await reviewRow(reviewId);
    expect(closed).toMatchObject({
      status: 'reported_to_acm',
      decidedByName: 'Anna de Vries',
      decidedByRole: 'case-handler',
      decision: 'report',
    });
    const voted = (await h.db.select().from(reviewVotes).where(eq(reviewVotes.reviewId, reviewId))).length;
    expect(await auditActions(reviewId)).toEqual([
      'review.proposed',
      ...Array.from({ length: voted }, () => 'review.vote_recorded'),
      'review.agreed',
      'review.follow_up_started',
      'review.commitment_recorded',
      'review.figures_put_to_operators',
      'review.acm_report_signed',
      'review.acm_reported',
      'review.closed',
    ]);
    await h.recordHistory(reviewWorkflowId(reviewId), 'review-reported-to-acm');
  });

  it('a decision not to report is recorded with its reason and the signer; nothing is sent', async () => {
    const { p, reviewId } = await agreedReview();
    await skipFollowUp(reviewId);
    await decideAcmReport(deps(), reviewId, handler(p.gridOperatorId, 'Anna de Vries'), {
      decision: 'do_not_report',
      reason: 'Geen nieuwe signalen in de opvolgperiode',
    });
    const result = (await plain.workflow.getHandle(reviewWorkflowId(reviewId)).result()) as ImprovementReviewResult;
    expect(result).toMatchObject({ outcome: 'not_reported', signalsAfterFollowUp: 0 });
    expect(await h.db.select().from(acmNotifications).where(eq(acmNotifications.reviewId, reviewId))).toHaveLength(0);
    expect(await reviewRow(reviewId)).toMatchObject({
      status: 'not_reported',
      decision: 'do_not_report',
      decisionReason: 'Geen nieuwe signalen in de opvolgperiode',
      decidedByName: 'Anna de Vries',
      decidedByRole: 'case-handler',
    });
    const [entry] = await h.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entityId, reviewId), eq(auditLog.action, 'review.decided_not_to_report')));
    expect(entry!.data).toMatchObject({ name: 'Anna de Vries', reason: 'Geen nieuwe signalen in de opvolgperiode' });
    await h.recordHistory(reviewWorkflowId(reviewId), 'review-not-reported');
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
