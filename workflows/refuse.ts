/**
 * The one way a workflow refuses an Update: validators (the case, the improvement review, the breach
 * assessment) throw `refuse(...)`; services/workflow-client.ts turns it back into the DomainError it carries.
 * A refused Update leaves nothing in the history (the validator does not run on replay), so the text and
 * codes here may change without touching recorded histories.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { isStorableText } from '../domain/text.js';
import { REFUSAL_TYPE, type WorkflowRefusal } from './shared.js';

export function refuse(refusal: WorkflowRefusal): never {
  throw ApplicationFailure.create({
    type: REFUSAL_TYPE,
    message: refusal.message,
    nonRetryable: true,
    details: [refusal],
  });
}

/** A refusal, when the domain check found one (domain/case.ts check* answer null when the action may go ahead). */
export function refuseIf(refusal: WorkflowRefusal | null): void {
  if (refusal) refuse(refusal);
}

/**
 * A required text: present, not blank, and storable (issue 8: text the database cannot store would fail the
 * activity that records it on every retry). `label` names it in the message; `field` is the input at fault.
 */
export function requireText(text: string | null | undefined, label: string, field?: string): void {
  const at = field ? { field } : {};
  if (!text || text.trim() === '')
    refuse({ kind: 'validation', code: 'invalid_request', message: `${label} is required`, ...at });
  if (!isStorableText(text))
    refuse({
      kind: 'validation',
      code: 'invalid_request',
      message: 'Text may not contain NUL (U+0000) or an unpaired UTF-16 surrogate',
      ...at,
    });
}
