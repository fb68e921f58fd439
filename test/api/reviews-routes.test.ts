/**
 * GT-5 review routes on the real stack (Fastify → review service → Temporal dev server → PostgreSQL): a
 * signal classified at intake, the proposal listed and shown to its electorate — every grid operator in the
 * system, signals or not — with its signals and votes; votes signed with the key holder's recorded name and
 * role (a key without a holder cannot sign); one operator's vote never deciding where others exist; an operator
 * without signals counting; the commitment, the decision refused before the follow-up has run, bad input, role
 * boundaries (compliance reads its own grid operator's reviews only) and the routes in the OpenAPI document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, asc, eq } from 'drizzle-orm';
import { auditLog, reviewVotes } from '../../db/schema/index.js';
import { reviewWorkflowId, type RepeatOffenderScanResult } from '../../workflows/shared.js';
import { call, makeConnection, makeKey } from '../core/fixtures.js';
import { caseApiContext, type CaseApiContext } from './case-context.js';
import { callAs, makePerson, steppedUp, stepUpRecord } from './person.js';

let ctx: CaseApiContext;
type P = Awaited<ReturnType<CaseApiContext['party']>>;
let opA: P, opB: P, opC: P, sup: P;
const keys: Record<'a' | 'b' | 'c' | 'aDesk' | 'compliance', string> = {} as never;

/** A case handler's key issued to a named person (its holder; the label names the desk). */
const handlerKey = (op: P, holderName: string) => makeKey(ctx.db, 'case-handler', { partyId: op.id, holderName });

beforeAll(async () => {
  ctx = await caseApiContext('reviews_routes');
  opA = await ctx.party(['grid_operator']);
  opB = await ctx.party(['grid_operator']);
  opC = await ctx.party(['grid_operator']);
  sup = await ctx.party(['supplier']);
  keys.a = await handlerKey(opA, 'Anna de Vries');
  keys.b = await handlerKey(opB, 'Bram Bakker');
  keys.c = await handlerKey(opC, 'Cor Claassen');
  // A desk key: a label, no person recorded. It reads and files cases, but signs nothing.
  keys.aDesk = await makeKey(ctx.db, 'case-handler', { partyId: opA.id });
  keys.compliance = await makeKey(ctx.db, 'compliance', { partyId: opA.id, holderName: 'Dirk Dekker' });
});
afterAll(async () => ctx?.close());

