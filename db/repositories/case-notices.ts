/**
 * What the people around a case were told (domain/case-notices.ts), as the case's audit entries: one
 * 'case.notice_sent' or 'case.notice_not_sent' per notice (a retried send finds it and sends nothing more),
 * and 'case.notice_failed' when its bounded retries were spent.
 */
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { auditLog, type AuditEntry } from '../schema/index.js';
import type { CaseNotice, NoticeAction } from '../../domain/case-notices.js';
import { recordAudit } from './audit.js';
import type { Actor } from './actor.js';
import { caseAudit } from './cases.js';

/** The entries recorded for one notice of a case, oldest first (of the given actions). */
export async function noticeEntries(
  db: DbOrTx,
  caseId: string,
  notice: CaseNotice,
  actions: readonly NoticeAction[],
): Promise<AuditEntry[]> {
  return db
    .select()
    .from(auditLog)
    .where(
      and(
        eq(auditLog.entityType, 'case'),
        eq(auditLog.entityId, caseId),
        inArray(auditLog.action, [...actions]),
        sql`${auditLog.data}->>'notice' = ${notice}`,
      ),
    )
    .orderBy(asc(auditLog.at), asc(auditLog.id));
}

/** Record what happened to a notice, once per (notice, action). Returns whether this call recorded it. */
export async function recordNoticeOnce(
  db: DbOrTx,
  input: Actor & { caseId: string; notice: CaseNotice; action: NoticeAction; at: Date; data: Record<string, unknown> },
): Promise<boolean> {
  if ((await noticeEntries(db, input.caseId, input.notice, [input.action])).length > 0) return false;
  await recordAudit(
    db,
    caseAudit(input.caseId, input, input.action, { notice: input.notice, ...input.data }, input.at),
  );
  return true;
}
