/**
 * The mandate evidence a party uploads with its response (GT-3): PDF, PNG or JPEG, checked against its
 * content, kept with its SHA-256 (the digest outlives the content, GT-8).
 */
import { createHash } from 'node:crypto';
import { DomainError, validationError } from '../lib/errors.js';

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
