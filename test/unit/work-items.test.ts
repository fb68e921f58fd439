/**
 * domain/work-items.ts: what waits for a person and by when — each kind from its facts, deadlines within the
 * horizon (and overdue ones) from caseDeadlines, nothing listed twice, the order (soonest first, none last,
 * total), and the kinds each role gets.
 */
import { describe, expect, it } from 'vitest';
import { contactDeadline, nextDueAt, responseDeadline } from '../../domain/case.js';
import { breachDueAt } from '../../domain/breach.js';
import {
  caseWorkItems,
  compareWorkItems,
  reviewWorkItems,
  workQueue,
  type CaseWorkFacts,
  type WorkItem,
} from '../../domain/work-items.js';

const H = 3_600_000;
const now = new Date('2026-06-10T10:00:00Z');
const at = (hours: number) => new Date(now.getTime() + hours * H);

function kase(o: Partial<CaseWorkFacts> = {}): CaseWorkFacts {
  return {
    caseId: o.caseId ?? '00000000-0000-4000-8000-000000000001',
    reference: 'GT-2026-000001',
    status: 'blocked',
    closedAt: null,
    contactDueAt: at(48),
    contactedAt: null,
    responseDueAt: null,
    respondedAt: null,
    unblockDueAt: null,
    unblockedAt: null,
    contactAttempts: 0,
    contactLastError: null,
    contactGroupEmptyAt: null,
    responsesAwaitingJudgement: 0,
    legalHold: false,
    ...o,
  };
}
const kinds = (items: WorkItem[]) => items.map((i) => [i.kind, i.deadline, i.expiresAt?.toISOString() ?? null]);

describe('caseWorkItems', () => {
  it('lists nothing for a case whose deadlines lie beyond the horizon and that waits for nobody', () => {
    expect(caseWorkItems(kase(), now, 24)).toEqual([]);
  });

  it('lists the contact deadline within the horizon (GT-1), and when it has passed, as overdue', () => {
    expect(kinds(caseWorkItems(kase({ contactDueAt: at(5) }), now, 24))).toEqual([
      ['deadline_due', 'contact', at(5).toISOString()],
    ]);
    const overdue = caseWorkItems(kase({ contactDueAt: at(-2) }), now, 24);
    expect(overdue[0]!.why).toMatch(/^Overdue/);
    expect(overdue[0]!.rule).toBe('GT-1');
  });

  it('a failing contact mail and an empty contact group carry the contact deadline, not listed twice (GT-1, GT-10)', () => {
    const failing = kase({ contactDueAt: at(3), contactAttempts: 2, contactLastError: '550 mailbox unavailable' });
    expect(kinds(caseWorkItems(failing, now, 24))).toEqual([['contact_failing', null, at(3).toISOString()]]);
    expect(caseWorkItems(failing, now, 24)[0]!.why).toContain('550 mailbox unavailable');
    // Failing beyond the horizon is still work: the mail does not reach the party.
    expect(kinds(caseWorkItems({ ...failing, contactDueAt: at(40) }, now, 24))).toEqual([
      ['contact_failing', null, at(40).toISOString()],
    ]);
    const empty = { ...failing, contactGroupEmptyAt: at(-1) };
    expect(kinds(caseWorkItems(empty, now, 24))).toEqual([['contact_group_empty', null, at(3).toISOString()]]);
    // Contacted: none of them.
    expect(caseWorkItems({ ...empty, contactedAt: at(-1), responseDueAt: at(71) }, now, 24)).toEqual([]);
  });

  it('evidence to judge expires with the 72 hours and hides the answered response deadline (GT-3, GT-8)', () => {
    const contactedAt = at(-60);
    const f = kase({
      status: 'awaiting_judgement',
      contactedAt,
      responseDueAt: responseDeadline(contactedAt),
      respondedAt: at(-10),
      responsesAwaitingJudgement: 2,
    });
    expect(kinds(caseWorkItems(f, now, 24))).toEqual([
      ['judge_evidence', null, responseDeadline(contactedAt).toISOString()],
    ]);
  });

  it('the response deadline of a case still waiting for an answer, within the horizon (GT-3)', () => {
    const contactedAt = at(-60);
    const f = kase({ status: 'awaiting_response', contactedAt, responseDueAt: responseDeadline(contactedAt) });
    expect(kinds(caseWorkItems(f, now, 24))).toEqual([
      ['deadline_due', 'response', responseDeadline(contactedAt).toISOString()],
    ]);
    expect(caseWorkItems(f, now, 1)).toEqual([]);
  });

  it('a closed case: an unblock not yet done (GT-8) and a legal hold to release; never its contact or answer', () => {
    const f = kase({
      status: 'closed_mandate_accepted',
      closedAt: at(-3),
      contactDueAt: at(-50),
      unblockDueAt: at(4),
      legalHold: true,
      responsesAwaitingJudgement: 1,
    });
    expect(kinds(caseWorkItems(f, now, 24))).toEqual([
      ['deadline_due', 'unblock', at(4).toISOString()],
      ['release_hold', null, null],
    ]);
    expect(caseWorkItems({ ...f, unblockedAt: at(-1), legalHold: false }, now, 24)).toEqual([]);
  });
});

