/**
 * The contact mail while it fails (GT-1, GT-10): no hidden retries. Every attempt of sendContactEmail is
 * counted on the case with its last error; a party without anyone in its doubt contact group alerts the
 * grid operator's handlers at once (once per case) and shows on the case. The wrapped activity keeps its
 * name, input and result, so recorded histories are unaffected.
 */
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { eq, sql } from 'drizzle-orm';
import { recordAuditOnce } from '../db/repositories/audit.js';
import { caseAudit, getCaseWithParties } from '../db/repositories/cases.js';
import { doubtContacts } from '../db/repositories/contacts.js';
import { doubtCases } from '../db/schema/index.js';
import { contactGroupEmptyMail } from '../notifications/templates.js';
import { caseMailData, messageId } from '../services/cases/mail.js';
import type { ActivityDeps } from './deps.js';
import { workflowActor } from './cases.js';

/** The failure type sendContactEmail raises when the party's doubt contact group is empty. */
export const NO_DOUBT_CONTACTS = 'NoDoubtContacts';

type ContactInput = { caseId: string; contactDueAt: string };

export function withContactAttempts<R>(
  { db, mailer, config }: ActivityDeps,
  send: (input: ContactInput) => Promise<R>,
): (input: ContactInput) => Promise<R> {
  async function groupEmpty(input: ContactInput, at: Date): Promise<void> {
    const first = await db.transaction(async (tx) => {
      await tx
        .update(doubtCases)
        .set({
          contactGroupEmptyAt: sql`coalesce(${doubtCases.contactGroupEmptyAt}, ${at.toISOString()}::timestamptz)`,
        })
        .where(eq(doubtCases.id, input.caseId));
      return recordAuditOnce(
        tx,
        caseAudit(
          input.caseId,
          workflowActor(input.caseId),
          'case.contact_group_empty',
          { contactDueAt: input.contactDueAt, rule: 'GT-1, GT-10' },
          at,
        ),
      );
    });
    if (!first) return;
    const c = await getCaseWithParties(db, input.caseId);
    const to = (await doubtContacts(db, c.gridOperator.id)).map((p) => p.email);
    if (to.length === 0) {
      log.error('party and grid operator both without doubt contact group members', { caseId: input.caseId });
      return;
    }
    await mailer.send({
      to,
      ...contactGroupEmptyMail(caseMailData(c, config.publicUrl), { contactDueAt: new Date(input.contactDueAt) }),
      messageId: messageId(mailer, `case-${c.row.id}-contact-group-empty`),
      headers: { 'X-Case-Reference': c.row.reference, 'X-Case-Id': c.row.id },
    });
  }

  return async (input) => {
    const attempt = Context.current().info.attempt;
    const at = new Date();
    try {
      const result = await send(input);
      await db
        .update(doubtCases)
        .set({ contactAttempts: attempt, contactLastAttemptAt: at })
        .where(eq(doubtCases.id, input.caseId))
        .catch((err: unknown) => log.warn('contact attempt not recorded', { caseId: input.caseId, err: String(err) }));
      return result;
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      try {
        await db
          .update(doubtCases)
          .set({ contactAttempts: attempt, contactLastAttemptAt: at, contactLastError: error })
          .where(eq(doubtCases.id, input.caseId));
        if (err instanceof ApplicationFailure && err.type === NO_DOUBT_CONTACTS) await groupEmpty(input, at);
      } catch (recordErr) {
        // The send's own failure is what Temporal retries on; recording it is best effort.
        log.warn('contact attempt failure not recorded', { caseId: input.caseId, err: String(recordErr) });
      }
      throw err;
    }
  };
}
