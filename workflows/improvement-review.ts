/**
 * GT-5: the grid operators' joint judgement on a repeat offender. The scan proposes (the signals behind the
 * proposal are recorded with their classification); every grid operator of the electorate (input.operatorsInvolved:
 * every grid operator in the system at the proposal, domain/review.ts reviewElectorate) votes (reviewVote Update) and the review starts when the agreement rule is met (domain/review.ts agreement). Then,
 * on behalf of all grid operators: contact, the party's commitment (reviewCommitment), the follow-up period,
 * and the figures put to the operators. The ACM report is sent only after a named person signs a decision to
 * report (reviewDecision); a decision not to report is recorded with its reason.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  log,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import { agreement, signalsDecreased, type ReviewVote } from '../domain/review.js';
import { DB_RETRY, MAIL_ACTIVITY, MAIL_RETRY } from './activity-options.js';
import {
  SA,
  ReviewErrors,
  reviewCommitmentUpdate,
  reviewDecisionUpdate,
  reviewStateQuery,
  reviewVoteUpdate,
  type ImprovementReviewInput,
  type ImprovementReviewResult,
  type ReviewActor,
  type ReviewOutcome,
  type ReviewSnapshot,
} from './shared.js';

type Activities = ReturnType<typeof createActivities>;
// A review runs for weeks (GT-5): its database steps may back off as far as mail does.
const db = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { ...DB_RETRY, maximumInterval: MAIL_RETRY.maximumInterval },
});
const mail = proxyActivities<Activities>(MAIL_ACTIVITY);

const DAY_MS = 86_400_000;

const refuse = (type: string, message: string): never => {
  throw ApplicationFailure.create({ type, message, nonRetryable: true });
};
const requireText = (field: string, text: string | undefined) => {
  if (!text || text.trim() === '') refuse(ReviewErrors.InvalidRequest, `${field} is required`);
};
const requireNamed = (a: ReviewActor) => requireText('the key holder’s name', a.name);

class ReviewState {
  status = 'proposed';
  /** Votes recorded in the database (they count); `voting` also holds those being recorded. */
  readonly votes: ReviewVote[] = [];
  readonly voting = new Set<string>();
  followUpUntil: Date | null = null;
  signalsAfterFollowUp: number | null = null;
  commitment: 'none' | 'recording' | 'recorded' = 'none';
  decision: 'report' | 'do_not_report' | null = null;
  decided = false;

  constructor(readonly input: ImprovementReviewInput) {}

  agreement() {
    return agreement(this.input.agreementRule, this.input.operatorsInvolved, this.votes);
  }

  snapshot(): ReviewSnapshot {
    return {
      reviewId: this.input.reviewId,
      status: this.status,
      votes: [...this.votes],
      agreement: this.agreement(),
      followUpUntil: this.followUpUntil ? this.followUpUntil.toISOString() : null,
      signalsAfterFollowUp: this.signalsAfterFollowUp,
      commitmentRecorded: this.commitment === 'recorded',
      decision: this.decision,
    };
  }

  requireInvolved(gridOperatorId: string) {
    if (!this.input.operatorsInvolved.includes(gridOperatorId))
      refuse(ReviewErrors.NotInvolved, 'Only the grid operators of the review’s electorate act on it');
  }
}

