/**
 * What waits for a person, and by when: the work queue of case handlers, privacy officers and compliance
 * (GET /work-items). One home for the rule; it reads the facts of cases, GT-5 reviews and GT-11 assessments
 * and reuses the deadline rules of ./case.ts (caseDeadlines), ./breach.ts and ./review.ts. Pure: no I/O, no
 * clock (callers pass `now`).
 *
 * Every item names the instant that expires first for it (null: nothing expires, it waits for a decision);
 * the queue is ordered by that instant, soonest (and so every overdue one) first, items without one last.
 */
import { caseDeadlines, isClosedStatus, type CaseDeadlineFacts, type DeadlineName } from './case.js';
import type { Role } from './visibility.js';

export const WORK_ITEM_KINDS = [
  'judge_evidence', // GT-3 / GT-8: evidence counted within the 72 hours, not yet judged
  'contact_failing', // GT-1: the contact mail keeps failing, the party not yet contacted
  'contact_group_empty', // GT-10: the party's doubt contact group is empty: contact it another way
  'deadline_due', // GT-1 / GT-3 / GT-7 / GT-8: a deadline of the case falls within the horizon (or has passed)
  'review_vote', // GT-5: the grid operator's vote on a proposal
  'review_decision', // GT-5: the signed decision on the ACM report after the follow-up
  'breach_decision', // GT-11: the privacy officer's decision within the 72 hours of GDPR art. 33
  'release_hold', // GT-8: a closed case's evidence is kept by a legal hold: release it once its authority is done
] as const;
export type WorkItemKind = (typeof WORK_ITEM_KINDS)[number];

/** Hours ahead a deadline counts as "within hours" when nothing else is configured (WORK_ITEMS_HORIZON_HOURS). */
export const DEFAULT_WORK_HORIZON_HOURS = 24;

/** The kinds each role acts on (or, for compliance and admin, reads). A branch analyst has no queue. */
export const WORK_ITEM_KINDS_BY_ROLE: Partial<Record<Role, readonly WorkItemKind[]>> = {
  'case-handler': [
    'judge_evidence',
    'contact_failing',
    'contact_group_empty',
    'deadline_due',
    'review_vote',
    'review_decision',
    'release_hold',
  ],
  // GT-11: the privacy officer decides breach assessments only.
  'privacy-officer': ['breach_decision'],
  compliance: WORK_ITEM_KINDS,
  admin: WORK_ITEM_KINDS,
};

export interface WorkItem {
  kind: WorkItemKind;
  /** What it concerns: a case, a review or a breach assessment, with the case reference where there is one. */
  subject: { type: 'case' | 'review' | 'breach_assessment'; id: string; reference: string | null };
  /** The case it belongs to (a breach assessment's case too); null for a review. */
  caseId: string | null;
  /** The instant that expires first for this item; null when nothing expires (it waits for a decision). */
  expiresAt: Date | null;
  /** Which deadline, for `deadline_due`. */
  deadline: DeadlineName | null;
  rule: string;
  /** Why it waits for a person (English; the console translates by kind). */
  why: string;
}

export interface CaseWorkFacts extends CaseDeadlineFacts {
  caseId: string;
  reference: string;
  /** The contact mail so far (GT-1): attempts and the last error while it fails. */
  contactAttempts: number;
  contactLastError: string | null;
  /** GT-10: the doubt contact group was found empty. */
  contactGroupEmptyAt: Date | null;
  /** Responses counted within the 72 hours (status received) and not yet judged. */
  responsesAwaitingJudgement: number;
  legalHold: boolean;
}

const HOUR_MS = 3_600_000;

const DEADLINE_WHY: Record<DeadlineName, string> = {
  contact: 'The party must be contacted within 1 working day of the signal (GT-1)',
  response: 'The party’s 72 hours to answer end (GT-3); then the case is decided (GT-4, GT-8)',
  unblock: 'The block must be lifted within 1 working day of the decision (GT-7, GT-8)',
};

