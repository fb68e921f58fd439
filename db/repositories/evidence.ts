/**
 * The evidence a party submitted, as the grid operator reads it while judging (GT-3, GT-8), and the legal
 * hold that postpones its destruction. Every opening and every hold change is an audit entry written in the
 * same transaction as the read or the change: no copy leaves the database unrecorded.
 */
import { and, eq, isNotNull, isNull } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import {
  breachAssessments,
  caseResponses,
  doubtCases,
  improvementReviews,
  reviewSignals,
  type DoubtCase,
} from '../schema/index.js';
import { invalidState, notFound } from '../../lib/errors.js';
import type { LegalHoldAuthority } from '../../domain/case.js';
import { evidenceDisposal, type EvidenceDisposal, type EvidenceFacts } from '../../domain/evidence.js';
import { recordAudit } from './audit.js';
import type { Actor } from './actor.js';
import { caseAudit } from './cases.js';

/** The case row, locked for the transaction: a hold and the closing step (destroying the copies) take turns. */
export async function lockCase(tx: DbOrTx, caseId: string): Promise<DoubtCase> {
  const [row] = await tx.select().from(doubtCases).where(eq(doubtCases.id, caseId)).for('update');
  if (!row) throw notFound('case_not_found', `No case ${caseId}`, 'caseId');
  return row;
}

/** GT-8: destroy the case's evidence copies (digest and metadata kept). Callers ask `evidenceDisposal` first. */
async function destroyEvidenceCopies(tx: DbOrTx, caseId: string, at: Date): Promise<number> {
  const rows = await tx
    .update(caseResponses)
    .set({ evidenceContent: null, evidenceDestroyedAt: at })
    .where(
      and(
        eq(caseResponses.caseId, caseId),
        isNotNull(caseResponses.evidenceSha256),
        isNull(caseResponses.evidenceDestroyedAt),
      ),
    )
    .returning({ id: caseResponses.id });
  return rows.length;
}

/** What `evidenceDisposal` (domain/evidence.ts) needs to know about a case, read in the caller's transaction. */
export async function evidenceFacts(tx: DbOrTx, row: DoubtCase): Promise<EvidenceFacts> {
  const [assessment] = await tx
    .select({ decidedAt: breachAssessments.decidedAt })
    .from(breachAssessments)
    .where(eq(breachAssessments.caseId, row.id));
  const citing = await tx
    .select({ id: improvementReviews.id })
    .from(reviewSignals)
    .innerJoin(improvementReviews, eq(improvementReviews.id, reviewSignals.reviewId))
    .where(
      and(eq(reviewSignals.kind, 'case'), eq(reviewSignals.signalId, row.id), isNull(improvementReviews.closedAt)),
    );
  return {
    status: row.status,
    withdrawalReason: row.withdrawalReason ?? null,
    legalHold: row.legalHoldSince !== null,
    breachAssessmentDecided: Boolean(assessment?.decidedAt),
    openReviewsCiting: citing.length,
  };
}

export interface EvidenceDisposalDone {
  disposal: EvidenceDisposal;
  destroyed: number;
}

/**
 * GT-8: destroy the case's evidence copies now if `evidenceDisposal` frees them, auditing the destruction
 * with its reason and actor (metadata and digest stay, DC-1). The case row is locked: a hold, the closing and
 * a procedure's close take turns. `row` is the case as the caller's transaction now has it (after a close or
 * a hold's release); without it the row is locked and read here.
 */
export async function disposeEvidence(
  tx: DbOrTx,
  input: { caseId: string; at: Date; actor: Actor; row?: DoubtCase; holdJustReleased?: boolean },
): Promise<EvidenceDisposalDone> {
  const row = input.row ?? (await lockCase(tx, input.caseId));
  const disposal = evidenceDisposal(await evidenceFacts(tx, row), input.holdJustReleased ?? false);
  if (!disposal.destroy) return { disposal, destroyed: 0 };
  const destroyed = await destroyEvidenceCopies(tx, row.id, input.at);
  if (destroyed > 0)
    await recordAudit(
      tx,
      caseAudit(
        row.id,
        input.actor,
        'case.evidence_destroyed',
        { reason: disposal.reason, copies: destroyed, rule: 'GT-8' },
        input.at,
      ),
    );
  return { disposal, destroyed };
}

/**
 * GT-8 / GT-11 / GT-5: after a procedure that may have kept evidence closed (a breach decision, a review's
 * close), destroy what it freed, for every case it concerned. Returns the copies destroyed.
 */
export async function disposeEvidenceOfCases(
  tx: DbOrTx,
  input: { caseIds: string[]; at: Date; actor: Actor },
): Promise<number> {
  let destroyed = 0;
  for (const caseId of [...new Set(input.caseIds)].sort()) {
    destroyed += (await disposeEvidence(tx, { caseId, at: input.at, actor: input.actor })).destroyed;
  }
  return destroyed;
}

/** GT-5: the cases a review lists among its signals. */
export async function casesCitedByReview(tx: DbOrTx, reviewId: string): Promise<string[]> {
  const rows = await tx
    .select({ id: reviewSignals.signalId })
    .from(reviewSignals)
    .where(and(eq(reviewSignals.reviewId, reviewId), eq(reviewSignals.kind, 'case')));
  return rows.map((r) => r.id);
}

