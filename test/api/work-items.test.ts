/**
 * GET /work-items on PostgreSQL: cases, a GT-11 assessment and a GT-5 review with known facts, read back as each
 * role's queue — soonest expiring first, the kinds its role acts on, its own grid operator's only (another's
 * items never appear), the horizon, the kind filter and paging; roles without a queue are refused.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  breachAssessments,
  caseResponses,
  doubtCases,
  improvementReviews,
  reviewVotes,
} from '../../db/schema/index.js';
import { call, coreContext, makeConnection, makeKey, makeParty, type CoreContext } from '../core/fixtures.js';

const H = 3_600_000;
/** The year in the case references made here (a reference, not a rule id). */
const YEAR = 2026;
let ctx: CoreContext;
const now = Date.now();
const at = (hours: number) => new Date(now + hours * H);
const ids: Record<string, string> = {};
const keys: Record<string, string> = {};

type CaseValues = typeof doubtCases.$inferInsert;

beforeAll(async () => {
  ctx = await coreContext('work_items');
  const opA = await makeParty(ctx.db, ['grid_operator'], 'Operator A');
  const opB = await makeParty(ctx.db, ['grid_operator'], 'Operator B');
  const supplier = await makeParty(ctx.db, ['supplier'], 'Supplier S');
  const eanA = (await makeConnection(ctx.db, { gridOperatorId: opA.id })).ean;
  const eanB = (await makeConnection(ctx.db, { gridOperatorId: opB.id })).ean;
  let n = 0;
  const insertCase = async (name: string, o: Partial<CaseValues> & { gridOperatorId: string }) => {
    const id = randomUUID();
    ids[name] = id;
    await ctx.db.insert(doubtCases).values({
      id,
      reference: `GT-${YEAR}-${String(800_000 + ++n).padStart(6, '0')}`,
      partyId: supplier.id,
      connectionEan: o.gridOperatorId === opA.id ? eanA : eanB,
      channel: 'customer',
      receivedAt: at(-30),
      reporterName: 'Reporter',
      description: 'work items',
      isma: false,
      status: 'blocked',
      contactDueAt: at(100),
      createdBy: 'test',
      ...o,
    });
    return id;
  };
  await insertCase('contactSoon', { gridOperatorId: opA.id, contactDueAt: at(2) });
  await insertCase('contactFailing', {
    gridOperatorId: opA.id,
    contactDueAt: at(30),
    contactAttempts: 3,
    contactLastError: '421 try again later',
  });
  const judge = await insertCase('judge', {
    gridOperatorId: opA.id,
    status: 'awaiting_judgement',
    contactDueAt: at(-40),
    contactedAt: at(-73),
    responseDueAt: at(-1),
    respondedAt: at(-20),
  });
  await ctx.db.insert(caseResponses).values({
    caseId: judge,
    partyId: supplier.id,
    status: 'received',
    findings: 'f',
    complaintHandling: 'c',
    submittedAt: at(-20),
    submittedBy: 'test',
  });
  const held = await insertCase('held', {
    gridOperatorId: opA.id,
    status: 'closed_mandate_not_demonstrated',
    closedAt: at(-2),
    contactedAt: at(-80),
    responseDueAt: at(-8),
    legalHoldSince: at(-1),
    legalHoldBy: 'test',
    legalHoldAuthority: 'acm',
    legalHoldReason: 'ACM asked',
  });
  await ctx.db.insert(breachAssessments).values({
    id: (ids.breach = randomUUID()),
    caseId: held,
    gridOperatorId: opA.id,
    partyId: supplier.id,
    connectionEan: eanA,
    trigger: 'case_closed_not_demonstrated',
    awareAt: at(-62),
    dueAt: at(10),
    prefill: { deliveries: 0, firstDeliveredAt: null, lastDeliveredAt: null, dataKinds: [], periods: [] },
  });
  await insertCase('later', { gridOperatorId: opA.id, contactDueAt: at(100) });
  await insertCase('ofB', { gridOperatorId: opB.id, contactDueAt: at(1) });
  await ctx.db.insert(improvementReviews).values({
    id: (ids.review = randomUUID()),
    partyId: supplier.id,
    openedAt: at(-5),
    windowDays: 90,
    signalsAtOpen: 5,
    threshold: 5,
    followUpDays: 60,
    status: 'proposed',
    electorate: [opA.id, opB.id],
    votingUntil: at(48),
  });
  await ctx.db.insert(reviewVotes).values({
    reviewId: ids.review,
    gridOperatorId: opB.id,
    agree: true,
    reason: 'yes',
    votedBy: 'test',
    votedByName: 'B. Voter',
    votedAt: at(-1),
  });
  keys.handlerA = await makeKey(ctx.db, 'case-handler', { partyId: opA.id });
  keys.handlerB = await makeKey(ctx.db, 'case-handler', { partyId: opB.id });
  keys.privacyA = await makeKey(ctx.db, 'privacy-officer', { partyId: opA.id });
  keys.complianceA = await makeKey(ctx.db, 'compliance', { partyId: opA.id });
  keys.complianceB = await makeKey(ctx.db, 'compliance', { partyId: opB.id });
  keys.admin = await makeKey(ctx.db, 'admin');
  keys.analyst = await makeKey(ctx.db, 'branch-analyst');
  keys.supplier = await makeKey(ctx.db, 'supplier', { partyId: supplier.id });
}, 60_000);
afterAll(async () => ctx?.close());

