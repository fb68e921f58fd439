/**
 * GT-11 activities of the breach-assessment workflow: open (prefilled from the access register), remind
 * the privacy officer, mark the art. 33 clock missed, record the decision.
 */
import { log } from '@temporalio/activity';
import {
  markBreachClockMissed,
  openBreachAssessment,
  recordBreachDecision,
  recordBreachReminder,
  requireBreachAssessment,
} from '../db/repositories/breach.js';
import { requireCase } from '../db/repositories/cases.js';
import { doubtContacts, listContacts } from '../db/repositories/contacts.js';
import type { Actor } from '../db/repositories/actor.js';
import { breachDueAt } from '../domain/breach.js';
import { breachReminderMail, breachTextData } from '../services/breach/assessments.js';
import { messageId } from '../services/cases/mail.js';
import type { BreachDecisionInput, BreachSnapshot, BreachWorkflowInput } from '../workflows/breach-shared.js';
import type { ActivityDeps } from './deps.js';

/** The grid operator's contact group for its privacy officer (functionaris gegevensbescherming). */
export const PRIVACY_CONTACT_GROUP = 'privacy-officer';

const breachActor = (caseId: string): Actor => ({
  actor: `workflow:breach-assessment:${caseId}`,
  actorRole: 'system',
  actorPartyId: null,
});

export function breachActivities({ db, mailer, config }: ActivityDeps) {
  return {
    async openBreachAssessment(input: BreachWorkflowInput): Promise<BreachSnapshot> {
      const row = await requireCase(db, input.caseId);
      const awareAt = input.awareAt ? new Date(input.awareAt) : row.closedAt;
      if (!awareAt) throw new Error(`case ${row.id} is not closed and no awareness time was given`);
      const { assessment: a } = await openBreachAssessment(db, {
        caseId: row.id,
        trigger: input.trigger,
        awareAt,
        actor: breachActor(row.id),
      });
      return {
        assessmentId: a.id,
        dueAt: (a.dueAt ?? breachDueAt(a.awareAt)).toISOString(),
        clock: a.clock,
        remindersSent: a.remindersSent,
        decided: a.decidedAt !== null,
      };
    },

    /** Reminder n to the privacy officer group (else, with a warning, the case handlers). */
    async sendBreachReminder(input: { id: string; n: number }): Promise<{ messageId: string | null }> {
      const a = await requireBreachAssessment(db, input.id);
      let to = (await listContacts(db, a.gridOperatorId, { group: PRIVACY_CONTACT_GROUP })).map((c) => c.email);
      if (to.length === 0) {
        log.warn('grid operator has no privacy-officer contacts; reminding its doubt contact group', { id: a.id });
        to = (await doubtContacts(db, a.gridOperatorId)).map((c) => c.email);
      }
      let sent: string | null = null;
      if (to.length > 0) {
        const hoursLeft = Math.max(0, Math.round((a.dueAt.getTime() - Date.now()) / 3_600_000));
        const content = breachReminderMail(await breachTextData(db, a, config.publicUrl), { hoursLeft });
        const id = messageId(mailer, `breach-${a.id}-reminder-${input.n}`);
        sent = (await mailer.send({ to, ...content, messageId: id })).messageId;
      } else {
        log.warn('grid operator has no contacts at all; breach reminder not mailed', { id: a.id });
      }
      await recordBreachReminder(db, {
        id: a.id,
        n: input.n,
        at: new Date(),
        messageId: sent,
        actor: breachActor(a.caseId),
      });
      return { messageId: sent };
    },

    async markBreachClockMissed(input: { id: string; at: string }): Promise<void> {
      const a = await requireBreachAssessment(db, input.id);
      await markBreachClockMissed(db, { id: a.id, at: new Date(input.at), actor: breachActor(a.caseId) });
    },

    async recordBreachDecision(
      input: BreachDecisionInput & { id: string; at: string; clock: 'met' | 'missed' },
    ): Promise<{ clock: 'met' | 'missed' }> {
      const { actor, actorRole, actorPartyId, actorName, id, at, clock, ...decision } = input;
      const row = await recordBreachDecision(db, {
        ...decision,
        id,
        at: new Date(at),
        clock,
        actor: { actor, actorRole, actorPartyId },
        actorName,
      });
      return { clock: row.clock === 'missed' ? 'missed' : 'met' };
    },
  };
}
