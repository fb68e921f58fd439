/**
 * GT-5: the grid operators' joint judgement on a repeat offender. The scan proposes (the signals behind the
 * proposal are recorded with their classification); every grid operator of the electorate (input.operatorsInvolved:
 * every grid operator in the system at the proposal, domain/review.ts reviewElectorate) votes (reviewVote Update) and the review starts when the agreement rule is met (domain/review.ts agreement). Then,
 * on behalf of all grid operators: contact, the party's commitment (reviewCommitment), the follow-up period,
 * and the figures put to the operators. The ACM report is sent only after a named person signs a decision to
 * report (reviewDecision); a decision not to report is recorded with its reason.
 *
 * Read `improvementReviewWorkflow` first: it is the process, every step awaited inline (replay: recorded
 * histories hold its command order). `ReviewState` holds the state and the Updates' validators and bodies.
 */
import {
  allHandlersFinished,
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
import { refuse, requireText } from './refuse.js';
import {
  SA,
  reviewCommitmentUpdate,
  reviewDecisionUpdate,
  reviewStateQuery,
  reviewVoteUpdate,
  type ImprovementReviewInput,
  type ImprovementReviewResult,
  type ReviewActor,
  type ReviewCommitmentInput,
  type ReviewDecisionInput,
  type ReviewOutcome,
  type ReviewSnapshot,
  type ReviewVoteInput,
} from './shared.js';

type Activities = ReturnType<typeof createActivities>;
// A review runs for weeks (GT-5): its database steps may back off as far as mail does.
const db = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { ...DB_RETRY, maximumInterval: MAIL_RETRY.maximumInterval },
});
const mail = proxyActivities<Activities>(MAIL_ACTIVITY);

const DAY_MS = 86_400_000;
const nowIso = () => new Date(Date.now()).toISOString();

// ---------------------------------------------------------------- the process

export async function improvementReviewWorkflow(input: ImprovementReviewInput): Promise<ImprovementReviewResult> {
  const r = new ReviewState(input);
  const reviewId = input.reviewId;
  registerHandlers(r);
  upsertSearchAttributes([
    { key: SA.CaseKind, value: 'improvement_review' },
    { key: SA.PartyGln, value: input.partyGln },
  ]);
  const votingUntil = new Date(input.votingUntil);
  r.setStatus('proposed', votingUntil);

  // The proposal: the grid operators involved vote until the rule is met, cannot be met, or time is up.
  await condition(() => r.agreement() !== 'pending', Math.max(0, votingUntil.getTime() - Date.now()));
  if (r.agreement() !== 'agreed') {
    await db.closeReview({ reviewId, status: 'not_agreed', at: nowIso() });
    r.setStatus('not_agreed', null);
    return finish(r, 'not_agreed');
  }
  await db.markReviewAgreed({ reviewId, votes: r.votes, at: nowIso() });
  r.setStatus('contacting', null);

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
  r.setStatus('follow_up', r.followUpUntil);
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
    at: nowIso(),
  });
  r.setStatus('awaiting_decision', null);
  await condition(() => r.decided);

  const outcome: ReviewOutcome = r.decision === 'report' ? 'reported_to_acm' : 'not_reported';
  if (outcome === 'reported_to_acm') {
    await mail.reportReviewToAcm({ reviewId, signalsAfterFollowUp: r.signalsAfterFollowUp, at: nowIso() });
  }
  await db.closeReview({ reviewId, status: outcome, at: nowIso() });
  r.setStatus(outcome, null);
  return finish(r, outcome);
}

