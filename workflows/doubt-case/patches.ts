/**
 * The doubt case's patches (Temporal `patched`): behaviour added while cases ran. Each call site asks the
 * function named after the behaviour; histories from before a patch replay as they ran (replay.test.ts).
 * Ids name the behaviour. Two patches were first recorded under their branch's name (w10a-, w10b-):
 * `patchedAs` (../patched-as.ts) keeps those histories replaying while new runs record the new id.
 */
import { patched } from '@temporalio/workflow';
import { patchedAs } from '../patched-as.js';

/** The fix that keeps a decision made while the closed window is recorded. */
export const KEEP_DECISION_MADE_WHILE_WINDOW_CLOSED = 'keep-decision-made-while-window-closed';
/**
 * GT-3/GT-4 "the 72 hours belong to the party": a rejected response no longer closes the case; the party
 * may send other evidence until the 72 hours end.
 */
export const REJECTION_KEEPS_RESPONSE_WINDOW = 'rejection-keeps-response-window';
/**
 * GT-1, issue 10: a manual contact that arrives in the same workflow task as the sent contact mail counts,
 * instead of being answered and dropped.
 */
export const MANUAL_CONTACT_WITH_MAIL = 'manual-contact-with-mail-counts';
/**
 * Issue 10's people around the case (domain/case-notices.ts): the reporter's acknowledgement and outcome,
 * the grid user's block and lift notices.
 */
export const TELL_PEOPLE_AROUND_THE_CASE = 'tell-people-around-the-case';

/**
 * GT-3, issue 18: a manual contact recorded after its stated moment leaves the party 72 hours from the
 * recording (domain/case.ts manualContactResponseDeadline), instead of from the stated moment — a call
 * recorded 73 h late no longer closes the case at once.
 */
export const MANUAL_CONTACT_NEVER_SHORTENS_RESPONSE_WINDOW = 'manual-contact-never-shortens-response-window';

/** The ids the two issue-10 patches were recorded under until issue 17 (test/workflows/histories/w10*.json). */
export const FORMER_PATCH_IDS = {
  [MANUAL_CONTACT_WITH_MAIL]: 'w10a-manual-contact-with-mail',
  [TELL_PEOPLE_AROUND_THE_CASE]: 'w10b-tell-people-around-the-case',
} as const;

export const keepsDecisionMadeWhileWindowClosed = (): boolean => patched(KEEP_DECISION_MADE_WHILE_WINDOW_CLOSED);
export const rejectionKeepsResponseWindow = (): boolean => patched(REJECTION_KEEPS_RESPONSE_WINDOW);
export const manualContactWithMailCounts = (): boolean =>
  patchedAs(MANUAL_CONTACT_WITH_MAIL, FORMER_PATCH_IDS[MANUAL_CONTACT_WITH_MAIL]);
export const tellsPeopleAroundTheCase = (): boolean =>
  patchedAs(TELL_PEOPLE_AROUND_THE_CASE, FORMER_PATCH_IDS[TELL_PEOPLE_AROUND_THE_CASE]);
export const manualContactNeverShortensResponseWindow = (): boolean =>
  patched(MANUAL_CONTACT_NEVER_SHORTENS_RESPONSE_WINDOW);
