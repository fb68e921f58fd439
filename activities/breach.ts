/**
 * GT-11 activities of the breach-assessment workflow (services/breach/steps.ts): open the assessment, remind
 * the privacy officer, mark the art. 33 clock missed, record the decision. Retried by the workflow's policy.
 */
import * as steps from '../services/breach/steps.js';
import type { BreachDecisionInput, BreachWorkflowInput } from '../workflows/breach-shared.js';
import { stepDeps, type ActivityDeps } from './deps.js';

export function breachActivities(activityDeps: ActivityDeps) {
  const deps = stepDeps(activityDeps);
  return {
    openBreachAssessment: (input: BreachWorkflowInput) => steps.openBreachAssessment(deps, input),
    sendBreachReminder: (input: { id: string; n: number }) => steps.sendBreachReminder(deps, input),
    markBreachClockMissed: (input: { id: string; at: string }) => steps.markBreachClockMissed(deps, input),
    recordBreachDecision: (input: BreachDecisionInput & { id: string; at: string; clock: 'met' | 'missed' }) =>
      steps.recordBreachDecision(deps, input),
  };
}