export interface EvidenceCopy {
  responseId: string;
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  content: Buffer;
}

/**
 * One response's evidence copy, its opening recorded (who, when, which digest). Refused with the digest
 * when the copy was destroyed (GT-8) or the response was refused as late (dropped at once).
 */
export async function openEvidence(
  tx: DbOrTx,
  input: Actor & { caseId: string; responseId: string; at: Date },
): Promise<EvidenceCopy> {
  const [r] = await tx
    .select()
    .from(caseResponses)
    .where(and(eq(caseResponses.id, input.responseId), eq(caseResponses.caseId, input.caseId)));
  if (!r) throw notFound('response_not_found', `No response ${input.responseId} in this case`, 'responseId');
  if (!r.evidenceSha256) throw notFound('evidence_not_found', 'This response has no evidence', 'responseId');
  if (!r.evidenceContent) {
    throw invalidState('evidence_destroyed', 'The evidence copy was destroyed (GT-8); its digest and metadata remain', {
      responseId: r.id,
      sha256: r.evidenceSha256,
      destroyedAt: r.evidenceDestroyedAt?.toISOString() ?? null,
    });
  }
  const copy: EvidenceCopy = {
    responseId: r.id,
    filename: r.evidenceFilename ?? 'evidence',
    contentType: r.evidenceContentType ?? 'application/octet-stream',
    size: r.evidenceSize ?? r.evidenceContent.length,
    sha256: r.evidenceSha256,
    content: r.evidenceContent,
  };
  await recordAudit(
    tx,
    caseAudit(
      input.caseId,
      input,
      'case.evidence_opened',
      { responseId: r.id, filename: copy.filename, size: copy.size, sha256: copy.sha256, rule: 'GT-3, GT-8' },
      input.at,
    ),
  );
  return copy;
}

export interface LegalHold {
  since: Date;
  by: string;
  authority: LegalHoldAuthority;
  reason: string;
}

export const legalHoldOf = (row: DoubtCase): LegalHold | null =>
  row.legalHoldSince
    ? {
        since: row.legalHoldSince,
        by: row.legalHoldBy ?? '',
        authority: row.legalHoldAuthority ?? 'acm',
        reason: row.legalHoldReason ?? '',
      }
    : null;

/** Evidence copies still held for the case (not destroyed). */
async function heldCopies(tx: DbOrTx, caseId: string): Promise<number> {
  const rows = await tx
    .select({ id: caseResponses.id })
    .from(caseResponses)
    .where(and(eq(caseResponses.caseId, caseId), isNotNull(caseResponses.evidenceContent)));
  return rows.length;
}

/** Set the legal hold: from now the closing step keeps the copies. A second hold is refused (release first). */
export async function setLegalHold(
  tx: DbOrTx,
  input: Actor & { caseId: string; authority: LegalHoldAuthority; reason: string; at: Date },
): Promise<{ hold: LegalHold; copiesHeld: number }> {
  const row = await lockCase(tx, input.caseId);
  if (row.legalHoldSince)
    throw invalidState('legal_hold_already_set', `Case ${row.reference} is already under a legal hold`, {
      since: row.legalHoldSince.toISOString(),
      authority: row.legalHoldAuthority,
    });
  const [held] = await tx
    .update(doubtCases)
    .set({
      legalHoldSince: input.at,
      legalHoldBy: input.actor,
      legalHoldAuthority: input.authority,
      legalHoldReason: input.reason,
      updatedAt: input.at,
    })
    .where(eq(doubtCases.id, row.id))
    .returning();
  const copiesHeld = await heldCopies(tx, row.id);
  await recordAudit(
    tx,
    caseAudit(
      row.id,
      input,
      'case.legal_hold_set',
      { authority: input.authority, reason: input.reason, copiesHeld, rule: 'GT-8' },
      input.at,
    ),
  );
  return { hold: legalHoldOf(held!)!, copiesHeld };
}

/** Release the legal hold; on a closed case the postponed destruction happens now (GT-8). */
export async function releaseLegalHold(
  tx: DbOrTx,
  input: Actor & { caseId: string; reason: string; at: Date },
): Promise<{ evidenceDestroyed: number }> {
  const row = await lockCase(tx, input.caseId);
  if (!row.legalHoldSince)
    throw invalidState('no_legal_hold', `Case ${row.reference} is not under a legal hold`, { caseId: row.id });
  const [released] = await tx
    .update(doubtCases)
    .set({
      legalHoldSince: null,
      legalHoldBy: null,
      legalHoldAuthority: null,
      legalHoldReason: null,
      updatedAt: input.at,
    })
    .where(eq(doubtCases.id, row.id))
    .returning();
  // GT-8: on a closed case the postponed destruction happens now, unless a procedure still needs the copy.
  const { destroyed: evidenceDestroyed } = await disposeEvidence(tx, {
    caseId: row.id,
    at: input.at,
    actor: input,
    row: released!,
    holdJustReleased: true,
  });
  await recordAudit(
    tx,
    caseAudit(
      row.id,
      input,
      'case.legal_hold_released',
      {
        authority: row.legalHoldAuthority,
        heldSince: row.legalHoldSince.toISOString(),
        reason: input.reason,
        evidenceDestroyed,
        rule: 'GT-8',
      },
      input.at,
    ),
  );
  return { evidenceDestroyed };
}
