/**
 * The doubt case (gerede twijfel klantmandaat) as a process: one durable workflow per report, workflow id =
 * case id. Block (GT-2) → contact within 1 working day (GT-1) → 72 hours for the party's evidence (GT-3) →
 * the handler's judgement, or not demonstrated when none came (GT-4) → close: lift or keep the block
 * (GT-7, GT-8) → archive. The state and its views are state.ts, the Update bodies updates.ts (registered
 * in handlers.ts), step 2 contact.ts, the rules domain/case.ts. No I/O and no wall clock here.
 *
 * Replay: the order of activity calls, timers and search-attribute updates is what recorded histories hold
 * (test/workflows/replay.test.ts). This function awaits every step inline on purpose: an extra async
 * function between two steps would let a handler's command slip in between them in a busy workflow task.
 */
import { allHandlersFinished, condition, workflowInfo } from '@temporalio/workflow';
import { closingNotices } from '../../domain/case-notices.js';
import type { CaseSnapshot, DoubtCaseInput } from '../shared.js';
import { db, mail } from './activities.js';
import { contactParty } from './contact.js';
import { registerHandlers } from './handlers.js';
import { keepsDecisionMadeWhileWindowClosed, tellsPeopleAroundTheCase } from './patches.js';
import { DoubtCase } from './state.js';

/** Evidence in time but unjudged after the 72 hours: remind the handler this often. */
export const JUDGEMENT_REMINDER_INTERVAL_MS = 24 * 3_600_000;

export async function doubtCaseWorkflow(input: DoubtCaseInput): Promise<CaseSnapshot> {
  const c = new DoubtCase(input);
  registerHandlers(c);

  // 1. The block (GT-2: placed at intake, idempotent here) and, for iSMA, the '0' allocation (GT-4).
  await db.setUpCase(c.setUpInput());
  c.publish();
  // The reporter hears the signal is in hand, the grid user that a block was placed (GT-2); aside, bounded.
  if (tellsPeopleAroundTheCase()) c.tellPeople(['reporter_acknowledgement', 'grid_user_block']);

  // 2. Contact the party's doubt contact group within 1 working day (GT-1, GT-10).
  if (!c.decision) await contactParty(c);

  // 3. 72 hours for the party's answer (GT-3). 4. Evidence that came in time waits for the handler's
  //    judgement, reminded daily; without it the mandate was not demonstrated (GT-4). The loop re-reads the
  //    state rather than the conditions' results: a timer and a decision can land in the same workflow task.
  while (!c.decision) {
    if (c.responseWindowRunning()) {
      await condition(c.isDecided, c.responseTimeLeft());
      continue;
    }
    if (!c.responseWindowClosed) {
      await db.recordResponseWindowClosed(c.closeResponseWindow());
      c.publish();
      // A handler's decision that arrived while the closing was recorded stands. Before this patch it was
      // overwritten with "not demonstrated" just below; histories from then replay as they ran.
      if (c.decision && keepsDecisionMadeWhileWindowClosed()) continue;
    }
    if (c.pendingEvidence()) {
      c.remindHandler();
      await condition(c.isDecided, JUDGEMENT_REMINDER_INTERVAL_MS);
      continue;
    }
    // A rejection being recorded decides nothing by itself; once it is, the rules below apply.
    if (c.judging > 0) {
      await condition(() => c.judging === 0 || c.isDecided());
      continue;
    }
    c.decision = c.notDemonstrated();
  }

  // 5.-7. Close: lift or keep the block, end or switch the allocation, destroy the evidence (GT-4, GT-7,
  //       GT-8), and tell the party. An evidence-request mail still retrying is moot once decided.
  c.stopEvidenceRequestMails();
  const decision = c.decision;
  if (decision.responseId) await db.recordJudgement(c.judgementRecord(decision, decision.responseId));
  c.applyClosed(await db.closeCase(c.closeInput(decision)));
  if (tellsPeopleAroundTheCase()) c.tellPeople(closingNotices(c.unblockedAt !== null));
  await mail.sendOutcomeEmail({ caseId: input.caseId, outcome: decision.kind });

  // 8. Archive: Temporal drops closed workflows after the namespace retention, so once background mail
  //    and handlers are done, a separate workflow archives the complete history (completion included).
  await Promise.allSettled(c.background);
  await condition(allHandlersFinished);
  await db.scheduleHistoryArchive({
    caseId: input.caseId,
    workflowId: workflowInfo().workflowId,
    runId: workflowInfo().runId,
  });
  return c.snapshot();
}
