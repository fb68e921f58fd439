/**
 * GT-8 read as data minimisation: when the copy of a party's mandate evidence may be destroyed, and if not,
 * what it waits for. One home for the rule; the closing step, the GT-11 decision, a GT-5 review's close and a
 * legal hold's release all ask it and destroy what it frees (db/repositories/evidence.ts `disposeEvidence`).
 */
import { isClosedStatus, type CaseStatus, type WithdrawalReason } from './case.js';

/** Why a copy was destroyed, as its audit entry states it. */
export type EvidenceDestructionReason =
  | 'acceptance' // GT-8: consent demonstrated
  | 'not_at_fault' // GT-7: a wrongful block, or a withdrawal because the signal did not concern the party
  | 'withdrawn' // the signal was withdrawn otherwise: no finding against the party, no procedure follows
  | 'procedures_closed' // "not demonstrated": the GT-11 assessment and every GT-5 review citing the case closed
  | 'hold_released'; // the manual legal hold was the last thing keeping it

/** What a copy is kept for. */
export type EvidenceWait =
  | 'case_decision' // the case is open: the handler judges the evidence
  | 'legal_hold' // the ACM, the AP or the disputes committee (manual hold, released by a handler)
  | 'breach_assessment' // GT-11: the privacy officer's assessment, opened at a "not demonstrated" close
  | 'improvement_review'; // GT-5: an open review lists this case among its signals

export interface EvidenceFacts {
  status: CaseStatus;
  withdrawalReason: WithdrawalReason | null;
  legalHold: boolean;
  /** GT-11: the privacy officer decided the case's assessment (not yet opened counts as undecided: a
   * "not demonstrated" close always opens one, just after its commit). */
  breachAssessmentDecided: boolean;
  /** GT-5: open reviews whose signals include this case. */
  openReviewsCiting: number;
}

export type EvidenceDisposal =
  { destroy: true; reason: EvidenceDestructionReason } | { destroy: false; waitsFor: EvidenceWait[] };

/** Why a closed case's copy goes, once nothing keeps it; null for "not demonstrated" (procedures decide). */
function outcomeReason(f: Pick<EvidenceFacts, 'status' | 'withdrawalReason'>): EvidenceDestructionReason | null {
  switch (f.status) {
    case 'closed_mandate_accepted':
      return 'acceptance';
    case 'closed_wrongful_block':
      return 'not_at_fault';
    case 'closed_withdrawn':
      return f.withdrawalReason === 'not_concerning_party' ? 'not_at_fault' : 'withdrawn';
    default:
      return null;
  }
}

/**
 * GT-8: may the case's evidence be destroyed now? After an acceptance, a wrongful block or a withdrawal, yes
 * (nothing follows them that needs it); after "not demonstrated" only once the GT-11 assessment is decided and
 * no open GT-5 review cites the case. A manual legal hold keeps it in every case. `holdJustReleased` names the
 * release as the reason when the hold was the last thing keeping the copy.
 */
export function evidenceDisposal(f: EvidenceFacts, holdJustReleased = false): EvidenceDisposal {
  if (!isClosedStatus(f.status)) return { destroy: false, waitsFor: ['case_decision'] };
  const waitsFor: EvidenceWait[] = [];
  if (f.legalHold) waitsFor.push('legal_hold');
  const reason = outcomeReason(f);
  if (reason === null) {
    if (!f.breachAssessmentDecided) waitsFor.push('breach_assessment');
    if (f.openReviewsCiting > 0) waitsFor.push('improvement_review');
  }
  if (waitsFor.length > 0) return { destroy: false, waitsFor };
  if (holdJustReleased) return { destroy: true, reason: 'hold_released' };
  return { destroy: true, reason: reason ?? 'procedures_closed' };
}