function registerHandlers(r: ReviewState): void {
  setHandler(reviewStateQuery, () => r.snapshot());
  setHandler(reviewVoteUpdate, (v) => r.vote(v), { validator: (v) => r.validateVote(v) });
  setHandler(reviewCommitmentUpdate, (c) => r.recordCommitment(c), { validator: (c) => r.validateCommitment(c) });
  setHandler(reviewDecisionUpdate, (d) => r.decide(d), { validator: (d) => r.validateDecision(d) });
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

// ---------------------------------------------------------------- state and the Updates' bodies

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

  setStatus(status: string, nextDeadline: Date | null): void {
    this.status = status;
    upsertSearchAttributes([
      { key: SA.CaseStatus, value: status },
      { key: SA.NextDeadline, value: nextDeadline },
    ]);
  }

  // ---- refusals (../refuse.ts; services/workflow-client.ts answers them as DomainErrors)

  private requireStatus(ok: boolean, message: string): void {
    if (!ok)
      refuse({
        kind: 'state',
        code: 'review_wrong_state',
        message: `${message} (${this.status})`,
        details: { reviewId: this.input.reviewId, status: this.status },
      });
  }

  private requireNotDone(done: boolean, message: string): void {
    if (done) refuse({ kind: 'state', code: 'review_step_done', message, details: { reviewId: this.input.reviewId } });
  }

  /** A review the grid operator is not involved in is not theirs to know: 404, as for cases. */
  private requireInvolved(gridOperatorId: string): void {
    if (!this.input.operatorsInvolved.includes(gridOperatorId))
      refuse({
        kind: 'not_found',
        code: 'review_not_found',
        message: 'Only the grid operators of the review’s electorate act on it',
        field: 'reviewId',
      });
  }

  /** The step's text, and the key holder's recorded name that signs it (not an input of the request: no field). */
  private requireSigned(a: ReviewActor, field: 'reason' | 'commitment', text: string): void {
    requireText(text, field, field);
    requireText(a.name, 'the key holder’s name');
  }

  // ---- GT-5: a vote of each grid operator involved, while proposed

  validateVote(v: ReviewVoteInput): void {
    this.requireStatus(this.status === 'proposed', 'The proposal is no longer open for votes');
    this.requireInvolved(v.gridOperatorId);
    this.requireNotDone(this.voting.has(v.gridOperatorId), 'This grid operator has voted on the proposal');
    this.requireSigned(v, 'reason', v.reason);
  }

  async vote(v: ReviewVoteInput): Promise<ReviewSnapshot> {
    this.voting.add(v.gridOperatorId);
    try {
      await db.recordReviewVote({ ...v, reviewId: this.input.reviewId, at: nowIso() });
    } catch (err) {
      this.voting.delete(v.gridOperatorId);
      throw err;
    }
    this.votes.push({ gridOperatorId: v.gridOperatorId, agree: v.agree });
    return this.snapshot();
  }

  // ---- the party's commitment, while contacted or followed

  validateCommitment(c: ReviewCommitmentInput): void {
    this.requireStatus(
      this.status === 'contacting' || this.status === 'follow_up',
      'A commitment is recorded while the party is contacted or followed',
    );
    this.requireNotDone(this.commitment !== 'none', 'The party’s commitment is recorded');
    this.requireSigned(c, 'commitment', c.commitment);
  }

  async recordCommitment(c: ReviewCommitmentInput): Promise<ReviewSnapshot> {
    this.commitment = 'recording';
    try {
      await db.recordReviewCommitment({ ...c, reviewId: this.input.reviewId, at: nowIso() });
    } catch (err) {
      this.commitment = 'none';
      throw err;
    }
    this.commitment = 'recorded';
    return this.snapshot();
  }

  // ---- the signed decision on the ACM report, after the follow-up

  validateDecision(d: ReviewDecisionInput): void {
    this.requireStatus(this.status === 'awaiting_decision', 'The ACM report is decided after the follow-up');
    this.requireNotDone(this.decision !== null, 'The ACM report has been decided');
    this.requireInvolved(d.gridOperatorId);
    this.requireSigned(d, 'reason', d.reason);
  }

  async decide(d: ReviewDecisionInput): Promise<ReviewSnapshot> {
    this.decision = d.decision;
    try {
      await db.recordReviewDecision({ ...d, reviewId: this.input.reviewId, at: nowIso() });
    } catch (err) {
      this.decision = null;
      throw err;
    }
    this.decided = true;
    return this.snapshot();
  }
}
