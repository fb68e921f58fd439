/**
 * GT-6: a case report to the ACM — the mail, the acm_notifications row, the audit entry and
 * acm_notified_at — recorded once per dedupe key. One operation for both processes: the case workflow
 * sends it through its activity while the case runs (activities/notifications.ts notifyAcm), the case
 * service sends it itself once the workflow's run has completed (services/cases/actions.ts notifyAcm).
 */
import { and, count, eq, like } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import type { Actor } from '../../db/repositories/actor.js';
import { recordAudit } from '../../db/repositories/audit.js';
import { caseAuditTrail, getCaseWithParties } from '../../db/repositories/cases.js';
import { acmNotifications, doubtCases } from '../../db/schema/index.js';
import type { Config } from '../../lib/config.js';
import type { Mailer } from '../../notifications/mailer.js';
import { acmCaseReportMail } from '../../notifications/templates.js';
import { caseMailData, messageId } from './mail.js';

export interface AcmReportDeps {
  db: Db;
  mailer: Mailer;
  config: Pick<Config, 'publicUrl' | 'acmReportEmail'>;
}

export interface CaseAcmReportInput {
  caseId: string;
  /** The moment recorded as sent (the workflow's clock when it sends). */
  at: string;
  message: string;
  actor: Actor;
  /** Once per key: a repeat answers with the notification recorded first. */
  dedupeKey: string;
}

export interface CaseAcmReportResult {
  notificationId: string;
  sentAt: string;
}

/** Mail first, then record (a transaction holds database work only); a lost race keeps the first row. */
export async function reportCaseToAcm(
  { db, mailer, config }: AcmReportDeps,
  input: CaseAcmReportInput,
): Promise<CaseAcmReportResult> {
  const [done] = await db.select().from(acmNotifications).where(eq(acmNotifications.dedupeKey, input.dedupeKey));
  if (done) return { notificationId: done.id, sentAt: done.sentAt.toISOString() };
  const c = await getCaseWithParties(db, input.caseId);
  const trail = await caseAuditTrail(db, c.row.id);
  const timeline: [string, string][] = trail.map((e) => [e.at.toISOString(), e.action]);
  const content = acmCaseReportMail(caseMailData(c, config.publicUrl), {
    message: input.message,
    status: c.row.status,
    timeline,
  });
  const sent = await mailer.send({
    to: [config.acmReportEmail],
    ...content,
    messageId: messageId(mailer, input.dedupeKey),
    headers: { 'X-Case-Reference': c.row.reference, 'X-Case-Id': c.row.id },
  });
  const at = new Date(input.at);
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(acmNotifications)
      .values({
        caseId: c.row.id,
        sentAt: at,
        sentBy: input.actor.actor,
        report: { reference: c.row.reference, message: input.message, status: c.row.status, timeline },
        messageId: sent.messageId,
        dedupeKey: input.dedupeKey,
      })
      .onConflictDoNothing({ target: acmNotifications.dedupeKey })
      .returning();
    const notification =
      row ?? (await tx.select().from(acmNotifications).where(eq(acmNotifications.dedupeKey, input.dedupeKey)))[0];
    if (!notification) throw new Error('ACM notification neither inserted nor found');
    if (row) {
      await tx.update(doubtCases).set({ acmNotifiedAt: at, updatedAt: at }).where(eq(doubtCases.id, c.row.id));
      await recordAudit(tx, {
        ...input.actor,
        actorRole: input.actor.actorRole ?? null,
        actorPartyId: input.actor.actorPartyId ?? null,
        action: 'case.acm_notified',
        entityType: 'case',
        entityId: c.row.id,
        data: { notificationId: row.id, messageId: sent.messageId, rule: 'GT-6' },
        at,
      });
    }
    return { notificationId: notification.id, sentAt: notification.sentAt.toISOString() };
  });
}

/**
 * The key of the next report sent without the workflow: `case:<id>:acm:direct:<n>`, never one of the
 * workflow's keys. Concurrent repeats compute the same key: one mail (same Message-ID), one row.
 */
export async function nextDirectAcmReportKey(db: Db, caseId: string): Promise<string> {
  const prefix = `case:${caseId}:acm:direct:`;
  const [sent] = await db
    .select({ n: count() })
    .from(acmNotifications)
    .where(and(eq(acmNotifications.caseId, caseId), like(acmNotifications.dedupeKey, `${prefix}%`)));
  return `${prefix}${(sent?.n ?? 0) + 1}`;
}
