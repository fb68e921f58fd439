/**
 * The doubt case's messages (workflows/shared.ts): which validator and body (updates.ts) answers each.
 * Registered before the process's first step (STYLE.md), so no Update finds the case without a handler.
 */
import { setHandler } from '@temporalio/workflow';
import {
  addNoteUpdate,
  caseStateQuery,
  judgeEvidenceUpdate,
  liftWrongfulBlockUpdate,
  notifyAcmUpdate,
  recordManualContactUpdate,
  requestEvidenceUpdate,
  submitResponseUpdate,
  withdrawCaseUpdate,
} from '../shared.js';
import type { DoubtCase } from './state.js';
import * as u from './updates.js';

export function registerHandlers(c: DoubtCase): void {
  setHandler(caseStateQuery, () => c.snapshot());
  // GT-3: the party's answer, counted against the 72 hours; GT-8: refused after them.
  setHandler(submitResponseUpdate, (r) => u.submitResponse(c, r), { validator: (r) => u.validateResponse(c, r) });
  setHandler(judgeEvidenceUpdate, (j) => u.judgeEvidence(c, j), { validator: (j) => u.validateJudgement(c, j) });
  // GT-7: a wrongful block is restored as soon as possible, at any moment.
  setHandler(liftWrongfulBlockUpdate, (a) => u.closeByHandler(c, 'wrongful_block', a), {
    validator: (a) => u.validateHandlerClose(c, a),
  });
  // GT-7: the reason code decides the effect; a signal that did not concern the party was a wrongful block.
  setHandler(withdrawCaseUpdate, (a) => u.withdraw(c, a), { validator: (a) => u.validateWithdrawal(c, a) });
  // GT-3: more or other evidence, asked for within the 72 hours (which do not restart).
  setHandler(requestEvidenceUpdate, (r) => u.requestEvidence(c, r), {
    validator: (r) => u.validateEvidenceRequest(c, r),
  });
  // GT-6: the ACM may be informed at any time (also of a closed case still in its final steps).
  setHandler(notifyAcmUpdate, (n) => u.notifyAcm(c, n), { validator: (n) => u.validateAcmReport(c, n) });
  setHandler(addNoteUpdate, (n) => u.addNote(c, n), { validator: (n) => u.validateNote(c, n) });
  // GT-1: contact by telephone, meeting or letter counts as the contact (also when the group is empty).
  setHandler(recordManualContactUpdate, (m) => u.recordManualContact(c, m), {
    validator: (m) => u.validateManualContact(c, m),
  });
}