/**
 * A case's items. A deadline is due when it is not done and falls within `horizonHours` of now, or has passed
 * (an open case's missed contact still waits for it); a deadline an item already carries (a failing contact, an
 * empty contact group) is not listed twice. SQL mirror, item by item: db/repositories/work-items.ts caseItemsSql
 * (GET /work-items orders and pages the cases with it), held to this by test/reports/work-items-agreement.test.ts.
 */
export function caseWorkItems(f: CaseWorkFacts, now: Date, horizonHours: number): WorkItem[] {
  const subject = { type: 'case' as const, id: f.caseId, reference: f.reference };
  const base = { subject, caseId: f.caseId, deadline: null };
  const items: WorkItem[] = [];
  const open = !isClosedStatus(f.status);
  const notContacted = open && f.contactedAt === null;
  if (open && f.responsesAwaitingJudgement > 0)
    items.push({
      ...base,
      kind: 'judge_evidence',
      // The evidence came within the 72 hours; they are the clock the handler judges against (reminded daily after).
      expiresAt: f.responseDueAt,
      rule: 'GT-3, GT-8',
      why: `${f.responsesAwaitingJudgement} response(s) with the party’s findings await a judgement`,
    });
  if (notContacted && f.contactGroupEmptyAt !== null)
    items.push({
      ...base,
      kind: 'contact_group_empty',
      expiresAt: f.contactDueAt,
      rule: 'GT-1, GT-10',
      why: 'The party’s doubt contact group is empty: contact the party by telephone, meeting or letter and record it',
    });
  else if (notContacted && f.contactAttempts > 0 && f.contactLastError !== null)
    items.push({
      ...base,
      kind: 'contact_failing',
      expiresAt: f.contactDueAt,
      rule: 'GT-1',
      why: `The contact mail failed ${f.contactAttempts} time(s): ${f.contactLastError}`,
    });
  const carried = new Set<DeadlineName>();
  if (items.some((i) => i.kind === 'contact_failing' || i.kind === 'contact_group_empty')) carried.add('contact');
  if (items.some((i) => i.kind === 'judge_evidence')) carried.add('response');
  const deadlines = caseDeadlines(f, now);
  const horizon = now.getTime() + horizonHours * HOUR_MS;
  for (const name of ['contact', 'response', 'unblock'] as const) {
    const d = deadlines[name];
    if (carried.has(name) || !d.dueAt || d.doneAt || d.state === 'not_applicable') continue;
    // A closed case's contact and answer are over; only its unblock still waits for a person.
    if (!open && name !== 'unblock') continue;
    if (d.dueAt.getTime() > horizon) continue;
    items.push({
      ...base,
      kind: 'deadline_due',
      deadline: name,
      expiresAt: d.dueAt,
      rule: d.rule,
      why: d.state === 'missed' ? `Overdue: ${DEADLINE_WHY[name]}` : DEADLINE_WHY[name],
    });
  }
  if (!open && f.legalHold)
    items.push({
      ...base,
      kind: 'release_hold',
      expiresAt: null,
      rule: 'GT-8',
      why: 'The case is decided and its evidence is kept by a legal hold: release it once the ACM, the AP or the disputes committee is done',
    });
  return items;
}

export interface ReviewWorkFacts {
  reviewId: string;
  status: string;
  /** GT-5: the grid operators who judge the proposal, and those that voted. */
  electorate: readonly string[];
  votedGridOperatorIds: readonly string[];
  votingUntil: Date | null;
}

/**
 * A review's items for a viewer of one grid operator (null: one who sees every operator's, admin): its vote while
 * the proposal waits for it (GT-5, until the voting period ends), and the signed ACM decision after the follow-up.
 */