describe('reviewWorkItems', () => {
  const review = {
    reviewId: 'r1',
    status: 'proposed',
    electorate: ['A', 'B'],
    votedGridOperatorIds: ['A'],
    votingUntil: at(200),
  };
  it('a vote waits for a grid operator of the electorate that has not voted (GT-5)', () => {
    expect(reviewWorkItems(review, 'B').map((i) => i.kind)).toEqual(['review_vote']);
    expect(reviewWorkItems(review, 'A')).toEqual([]);
    expect(reviewWorkItems(review, 'C')).toEqual([]);
    // Admin: while anyone still has to vote.
    expect(reviewWorkItems(review, null)).toHaveLength(1);
    expect(reviewWorkItems({ ...review, votedGridOperatorIds: ['A', 'B'] }, null)).toEqual([]);
  });
  it('the signed ACM decision after the follow-up has no deadline', () => {
    const items = reviewWorkItems({ ...review, status: 'awaiting_decision' }, 'A');
    expect(kinds(items)).toEqual([['review_decision', null, null]]);
    expect(reviewWorkItems({ ...review, status: 'follow_up' }, 'A')).toEqual([]);
  });
});

describe('workQueue', () => {
  const breach = {
    assessmentId: 'b1',
    caseId: 'c9',
    reference: 'GT-2026-000009',
    dueAt: breachDueAt(at(-70)),
    decidedAt: null,
  };
  const facts = {
    cases: [
      kase({ caseId: 'c1', contactDueAt: at(10) }),
      kase({ caseId: 'c2', contactDueAt: at(-1) }),
      kase({ caseId: 'c3', status: 'closed_withdrawn', closedAt: at(-5), legalHold: true }),
    ],
    reviews: [
      { reviewId: 'r1', status: 'proposed', electorate: ['A'], votedGridOperatorIds: [], votingUntil: at(100) },
    ],
    breaches: [breach, { ...breach, assessmentId: 'b2', decidedAt: at(-1) }],
  };

  it('orders by the instant that expires first, overdue first, those without one last', () => {
    const q = workQueue(facts, { role: 'compliance', gridOperatorId: 'A' }, now, 24);
    expect(q.map((i) => [i.kind, i.subject.id])).toEqual([
      ['deadline_due', 'c2'],
      ['breach_decision', 'b1'],
      ['deadline_due', 'c1'],
      ['review_vote', 'r1'],
      ['release_hold', 'c3'],
    ]);
    for (let i = 1; i < q.length; i++) expect(compareWorkItems(q[i - 1]!, q[i]!)).toBeLessThan(0);
  });

  it('gives each role its kinds: a privacy officer GT-11 only, a case handler no GT-11, a branch analyst nothing', () => {
    const of = (role: Parameters<typeof workQueue>[1]['role']) =>
      workQueue(facts, { role, gridOperatorId: 'A' }, now, 24).map((i) => i.kind);
    expect(of('privacy-officer')).toEqual(['breach_decision']);
    expect(of('case-handler')).not.toContain('breach_decision');
    expect(of('case-handler')).toHaveLength(4);
    expect(of('branch-analyst')).toEqual([]);
    expect(of('supplier')).toEqual([]);
  });
});

describe('nextDueAt', () => {
  it('is the earliest deadline not yet done: contact, then the 72 hours until decided, the unblock until lifted', () => {
    const receivedAt = new Date('2026-06-10T08:00:00Z');
    const base = {
      status: 'blocked' as const,
      contactDueAt: contactDeadline(receivedAt),
      contactedAt: null,
      responseDueAt: null,
      respondedAt: null,
      unblockDueAt: null,
      unblockedAt: null,
    };
    expect(nextDueAt(base)).toEqual(base.contactDueAt);
    const contacted = { ...base, status: 'awaiting_response' as const, contactedAt: receivedAt, responseDueAt: at(72) };
    expect(nextDueAt(contacted)).toEqual(at(72));
    // Answered, not yet judged: the 72 hours' end is when the judgement is due (GT-3, docs/rules.md), not nothing.
    const answered = { ...contacted, status: 'awaiting_judgement' as const, respondedAt: at(1) };
    expect(nextDueAt(answered)).toEqual(at(72));
    expect(nextDueAt({ ...answered, status: 'awaiting_response' as const })).toEqual(at(72));
    const closed = { ...contacted, status: 'closed_mandate_accepted' as const, unblockDueAt: at(20) };
    expect(nextDueAt(closed)).toEqual(at(20));
    expect(nextDueAt({ ...closed, unblockedAt: at(2) })).toBeNull();
  });
});