interface Item {
  kind: string;
  subject: { type: string; id: string; reference: string | null };
  caseId: string | null;
  expiresAt: string | null;
  overdue: boolean;
  deadline: string | null;
  why: string;
}
const queue = async (key: string, query = '') => {
  const res = await call(ctx.app, key, 'GET', `/work-items${query}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { items: Item[]; total: number; horizonHours: number };
};
const brief = (items: Item[]) => items.map((i) => [i.kind, i.subject.id]);

describe('GET /work-items', () => {
  it('a case handler: its grid operator’s cases and its vote, soonest expiring first, overdue first, none last', async () => {
    const q = await queue(keys.handlerA!);
    expect(q.horizonHours).toBe(24);
    expect(brief(q.items)).toEqual([
      ['judge_evidence', ids.judge],
      ['deadline_due', ids.contactSoon],
      ['contact_failing', ids.contactFailing],
      ['review_vote', ids.review],
      ['release_hold', ids.held],
    ]);
    expect(q.total).toBe(5);
    const [judge, soon] = q.items;
    expect(judge!.overdue).toBe(true);
    expect(judge!.expiresAt).toBe(at(-1).toISOString());
    expect(soon).toMatchObject({ deadline: 'contact', overdue: false, expiresAt: at(2).toISOString() });
    expect(soon!.subject.reference).toMatch(/^GT-\d{4}-8/);
    expect(q.items[2]!.why).toContain('421 try again later');
    expect(q.items[3]).toMatchObject({ subject: { type: 'review', reference: null }, caseId: null });
  });

  it('a privacy officer: the GT-11 decision only; compliance: every kind of its own operator', async () => {
    const p = await queue(keys.privacyA!);
    expect(brief(p.items)).toEqual([['breach_decision', ids.breach]]);
    expect(p.items[0]).toMatchObject({ caseId: ids.held, expiresAt: at(10).toISOString() });
    const c = await queue(keys.complianceA!);
    expect(c.items.map((i) => i.kind)).toEqual([
      'judge_evidence',
      'deadline_due',
      'breach_decision',
      'contact_failing',
      'review_vote',
      'release_hold',
    ]);
  });

  it('another grid operator’s items never appear; admin sees every operator’s', async () => {
    const b = await queue(keys.handlerB!);
    // B has voted on the review: only its own case waits.
    expect(brief(b.items)).toEqual([['deadline_due', ids.ofB]]);
    const cb = await queue(keys.complianceB!);
    expect(cb.items.every((i) => i.subject.id === ids.ofB)).toBe(true);
    const all = await queue(keys.admin!);
    const seen = new Set(all.items.map((i) => i.subject.id));
    for (const k of ['judge', 'contactSoon', 'contactFailing', 'held', 'breach', 'review', 'ofB'])
      expect(seen.has(ids[k]!), k).toBe(true);
    expect(all.items[0]!.subject.id).toBe(ids.judge);
  });

  it('the horizon, the kind filter and paging', async () => {
    const wide = await queue(keys.handlerA!, '?horizonHours=200');
    expect(wide.items.map((i) => i.subject.id)).toContain(ids.later);
    const narrow = await queue(keys.handlerA!, '?horizonHours=1');
    expect(narrow.items.map((i) => i.subject.id)).not.toContain(ids.contactSoon);
    const two = await queue(keys.handlerA!, '?kind=release_hold&kind=judge_evidence');
    expect(brief(two.items)).toEqual([
      ['judge_evidence', ids.judge],
      ['release_hold', ids.held],
    ]);
    const page = await queue(keys.handlerA!, '?limit=2&offset=1');
    expect(page.total).toBe(5);
    expect(brief(page.items)).toEqual([
      ['deadline_due', ids.contactSoon],
      ['contact_failing', ids.contactFailing],
    ]);
  });

  it('refuses roles without a queue and bad input', async () => {
    for (const key of [keys.analyst!, keys.supplier!]) {
      const res = await call(ctx.app, key, 'GET', '/work-items');
      expect(res.statusCode).toBe(403);
    }
    expect((await call(ctx.app, null, 'GET', '/work-items')).statusCode).toBe(401);
    const bad = await call(ctx.app, keys.handlerA!, 'GET', '/work-items?horizonHours=0');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().field).toMatch(/horizonHours/);
    const kind = await call(ctx.app, keys.handlerA!, 'GET', '/work-items?kind=coffee');
    expect(kind.statusCode).toBe(400);
  });
});
