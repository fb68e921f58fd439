/**
 * GT-11 steps of the breach-assessment workflow: open (prefilled from the access register), remind the
 * privacy officer, mark the art. 33 clock missed, record the decision. Input and result shapes are the
 * activities' payloads, recorded in every assessment's history: keep them.
 */
import type { Actor } from '../../db/repositories/actor.js';
import {
  markBreachClockMissed as markClockMissed,
  openBreachAssessment as openAssessment,
  recordBreachDecision as recordDecision,
  recordBreachReminder,
  requireBreachAssessment,
} from '../../db/repositories/breach.js';
import { requireCase } from '../../db/repositories/cases.js';
import { listContacts } from '../../db/repositories/contacts.js';
import { breachDueAt } from '../../domain/breach.js';
import type { BreachDecisionInput, BreachSnapshot, BreachWorkflowInput } from '../../workflows/breach-shared.js';
import { doubtGroup, messageId } from '../cases/mail.js';
import type { StepDeps } from '../step-deps.js';
import { breachReminderMail, breachTextData } from './assessments.js';

/** The grid operator's contact group for its privacy officer (functionaris gegevensbescherming). */
export const PRIVACY_CONTACT_GROUP = 'privacy-officer';

const breachActor = (caseId: string): Actor => ({
  actor: `workflow:breach-assessment:${caseId}`,
  actorRole: 'system',
  actorPartyId: null,
});

/** Open the case's assessment (or find it open), its clock from the close or the given awareness time. */
export async function openBreachAssessment(
  { db }: Pick<StepDeps, 'db'>,
  input: BreachWorkflowInput,
): Promise<BreachSnapshot> {
  const row = await requireCase(db, input.caseId);
  const awareAt = input.awareAt ? new Date(input.awareAt) : row.closedAt;
  if (!awareAt) throw new Error(`case ${row.id} is not closed and no awareness time was given`);
  const { assessment: a } = await openAssessment(db, {
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
}

/** Reminder n to the privacy officer group (else, with a warning, the case handlers). */
export async function sendBreachReminder(
  { db, mailer, config, log }: Pick<StepDeps, 'db' | 'mailer' | 'config' | 'log'>,
  input: { id: string; n: number },
): Promise<{ messageId: string | null }> {
  const a = await requireBreachAssessment(db, input.id);
  let to = (await listContacts(db, a.gridOperatorId, { group: PRIVACY_CONTACT_GROUP })).map((c) => c.email);
  if (to.length === 0) {
    log.warn('grid operator has no privacy-officer contacts; reminding its doubt contact group', { id: a.id });
    to = await doubtGroup(db, a.gridOperatorId);
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
}

/** The art. 33 clock ran out before a decision. */
export async function markBreachClockMissed(
  { db }: Pick<StepDeps, 'db'>,
  input: { id: string; at: string },
): Promise<void> {
  const a = await requireBreachAssessment(db, input.id);
  await markClockMissed(db, { id: a.id, at: new Date(input.at), actor: breachActor(a.caseId) });
}

/** The privacy officer's decision, with whether the clock was met (the workflow's word). */
export async function recordBreachDecision(
  { db }: Pick<StepDeps, 'db'>,
  input: BreachDecisionInput & { id: string; at: string; clock: 'met' | 'missed' },
): Promise<{ clock: 'met' | 'missed' }> {
  const { actor, actorRole, actorPartyId, actorName, signedWith, id, at, clock, ...decision } = input;
  const row = await recordDecision(db, {
    ...decision,
    id,
    at: new Date(at),
    clock,
    actor: { actor, actorRole, actorPartyId },
    actorName,
    ...(signedWith ? { signedWith } : {}),
  });
  return { clock: row.clock === 'missed' ? 'missed' : 'met' };
}
