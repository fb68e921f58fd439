/**
 * GT-5: the names of the agreement rules a deployment chooses between (REPEAT_OFFENDER_AGREEMENT_RULE).
 * Only the names live here, so that configuration (lib/config.ts) can refuse an unknown one at start
 * without importing domain/ (lib/ sits below it); what each rule means is domain/review.ts `agreement`,
 * which re-exports these and handles every name (the compiler holds the two to the same list).
 */
export const AGREEMENT_RULES = ['majority', 'unanimous'] as const;
export type AgreementRule = (typeof AGREEMENT_RULES)[number];
