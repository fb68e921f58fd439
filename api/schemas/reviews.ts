/** GT-5 improvement reviews over HTTP: the proposal with its signals and votes, and the people's steps. */
import { Type, type Static } from '@sinclair/typebox';
import type { AuditEntry, ImprovementReview, Party, ReviewSignal, ReviewVoteRow } from '../../db/schema/index.js';
import { REVIEW_STATUSES } from '../../db/schema/index.js';
import { AGREEMENT_RULES, similarGroups } from '../../domain/review.js';
import { SignalClassSchema } from './cases.js';
import { DateTime, Gln13, Page, Paging, Uuid } from './common.js';

const lit = <T extends string>(values: readonly T[], description?: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    description ? { description } : {},
  );
const orNull = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

export const ReviewStatusSchema = lit(
  REVIEW_STATUSES,
  'proposed (the grid operators vote) → contacting → follow_up → awaiting_decision → reported_to_acm | not_reported; or not_agreed',
);
const Text = (maxLength: number, description: string) => Type.String({ minLength: 1, maxLength, description });
const PartyRef = Type.Object({ id: Uuid, gln: Type.String(), name: Type.String() }, { title: 'ReviewPartyRef' });

export const ReviewParams = Type.Object({ id: Uuid });
export const CaseIdParams = Type.Object({ id: Uuid });

export const ReviewQuery = Type.Object(
  {
    ...Paging.properties,
    status: Type.Optional(ReviewStatusSchema),
    partyGln: Type.Optional(Gln13),
  },
  { additionalProperties: false },
);

export const ReviewSummarySchema = Type.Object(
  {
    id: Uuid,
    status: ReviewStatusSchema,
    party: PartyRef,
    openedAt: DateTime,
    windowDays: Type.Integer(),
    threshold: Type.Integer(),
    signalsAtOpen: Type.Integer({
      description: 'Signals in the proposal (won, wrongful-block and withdrawn cases excluded)',
    }),
    agreementRule: lit(
      AGREEMENT_RULES,
      'majority (default): more than half of the electorate (every grid operator in the system when proposed), at least one; unanimous: all of it',
    ),
    votingUntil: orNull(DateTime),
    agreedAt: orNull(DateTime),
    followUpDays: Type.Integer(),
    followUpFrom: orNull(DateTime),
    followUpUntil: orNull(DateTime),
    signalsAfterFollowUp: orNull(Type.Integer()),
    closedAt: orNull(DateTime),
  },
  { title: 'ImprovementReviewSummary' },
);

export const ReviewSignalSchema = Type.Object(
  {
    kind: lit(['case', 'supplier_report'] as const),
    id: Uuid,
    reference: orNull(Type.String()),
    gridOperator: PartyRef,
    receivedAt: DateTime,
    signalClass: orNull(SignalClassSchema),
    status: orNull(Type.String({ description: 'The case status when proposed' })),
  },
  { title: 'ReviewSignal' },
);

export const ReviewVoteSchema = Type.Object(
  {
    gridOperator: PartyRef,
    agree: Type.Boolean(),
    reason: Type.String(),
    votedBy: Type.String({ description: 'The key that voted (api-key:<id>)' }),
    votedByName: Type.String({ description: 'The signature: the voting key’s recorded holder (never its label)' }),
    votedByRole: orNull(Type.String({ description: 'The voting key’s role' })),
    votedAt: DateTime,
  },
  { title: 'ReviewVote' },
);

export const ReviewSchema = Type.Object(
  {
    ...ReviewSummarySchema.properties,
    similarSignals: Type.Record(Type.String(), Type.Integer(), {
      description: 'Signals per classification (unclassified: not yet classified)',
    }),
    signals: Type.Array(ReviewSignalSchema),
    electorate: Type.Array(PartyRef, {
      description:
        'GT-5 jointly: the grid operators who vote and may sign the ACM decision — every grid operator in the system when the proposal was made, signals or not',
    }),
    operatorsWithSignals: Type.Array(PartyRef, { description: 'Grid operators with signals in the proposal' }),
    votes: Type.Array(ReviewVoteSchema),
    commitment: orNull(Type.String()),
    commitmentRecordedAt: orNull(DateTime),
    commitmentRecordedBy: orNull(Type.String()),
    decision: orNull(lit(['report', 'do_not_report'] as const)),
    decisionReason: orNull(Type.String()),
    decidedBy: orNull(Type.String()),
    decidedByName: orNull(Type.String({ description: 'Who signed the decision (the key holder’s recorded name)' })),
    decidedByRole: orNull(Type.String({ description: 'The signing key’s role' })),
    decidedAt: orNull(DateTime),
    history: Type.Array(
      Type.Object(
        {
          at: DateTime,
          action: Type.String({
            description: 'review.proposed, review.vote_recorded, review.agreed, …, review.closed',
          }),
          actor: Type.String(),
          actorRole: orNull(Type.String()),
          data: Type.Record(Type.String(), Type.Unknown()),
        },
        { title: 'ReviewHistoryEntry' },
      ),
      { description: 'Every step of the review, oldest first (the audit log)' },
    ),
  },
  { title: 'ImprovementReview' },
);
export const ReviewList = Page(ReviewSummarySchema);