async function signal(op: P, key: string, signalClass?: string) {
  const c = await makeConnection(ctx.db, { gridOperatorId: op.id, supplierId: sup.id });
  const res = await call(ctx.app, key, 'POST', '/cases', {
    connectionEan: c.ean,
    partyGln: sup.gln,
    channel: 'consuwijzer',
    receivedAt: new Date(Date.now() - 3_600_000).toISOString(),
    reporterName: 'Klant',
    description: 'Klant kent de partij niet',
    isma: false,
    ...(signalClass ? { signalClass } : {}),
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; signalClass: string | null };
}

describe('review routes (GT-5)', () => {
  it('proposal shown to every grid operator, signed votes, one vote never deciding, commitment, decision only after follow-up', async () => {
    const a1 = await signal(opA, keys.a, 'no_mandate_given');
    expect(a1.signalClass).toBe('no_mandate_given');
    const a2 = await signal(opA, keys.a);
    const b1 = await signal(opB, keys.b, 'no_mandate_given');
    // The handler classifies a case afterwards; another operator's case answers 404.
    const cls = await call(ctx.app, keys.a, 'PUT', `/cases/${a2.id}/signal-class`, { signalClass: 'no_mandate_given' });
    expect(cls.statusCode, cls.body).toBe(200);
    expect(cls.json()).toEqual({ caseId: a2.id, signalClass: 'no_mandate_given', previous: null });
    expect(
      (await call(ctx.app, keys.b, 'PUT', `/cases/${a2.id}/signal-class`, { signalClass: 'other' })).statusCode,
    ).toBe(404);
    const badClass = await call(ctx.app, keys.a, 'PUT', `/cases/${a2.id}/signal-class`, { signalClass: 'spam' });
    expect(badClass.statusCode).toBe(400);

    const scan = (await ctx.temporal.workflow.execute('repeatOffenderScanWorkflow', {
      taskQueue: ctx.taskQueue,
      workflowId: `scan-${ctx.taskQueue}`,
      args: [{ threshold: 3, windowDays: 30, followUpDays: 30, votingDays: 30 }],
    })) as RepeatOffenderScanResult;
    const reviewId = scan.offenders.find((o) => o.partyId === sup.id)!.reviewId!;

    const listA = await call(ctx.app, keys.a, 'GET', '/reviews?status=proposed');
    expect(listA.statusCode, listA.body).toBe(200);
    expect(listA.json().items.map((r: { id: string }) => r.id)).toEqual([reviewId]);
    // GT-5 jointly: an operator without signals about the party is in the electorate and sees the proposal.
    expect((await call(ctx.app, keys.c, 'GET', '/reviews')).json().items.map((r: { id: string }) => r.id)).toEqual([
      reviewId,
    ]);
    const shown = (await call(ctx.app, keys.c, 'GET', `/reviews/${reviewId}`)).json();
    expect(shown).toMatchObject({ status: 'proposed', signalsAtOpen: 3, agreementRule: 'majority', votes: [] });
    expect(shown.signals.map((s: { id: string }) => s.id).sort()).toEqual([a1.id, a2.id, b1.id].sort());
    expect(shown.similarSignals).toEqual({ no_mandate_given: 3 });
    expect(shown.electorate.map((o: { id: string }) => o.id).sort()).toEqual([opA.id, opB.id, opC.id].sort());
    expect(shown.operatorsWithSignals.map((o: { id: string }) => o.id).sort()).toEqual([opA.id, opB.id].sort());

    // Bad input and role boundaries.
    const noReason = await call(ctx.app, keys.a, 'POST', `/reviews/${reviewId}/votes`, { agree: true });
    expect(noReason.statusCode).toBe(400);
    expect(
      (await call(ctx.app, keys.compliance, 'POST', `/reviews/${reviewId}/votes`, { agree: true, reason: 'x' }))
        .statusCode,
    ).toBe(403);
    // A key without a recorded holder cannot sign a vote; nothing is recorded.
    const unsigned = await call(ctx.app, keys.aDesk, 'POST', `/reviews/${reviewId}/votes`, {
      agree: true,
      reason: 'x',
    });
    expect(unsigned.statusCode).toBe(403);
    expect(unsigned.json()).toMatchObject({ code: 'key_holder_required' });
    // A grid operator that joined after the proposal is not in its electorate: its people do not see it.
    const opD = await ctx.party(['grid_operator']);
    const d = await handlerKey(opD, 'Daan Dijkstra');
    expect((await call(ctx.app, d, 'GET', `/reviews/${reviewId}`)).statusCode).toBe(404);
    expect(
      (await call(ctx.app, d, 'POST', `/reviews/${reviewId}/votes`, { agree: true, reason: 'x' })).statusCode,
    ).toBe(404);

    const v1 = await call(ctx.app, keys.a, 'POST', `/reviews/${reviewId}/votes`, {
      agree: true,
      reason: 'Zelfde patroon',
    });
    expect(v1.statusCode, v1.body).toBe(200);
    // The operator with most of the signals, alone, does not decide on behalf of all: three in the system.
    expect(v1.json()).toMatchObject({ status: 'proposed', agreement: 'pending' });
    const again = await call(ctx.app, keys.a, 'POST', `/reviews/${reviewId}/votes`, { agree: false, reason: 'x' });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('review_step_done');
    // The operator without signals counts like any other: with A, a majority of the three. C's handler votes
    // in the console (issue 19): a person signs only with a fresh authentication at their provider.
    const cor = await makePerson(ctx.db, 'Cor Claassen', 'case-handler', opC.id);
    const vote = { agree: true, reason: 'Herkenbaar' };
    const noStepUp = await callAs(ctx.app, cor, 'POST', `/reviews/${reviewId}/votes`, vote);
    expect(noStepUp.statusCode).toBe(403);
    expect(noStepUp.json()).toMatchObject({ code: 'step_up_required' });
    const corSigning = steppedUp(cor);
    const v2 = await callAs(ctx.app, corSigning, 'POST', `/reviews/${reviewId}/votes`, vote);
    expect(v2.statusCode, v2.body).toBe(200);
    expect(v2.json()).toMatchObject({ agreement: 'agreed' });
    // The stored votes and their audit entries name the person and the key's role, not the key's label.
    const votes = await ctx.db.select().from(reviewVotes).where(eq(reviewVotes.reviewId, reviewId));
    expect(votes.map((v) => [v.gridOperatorId, v.votedByName, v.votedByRole]).sort()).toEqual(
      [
        [opA.id, 'Anna de Vries', 'case-handler'],
        [opC.id, 'Cor Claassen', 'case-handler'],
      ].sort(),
    );
    const voteEntries = await ctx.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entityId, reviewId), eq(auditLog.action, 'review.vote_recorded')))
      .orderBy(asc(auditLog.id));
    expect(voteEntries.map((e) => [e.actorName, e.actorRole, e.data['name']])).toEqual([
      ['Anna de Vries', 'case-handler', 'Anna de Vries'],
      ['Cor Claassen', 'case-handler', 'Cor Claassen'],
    ]);
    expect(voteEntries.map((e) => e.actor)).toEqual([expect.stringMatching(/^api-key:/), `user:${cor.id}`]);
    // Issue 19: each vote's own entry says what it was signed with: the key's holder, the person's step-up.
    expect(voteEntries.map((e) => e.data['signedWith'])).toEqual([
      { kind: 'key_holder', keyId: voteEntries[0]!.actor.slice('api-key:'.length), holderName: 'Anna de Vries' },
      stepUpRecord(corSigning),
    ]);

    let status = '';
    for (const until = Date.now() + 20_000; status !== 'follow_up' && Date.now() < until;) {
      status = (await call(ctx.app, keys.a, 'GET', `/reviews/${reviewId}`)).json().status;
      if (status !== 'follow_up') await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe('follow_up');
    await ctx.mail((m) => m.to.includes(sup.mails[0]!) && (m.subject ?? '').includes('Verbetertraject'));

    const com = await call(ctx.app, keys.b, 'PUT', `/reviews/${reviewId}/commitment`, {
      commitment: 'Dubbele controle op machtigingen',
    });
    expect(com.statusCode, com.body).toBe(200);
    // The decision is signed too: a desk key is refused before anything else is looked at.
    const unsignedDecision = await call(ctx.app, keys.aDesk, 'POST', `/reviews/${reviewId}/decision`, {
      decision: 'report',
      reason: 'x',
    });
    expect(unsignedDecision.statusCode).toBe(403);
    expect(unsignedDecision.json().code).toBe('key_holder_required');
    const early = await call(ctx.app, keys.a, 'POST', `/reviews/${reviewId}/decision`, {
      decision: 'report',
      reason: 'te vroeg',
    });
    expect(early.statusCode).toBe(409);
    expect(early.json().code).toBe('review_wrong_state');

    const full = (await call(ctx.app, keys.compliance, 'GET', `/reviews/${reviewId}`)).json();
    expect(full.commitment).toBe('Dubbele controle op machtigingen');
    expect(full.votes.map((v: { votedByName: string }) => v.votedByName).sort()).toEqual([
      'Anna de Vries',
      'Cor Claassen',
    ]);
    // A compliance officer of a grid operator outside the electorate does not see the review.
    const dCompliance = await makeKey(ctx.db, 'compliance', { partyId: opD.id, holderName: 'Eva Evers' });
    expect((await call(ctx.app, dCompliance, 'GET', `/reviews/${reviewId}`)).statusCode).toBe(404);
    expect((await call(ctx.app, dCompliance, 'GET', '/reviews')).json().total).toBe(0);
    expect(full.history.map((e: { action: string }) => e.action)).toEqual([
      'review.proposed',
      'review.vote_recorded',
      'review.vote_recorded',
      'review.agreed',
      'review.follow_up_started',
      'review.commitment_recorded',
    ]);
    expect(full.history[5].data).toMatchObject({
      name: 'Bram Bakker',
      signedWith: {
        kind: 'key_holder',
        keyId: full.history[5].actor.slice('api-key:'.length),
        holderName: 'Bram Bakker',
      },
    });
    await ctx.temporal.workflow.getHandle(reviewWorkflowId(reviewId)).terminate('test done');
  });

  it('the routes are in the OpenAPI document', async () => {
    const doc = (await call(ctx.app, null, 'GET', '/openapi.json')).json();
    for (const path of [
      '/reviews',
      '/reviews/{id}',
      '/reviews/{id}/votes',
      '/reviews/{id}/commitment',
      '/reviews/{id}/decision',
      '/cases/{id}/signal-class',
    ])
      expect(Object.keys(doc.paths)).toContain(path);
  });
});