export function reviewWorkItems(f: ReviewWorkFacts, gridOperatorId: string | null): WorkItem[] {
  if (gridOperatorId !== null && !f.electorate.includes(gridOperatorId)) return [];
  const base = { subject: { type: 'review' as const, id: f.reviewId, reference: null }, caseId: null, deadline: null };
  if (f.status === 'proposed') {
    const waiting =
      gridOperatorId === null
        ? f.electorate.some((g) => !f.votedGridOperatorIds.includes(g))
        : !f.votedGridOperatorIds.includes(gridOperatorId);
    if (!waiting) return [];
    return [
      {
        ...base,
        kind: 'review_vote',
        expiresAt: f.votingUntil,
        rule: 'GT-5',
        why: 'A repeat-offender proposal waits for the grid operator’s vote; it lapses when the voting period ends',
      },
    ];
  }
  if (f.status === 'awaiting_decision')
    return [
      {
        ...base,
        kind: 'review_decision',
        expiresAt: null,
        rule: 'GT-5',
        why: 'The follow-up has ended: decide, signed, whether the ACM is informed',
      },
    ];
  return [];
}

export interface BreachWorkFacts {
  assessmentId: string;
  caseId: string;
  reference: string;
  /** The end of the art. 33 clock (./breach.ts breachDueAt). */
  dueAt: Date;
  decidedAt: Date | null;
}

/** GT-11: an undecided assessment waits for the privacy officer until (and after) its 72 hours. */
export function breachWorkItems(f: BreachWorkFacts, now: Date): WorkItem[] {
  if (f.decidedAt !== null) return [];
  const late = now.getTime() > f.dueAt.getTime();
  return [
    {
      kind: 'breach_decision',
      subject: { type: 'breach_assessment', id: f.assessmentId, reference: f.reference },
      caseId: f.caseId,
      expiresAt: f.dueAt,
      deadline: null,
      rule: 'GT-11',
      why: late
        ? 'The 72 hours of GDPR art. 33 have passed: decide, with the reasons for the delay'
        : 'Decide whether the AP is notified and the grid user informed, within the 72 hours of GDPR art. 33',
    },
  ];
}

export interface WorkFacts {
  cases: readonly CaseWorkFacts[];
  reviews: readonly ReviewWorkFacts[];
  breaches: readonly BreachWorkFacts[];
}

/** Soonest first; items without an instant last; then by kind and subject, so the order is total and stable. */
export function compareWorkItems(a: WorkItem, b: WorkItem): number {
  const at = a.expiresAt?.getTime() ?? Infinity;
  const bt = b.expiresAt?.getTime() ?? Infinity;
  if (at !== bt) return at < bt ? -1 : 1;
  const k = WORK_ITEM_KINDS.indexOf(a.kind) - WORK_ITEM_KINDS.indexOf(b.kind);
  if (k !== 0) return k;
  if (a.subject.id !== b.subject.id) return a.subject.id < b.subject.id ? -1 : 1;
  return (a.deadline ?? '') < (b.deadline ?? '') ? -1 : (a.deadline ?? '') > (b.deadline ?? '') ? 1 : 0;
}

/**
 * The queue of one viewer: the items of the kinds its role acts on (WORK_ITEM_KINDS_BY_ROLE; none for others),
 * over facts already held to what it may see (its grid operator's, domain/visibility.ts), ordered by
 * compareWorkItems.
 */
export function workQueue(
  facts: WorkFacts,
  viewer: { role: Role; gridOperatorId: string | null },
  now: Date,
  horizonHours: number,
): WorkItem[] {
  const kinds = WORK_ITEM_KINDS_BY_ROLE[viewer.role];
  if (!kinds) return [];
  const all = [
    ...facts.cases.flatMap((c) => caseWorkItems(c, now, horizonHours)),
    ...facts.reviews.flatMap((r) => reviewWorkItems(r, viewer.gridOperatorId)),
    ...facts.breaches.flatMap((b) => breachWorkItems(b, now)),
  ];
  return all.filter((i) => kinds.includes(i.kind)).sort(compareWorkItems);
}
