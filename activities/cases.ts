/**
 * The doubt-case workflow's database steps as activities: each calls its step in services/cases/steps.ts
 * (one transaction with its audit entry, idempotent). Retried by the workflow's DB_RETRY; domain refusals
 * are not retried (activities/failures.ts).
 */
import * as steps from '../services/cases/steps.js';
import { currentAttempt, recordingDeps, type ActivityDeps } from './deps.js';

export function caseActivities(activityDeps: ActivityDeps) {
  const deps = recordingDeps(activityDeps);
  const { db } = deps;
  return {
    setUpCase: (input: steps.SetUpCaseInput) => steps.setUpCase(db, input),
    recordContact: (input: steps.RecordContactInput) => steps.recordContact(db, input),
    /** GT-1: the deadline nears without contact. Recorded first; the alert mail follows separately. */
    recordContactAtRisk: (input: steps.ContactAlarmInput) => steps.contactAlarm(deps, 'at_risk', input),
    /** GT-1 missed: recorded, never silently dropped. */
    recordContactMissed: (input: steps.ContactAlarmInput) => steps.contactAlarm(deps, 'missed', input),
    acceptResponse: (input: steps.AcceptResponseInput) => steps.acceptResponse(db, input),
    recordResponseWindowClosed: (input: steps.ResponseWindowClosedInput) => steps.recordResponseWindowClosed(db, input),
    recordJudgement: (input: steps.RecordJudgementInput) => steps.recordJudgement(db, input),
    /** Steps 5-7; the GT-11 breach workflow starts on this activity's task queue. */
    closeCase: (input: steps.CloseCaseInput) => steps.closeCase(deps, input, currentAttempt().taskQueue),
    recordEvidenceRequest: (input: steps.RecordEvidenceRequestInput) => steps.recordEvidenceRequest(db, input),
    recordNote: (input: steps.NoteInput) => steps.recordNote(db, input),
  };
}
