/**
 * GT-5 repeat offenders: the joint judgement of the grid operators. A count over the signals can propose a
 * review; the grid operators of the system decide by vote (the electorate and the agreement rule below), and a
 * named person decides whether the ACM is informed. Pure: no I/O.
 */
import type { AgreementRule } from '../lib/agreement-rules.js';
import type { CaseStatus } from './case.js';

/**
 * What a signal was about, recorded at intake or later by the handler, so that "similar signals"
 * (vergelijkbare klantsignalen) means something. Unclassified signals are similar only to each other.
 */
export const SIGNAL_CLASSES = [
  'party_unknown_to_customer', // the customer does not know the party at all
  'no_mandate_given', // the customer knows the party but never gave the mandate
  'mandate_withdrawn', // the mandate was withdrawn or had expired
  'beyond_mandate', // data used or requested beyond what the customer agreed to
  'other',
] as const;
export type SignalClass = (typeof SIGNAL_CLASSES)[number];
export const UNCLASSIFIED = 'unclassified';
export type SignalGroup = SignalClass | typeof UNCLASSIFIED;

/**
 * Cases that are not signals against the party (GT-5): it demonstrated its mandate (GT-8), the block was
 * wrongful (GT-7), or the case was withdrawn. SQL mirror: db/repositories/reviews.ts signalRows.
 */
export const NOT_SIGNAL_STATUSES: readonly CaseStatus[] = [
  'closed_mandate_accepted',
  'closed_wrongful_block',
  'closed_withdrawn',
];
export const countsAsSignal = (status: CaseStatus): boolean => !NOT_SIGNAL_STATUSES.includes(status);

/** Signals per group of similar signals (same classification). */
export function similarGroups(signals: { signalClass: SignalClass | null }[]): Record<string, number> {
  const groups: Record<string, number> = {};
  for (const s of signals) {
    const g: SignalGroup = s.signalClass ?? UNCLASSIFIED;
    groups[g] = (groups[g] ?? 0) + 1;
  }
  return groups;
}

/** A count proposes a review when one group of similar signals reaches the threshold. */
export const proposes = (signals: { signalClass: SignalClass | null }[], threshold: number): boolean =>
  Object.values(similarGroups(signals)).some((n) => n >= threshold);

/**
 * GT-5 "in the joint grid operators' judgement … on behalf of all grid operators": who judges a proposal is
 * every grid operator in the system — every party holding the grid_operator role when the proposal is made —
 * whether or not it received signals about the party. Fixed with the proposal (a grid operator that joins
 * later does not change a running count). Not: only the operators with signals in the proposal (then one
 * operator with all the signals would decide alone on behalf of all), nor only those with active keys (an
 * operator without people on the system would be decided for). One grid operator decides alone only when it
 * is the only one in the system. Sorted, without duplicates.
 */
export function reviewElectorate(parties: readonly { id: string; roles: readonly string[] }[]): string[] {
  return [...new Set(parties.filter((p) => p.roles.includes('grid_operator')).map((p) => p.id))].sort();
}

/**
 * The documented agreement rule over the electorate (reviewElectorate). `majority` (default): more than half of
 * the electorate agree, and at least one. `unanimous`: all of it agrees. With two or more grid operators in the
 * electorate one vote never suffices under either rule. The names are configuration's vocabulary
 * (lib/agreement-rules.ts); their meaning is `votesNeeded` below.
 */
export { AGREEMENT_RULES, type AgreementRule } from '../lib/agreement-rules.js';

/** How many of `involved` grid operators must agree under `rule`; every rule name is handled (GT-5). */
export function votesNeeded(rule: AgreementRule, involved: number): number {
  switch (rule) {
    case 'majority':
      return Math.floor(involved / 2) + 1;
    case 'unanimous':
      return involved;
    default: {
      const unknown: never = rule;
      throw new Error(`agreement rule ${String(unknown)} has no meaning in domain/review.ts`);
    }
  }
}

export interface ReviewVote {
  gridOperatorId: string;
  agree: boolean;
}

/**
 * 'agreed' once the rule is met; 'rejected' once the votes still to come cannot meet it; otherwise 'pending'.
 * Votes of grid operators outside the electorate do not count (the workflow refuses them).
 */
export function agreement(
  rule: AgreementRule,
  operatorsInvolved: readonly string[],
  votes: readonly ReviewVote[],
): 'agreed' | 'rejected' | 'pending' {
  const involved = new Set(operatorsInvolved);
  const counted = votes.filter((v) => involved.has(v.gridOperatorId));
  const agree = counted.filter((v) => v.agree).length;
  const open = involved.size - counted.length;
  const needed = votesNeeded(rule, involved.size);
  if (involved.size === 0) return 'rejected';
  if (agree >= Math.max(1, needed)) return 'agreed';
  if (agree + open < Math.max(1, needed)) return 'rejected';
  return 'pending';
}

/**
 * The figure put to the grid operators after the follow-up (advice, not the decision): signals per day in the
 * follow-up period against signals per day in the window that opened the review, so periods compare fairly.
 */
export function signalsDecreased(input: {
  signalsAtOpen: number;
  windowDays: number;
  signalsAfterFollowUp: number;
  followUpDays: number;
}): boolean {
  return input.signalsAfterFollowUp / input.followUpDays < input.signalsAtOpen / input.windowDays;
}