export const ReviewStateSchema = Type.Object(
  {
    reviewId: Uuid,
    status: Type.String(),
    votes: Type.Array(Type.Object({ gridOperatorId: Uuid, agree: Type.Boolean() })),
    agreement: lit(['agreed', 'rejected', 'pending'] as const),
    followUpUntil: orNull(DateTime),
    signalsAfterFollowUp: orNull(Type.Integer()),
    commitmentRecorded: Type.Boolean(),
    decision: orNull(lit(['report', 'do_not_report'] as const)),
  },
  { title: 'ImprovementReviewState' },
);

export const VoteBody = Type.Object(
  {
    agree: Type.Boolean(),
    reason: Text(2000, 'Why the grid operator agrees or disagrees that these are similar signals'),
  },
  { additionalProperties: false, title: 'ReviewVoteCreate' },
);
export const CommitmentBody = Type.Object(
  { commitment: Text(10_000, 'The improvements the party commits to and how it guarantees them') },
  { additionalProperties: false, title: 'ReviewCommitment' },
);
export const DecisionBody = Type.Object(
  {
    decision: lit(['report', 'do_not_report'] as const),
    reason: Text(5000, 'Why: the signed report’s conclusion, or why the ACM is not informed'),
  },
  { additionalProperties: false, title: 'ReviewDecision' },
);
export const ClassifyBody = Type.Object(
  { signalClass: SignalClassSchema },
  { additionalProperties: false, title: 'SignalClassification' },
);
export const ClassifyResult = Type.Object({
  caseId: Uuid,
  signalClass: SignalClassSchema,
  previous: orNull(SignalClassSchema),
});

const ref = (ps: Map<string, Party>, id: string) => ({ id, gln: ps.get(id)?.gln ?? '', name: ps.get(id)?.name ?? '' });

export function toReviewSummary(r: ImprovementReview, ps: Map<string, Party>): Static<typeof ReviewSummarySchema> {
  return {
    id: r.id,
    status: r.status,
    party: ref(ps, r.partyId),
    openedAt: r.openedAt.toISOString(),
    windowDays: r.windowDays,
    threshold: r.threshold,
    signalsAtOpen: r.signalsAtOpen,
    agreementRule: r.agreementRule,
    votingUntil: iso(r.votingUntil),
    agreedAt: iso(r.agreedAt),
    followUpDays: r.followUpDays,
    followUpFrom: iso(r.followUpFrom),
    followUpUntil: iso(r.followUpUntil),
    signalsAfterFollowUp: r.signalsAfterFollowUp,
    closedAt: iso(r.closedAt),
  };
}

export function toReviewDto(
  r: { review: ImprovementReview; signals: ReviewSignal[]; votes: ReviewVoteRow[]; history: AuditEntry[] },
  ps: Map<string, Party>,
): Static<typeof ReviewSchema> {
  const v = r.review;
  return {
    ...toReviewSummary(v, ps),
    similarSignals: similarGroups(r.signals),
    signals: r.signals.map((s) => ({
      kind: s.kind,
      id: s.signalId,
      reference: s.reference,
      gridOperator: ref(ps, s.gridOperatorId),
      receivedAt: s.receivedAt.toISOString(),
      signalClass: s.signalClass,
      status: s.status,
    })),
    electorate: v.electorate.map((id) => ref(ps, id)),
    operatorsWithSignals: [...new Set(r.signals.map((s) => s.gridOperatorId))].sort().map((id) => ref(ps, id)),
    votes: r.votes.map((x) => ({
      gridOperator: ref(ps, x.gridOperatorId),
      agree: x.agree,
      reason: x.reason,
      votedBy: x.votedBy,
      votedByName: x.votedByName,
      votedByRole: x.votedByRole,
      votedAt: x.votedAt.toISOString(),
    })),
    commitment: v.commitment,
    commitmentRecordedAt: iso(v.commitmentRecordedAt),
    commitmentRecordedBy: v.commitmentRecordedBy,
    decision: v.decision,
    decisionReason: v.decisionReason,
    decidedBy: v.decidedBy,
    decidedByName: v.decidedByName,
    decidedByRole: v.decidedByRole,
    decidedAt: iso(v.decidedAt),
    history: r.history.map((e) => ({
      at: e.at.toISOString(),
      action: e.action,
      actor: e.actor,
      actorRole: e.actorRole,
      data: e.data,
    })),
  };
}
