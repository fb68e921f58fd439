/**
 * Compliance archive: the complete Temporal history of a closed case, kept beyond the namespace's retention.
 * One row per case; archiving again replaces it.
 */
import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { caseHistoryArchives } from '../schema/index.js';

export async function saveCaseHistoryArchive(
  db: DbOrTx,
  input: { caseId: string; eventCount: number; history: Record<string, unknown> },
): Promise<void> {
  const { eventCount, history } = input;
  await db
    .insert(caseHistoryArchives)
    .values(input)
    .onConflictDoUpdate({ target: caseHistoryArchives.caseId, set: { eventCount, history, archivedAt: sql`now()` } });
}
