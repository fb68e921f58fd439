/**
 * GT-3: the handler's requests for more or other evidence, each with the mail that states it. Idempotent on the
 * request id (the workflow's step is retried); the mail's attempts and last error show while it fails.
 */
import { and, eq, isNull } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { evidenceRequests, type EvidenceRequest } from '../schema/index.js';

export type { EvidenceRequest };

/** Record the request once; false when an earlier attempt recorded it. */
export async function insertEvidenceRequest(
  db: DbOrTx,
  input: { id: string; caseId: string; message: string; requestedAt: Date; requestedBy: string; responseDueAt: Date },
): Promise<boolean> {
  const [row] = await db
    .insert(evidenceRequests)
    .values(input)
    .onConflictDoNothing({ target: evidenceRequests.id })
    .returning({ id: evidenceRequests.id });
  return row !== undefined;
}

export async function getEvidenceRequest(db: DbOrTx, id: string): Promise<EvidenceRequest | undefined> {
  const [row] = await db.select().from(evidenceRequests).where(eq(evidenceRequests.id, id));
  return row;
}

export interface MailAttempt {
  attempts: number;
  lastAttemptAt: Date;
}

/** SMTP accepted the request's mail: recorded once; false when an earlier attempt recorded it. */
export async function markEvidenceRequestMailed(
  db: DbOrTx,
  id: string,
  mailed: MailAttempt & { mailedAt: Date; messageId: string; recipients: string[] },
): Promise<boolean> {
  const [row] = await db
    .update(evidenceRequests)
    .set(mailed)
    .where(and(eq(evidenceRequests.id, id), isNull(evidenceRequests.mailedAt)))
    .returning({ id: evidenceRequests.id });
  return row !== undefined;
}

/** A failed attempt of the request's mail, while it is not mailed. */
export async function recordEvidenceRequestAttempt(
  db: DbOrTx,
  id: string,
  failed: MailAttempt & { lastError: string },
): Promise<void> {
  await db
    .update(evidenceRequests)
    .set(failed)
    .where(and(eq(evidenceRequests.id, id), isNull(evidenceRequests.mailedAt)));
}