export async function improvementReviewWorkflow(input: ImprovementReviewInput): Promise<ImprovementReviewResult> {
  const r = new ReviewState(input);
  const reviewId = input.reviewId;
  setHandler(reviewStateQuery, () => r.snapshot());

  setHandler(
    reviewVoteUpdate,
    async (v) => {
      r.voting.add(v.gridOperatorId);
      try {
        await db.recordReviewVote({ ...v, reviewId, at: new Date(Date.now()).toISOString() });
      } catch (err) {
        r.voting.delete(v.gridOperatorId);
        throw err;
      }
      r.votes.push({ gridOperatorId: v.gridOperatorId, agree: v.agree });
      return r.snapshot();
    },
    {
      validator: (v) => {
        if (r.status !== 'proposed')
          refuse(ReviewErrors.WrongState, `The proposal is no longer open for votes (${r.status})`);
        r.requireInvolved(v.gridOperatorId);
        if (r.voting.has(v.gridOperatorId))
          refuse(ReviewErrors.AlreadyDone, 'This grid operator has voted on the proposal');
        requireText('reason', v.reason);
        requireNamed(v);
      },
    },
  );

  setHandler(
    reviewCommitmentUpdate,
    async (c) => {
      r.commitment = 'recording';
      try {
        await db.recordReviewCommitment({ ...c, reviewId, at: new Date(Date.now()).toISOString() });
      } catch (err) {
        r.commitment = 'none';
        throw err;
      }
      r.commitment = 'recorded';
      return r.snapshot();
    },
    {
      validator: (c) => {
        if (r.status !== 'contacting' && r.status !== 'follow_up')
          refuse(
            ReviewErrors.WrongState,
            `A commitment is recorded while the party is contacted or followed (${r.status})`,
          );
        if (r.commitment !== 'none') refuse(ReviewErrors.AlreadyDone, 'The party’s commitment is recorded');
        requireText('commitment', c.commitment);
        requireNamed(c);
      },
    },
  );

  setHandler(
    reviewDecisionUpdate,
    async (d) => {
      r.decision = d.decision;
      try {
        await db.recordReviewDecision({ ...d, reviewId, at: new Date(Date.now()).toISOString() });
      } catch (err) {
        r.decision = null;
        throw err;
      }
      r.decided = true;
      return r.snapshot();
    },
    {
      validator: (d) => {
        if (r.status !== 'awaiting_decision')
          refuse(ReviewErrors.WrongState, `The ACM report is decided after the follow-up (${r.status})`);
        if (r.decision !== null) refuse(ReviewErrors.AlreadyDone, 'The ACM report has been decided');
        r.requireInvolved(d.gridOperatorId);
        requireText('reason', d.reason);
        requireNamed(d);
      },
    },
  );

  const setStatus = (status: string, nextDeadline: Date | null) => {
    r.status = status;
    upsertSearchAttributes([
      { key: SA.CaseStatus, value: status },
      { key: SA.NextDeadline, value: nextDeadline },
    ]);
  };
  upsertSearchAttributes([
    { key: SA.CaseKind, value: 'improvement_review' },
    { key: SA.PartyGln, value: input.partyGln },
  ]);
  const votingUntil = new Date(input.votingUntil);
  setStatus('proposed', votingUntil);

  // The proposal: the grid operators involved vote until the rule is met, cannot be met, or time is up.
  await condition(() => r.agreement() !== 'pending', Math.max(0, votingUntil.getTime() - Date.now()));
  if (r.agreement() !== 'agreed') {
    await db.closeReview({ reviewId, status: 'not_agreed', at: new Date(Date.now()).toISOString() });
    setStatus('not_agreed', null);
    return finish(r, 'not_agreed');
  }
  await db.markReviewAgreed({ reviewId, votes: r.votes, at: new Date(Date.now()).toISOString() });
  setStatus('contacting', null);

  await mail.sendReviewContact({ reviewId });
  // Contacted when the workflow sees the mail sent; the follow-up period runs from that moment.
  const followUpFrom = new Date(Date.now());
  r.followUpUntil = new Date(followUpFrom.getTime() + input.followUpDays * DAY_MS);
  await db.startReviewFollowUp({
    reviewId,
    contactedAt: followUpFrom.toISOString(),
    followUpFrom: followUpFrom.toISOString(),
    followUpUntil: r.followUpUntil.toISOString(),
  });
  setStatus('follow_up', r.followUpUntil);
  await sleep(r.followUpUntil.getTime() - Date.now());

  // The figures are put to the grid operators; a named person decides on the ACM report.
  r.signalsAfterFollowUp = await db.countPartySignals({
    partyId: input.partyId,
    from: followUpFrom.toISOString(),
    to: r.followUpUntil.toISOString(),
  });
  await db.putReviewFiguresToOperators({
    reviewId,
    signalsAfterFollowUp: r.signalsAfterFollowUp,
    decreased: signalsDecreased({ ...input, signalsAfterFollowUp: r.signalsAfterFollowUp }),
    at: new Date(Date.now()).toISOString(),
  });
  setStatus('awaiting_decision', null);
  await condition(() => r.decided);

  const outcome: ReviewOutcome = r.decision === 'report' ? 'reported_to_acm' : 'not_reported';
  if (outcome === 'reported_to_acm') {
    await mail.reportReviewToAcm({
      reviewId,
      signalsAfterFollowUp: r.signalsAfterFollowUp,
      at: new Date(Date.now()).toISOString(),
    });
  }
  await db.closeReview({ reviewId, status: outcome, at: new Date(Date.now()).toISOString() });
  setStatus(outcome, null);
  return finish(r, outcome);
}

async function finish(r: ReviewState, outcome: ReviewOutcome): Promise<ImprovementReviewResult> {
  await condition(allHandlersFinished); // a handler that just recorded its step replies before the run completes
  log.info('improvement review closed', { reviewId: r.input.reviewId, outcome });
  return {
    reviewId: r.input.reviewId,
    outcome,
    signalsAtOpen: r.input.signalsAtOpen,
    signalsAfterFollowUp: r.signalsAfterFollowUp,
  };
}
