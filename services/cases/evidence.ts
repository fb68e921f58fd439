/**
 * The mandate evidence a party uploads with its response (GT-3): PDF, PNG or JPEG, checked against its
 * content, kept with its SHA-256 (the digest outlives the content, GT-8).
 */
import { createHash } from 'node:crypto';
import { DomainError, validationError } from '../../lib/errors.js';
import type { Db } from '../../db/client.js';
import type { Actor } from '../../db/repositories/actor.js';
import {
  openEvidence,
  releaseLegalHold,
  setLegalHold,
  type EvidenceCopy,
  type LegalHold,
} from '../../db/repositories/evidence.js';
import type { LegalHoldAuthority } from '../../domain/case.js';
import { idempotentTransaction } from '../idempotency/action.js';

export const EVIDENCE_TYPES = ['application/pdf', 'image/png', 'image/jpeg'] as const;
export type EvidenceType = (typeof EVIDENCE_TYPES)[number];

/** The type the content really has, from its signature (magic bytes). */
export function sniffEvidenceType(content: Buffer): EvidenceType | null {
  if (content.subarray(0, 5).toString('latin1') === '%PDF-') return 'application/pdf';
  if (content.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (content.length >= 3 && content[0] === 0xff && content[1] === 0xd8 && content[2] === 0xff) return 'image/jpeg';
  return null;
}

export interface EvidenceUpload {
  filename: string;
  contentType: string;
  /** base64 */
  content: string;
}

export function checkEvidence(
  e: EvidenceUpload,
  maxBytes: number,
): { filename: string; contentType: EvidenceType; content: Buffer; sha256: string } {
  if (!(EVIDENCE_TYPES as readonly string[]).includes(e.contentType)) {
    throw validationError(
      'evidence_type_not_allowed',
      `Evidence must be one of ${EVIDENCE_TYPES.join(', ')}`,
      'evidence.contentType',
    );
  }
  const b64 = e.content.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    throw validationError('evidence_not_base64', 'evidence.content must be base64', 'evidence.content');
  }
  const content = Buffer.from(b64, 'base64');
  if (content.length === 0) throw validationError('evidence_empty', 'The evidence file is empty', 'evidence.content');
  if (content.length > maxBytes) {
    throw new DomainError(
      'validation',
      'evidence_too_large',
      `The evidence file is ${content.length} bytes; at most ${maxBytes} are accepted`,
      'evidence.content',
      { maxBytes, size: content.length },
    );
  }
  const sniffed = sniffEvidenceType(content);
  if (sniffed !== e.contentType) {
    throw validationError(
      'evidence_type_mismatch',
      `The content is ${sniffed ?? 'no PDF, PNG or JPEG'}, not ${e.contentType}`,
      'evidence.content',
    );
  }
  const filename = e.filename.replace(/[/\\]/g, '_').slice(0, 200);
  return { filename, contentType: sniffed, content, sha256: createHash('sha256').update(content).digest('hex') };
}

// ---------------------------------------------------------------- the grid operator reads it (GT-3, GT-8)

/**
 * The handler opens a response's evidence to judge it: the copy with its filename, type, size and SHA-256,
 * the opening recorded in the same transaction. A copy that no longer matches its digest is not handed out.
 */
export async function openResponseEvidence(
  db: Db,
  input: Actor & { caseId: string; responseId: string },
): Promise<EvidenceCopy> {
  return db.transaction(async (tx) => {
    const copy = await openEvidence(tx, { ...input, at: new Date() });
    if (createHash('sha256').update(copy.content).digest('hex') !== copy.sha256)
      throw new Error(`evidence of response ${copy.responseId}: stored copy does not match its SHA-256`);
    return copy;
  });
}

/**
 * Legal hold (the case went to the ACM, the AP or the disputes committee): the copies outlive the decision.
 * One transaction with the Idempotency-Key's first outcome (issue 20), as the release.
 */
export async function placeLegalHold(
  db: Db,
  input: Actor & { caseId: string; authority: LegalHoldAuthority; reason: string },
): Promise<{ hold: LegalHold; copiesHeld: number }> {
  if (input.reason.trim() === '') throw validationError('reason_required', 'A legal hold needs a reason', 'reason');
  return idempotentTransaction(db, (tx) => setLegalHold(tx, { ...input, at: new Date() }));
}

/** Release the hold; a closed case's copies are destroyed at once (GT-8), digests kept. */
export async function liftLegalHold(
  db: Db,
  input: Actor & { caseId: string; reason: string },
): Promise<{ evidenceDestroyed: number }> {
  if (input.reason.trim() === '') throw validationError('reason_required', 'A release needs a reason', 'reason');
  return idempotentTransaction(db, (tx) => releaseLegalHold(tx, { ...input, at: new Date() }));
}
