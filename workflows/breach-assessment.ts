/**
 * GT-11: the breach assessment's art. 33 clock. Opens the assessment (prefilled from the access
 * register), reminds the privacy officer 24 and 6 hours before the 72 hours end, marks the clock missed
 * when they pass undecided, and records the decision through an Update (met when it comes in time).
 * Waits for the decision even after the clock is missed: a late decision is still recorded, with its delay reasons.
 */
import { allHandlersFinished, condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import { breachReminderTimes, clockAt, decisionProblems } from '../domain/breach.js';
import { DB_ACTIVITY, MAIL_ACTIVITY } from './activity-options.js';
import {
  breachStateQuery,
  decideBreachUpdate,
  type BreachSnapshot,
  type BreachWorkflowInput,
} from './breach-shared.js';
import { refuse } from './refuse.js';

type Activities = ReturnType<typeof createActivities>;
const { openBreachAssessment, markBreachClockMissed, recordBreachDecision } = proxyActivities<Activities>(DB_ACTIVITY);
const { sendBreachReminder } = proxyActivities<Activities>(MAIL_ACTIVITY);

/**
 * Wait until decided or until `at`; true when decided. A decision being recorded when `at` comes is
 * waited for (it met the instant it was validated at); one that failed lets the wait go on.
 */
async function decidedBy(state: BreachSnapshot, deciding: () => boolean, at: Date): Promise<boolean> {
  for (;;) {
    const ms = at.getTime() - Date.now();
    if (ms > 0) await condition(() => state.decided || deciding(), ms);
    if (deciding()) await condition(() => !deciding());
    if (state.decided || Date.now() >= at.getTime()) return state.decided;
  }
}

export async function breachAssessmentWorkflow(input: BreachWorkflowInput): Promise<BreachSnapshot> {
  const state: BreachSnapshot = { assessmentId: null, dueAt: null, clock: 'running', remindersSent: 0, decided: false };
  let deciding = false;
  const isDeciding = () => deciding;
  setHandler(breachStateQuery, () => state);
  setHandler(
    decideBreachUpdate,
    async (d) => {
      deciding = true;
      try {
        await condition(() => state.assessmentId !== null);
        const at = new Date();
        const r = await recordBreachDecision({
          ...d,
          id: state.assessmentId!,
          at: at.toISOString(),
          clock: clockAt(new Date(state.dueAt!), at),
        });
        state.clock = r.clock;
        state.decided = true;
        return state;
      } finally {
        deciding = false;
      }
    },
    {
      validator: (d) => {
        if (state.decided || deciding)
          refuse({ kind: 'state', code: 'breach_already_decided', message: 'The assessment is decided' });
        // Before the assessment is open (its first activity) the clock has only just started: not late.
        const late = state.dueAt !== null && Date.now() > new Date(state.dueAt).getTime();
        const [problem] = decisionProblems(d, late);
        if (problem) refuse({ kind: 'validation', code: 'breach_decision_incomplete', ...problem });
      },
    },
  );

  const opened = await openBreachAssessment(input);
  Object.assign(state, opened);
  const dueAt = new Date(opened.dueAt!);

  for (const [i, at] of breachReminderTimes(dueAt).entries()) {
    if (await decidedBy(state, isDeciding, at)) break;
    if (state.remindersSent <= i) {
      await sendBreachReminder({ id: opened.assessmentId!, n: i + 1 });
      state.remindersSent = i + 1;
    }
  }
  if (!(await decidedBy(state, isDeciding, dueAt)) && state.clock === 'running') {
    await markBreachClockMissed({ id: opened.assessmentId!, at: new Date().toISOString() });
    if (!state.decided) state.clock = 'missed';
  }
  await condition(() => state.decided);
  await condition(allHandlersFinished);
  return state;
}
