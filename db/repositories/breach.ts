/**
 * GT-11 breach assessments: opened once per case (prefilled from the access register), reminders, the
 * art. 33 clock's end, and the privacy officer's decision. Each change is audited on the case
 * ('breach.*' actions), so the case history shows the assessment and its clock.
 */
import { disposeEvidence } from './evidence.js';
import { and, desc, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { accessRegister, breachAssessments, type BreachAssessment, type BreachPrefill } from '../schema/index.js';
import {
  breachDueAt,
  mergeDeliveredPeriods,
  type BreachClock,
  type BreachDecision,
  type BreachTrigger,
} from '../../domain/breach.js';
import type { SignedWith } from '../../domain/visibility.js';
import { conflict, notFound } from '../../lib/errors.js';
import { recordAudit } from './audit.js';
import { auditActor, type Actor } from './actor.js';
import { requireCase } from './cases.js';

/**
 * What this party received for this connection (DC-1 register, kind 'delivery', allowed): how many
 * deliveries, since when, which data kinds and periods. Reads the register by its connection index;
 * never on the P4 hot path.
 */
export async function breachPrefill(db: DbOrTx, partyId: string, connectionEan: string): Promise<BreachPrefill> {
  const rows = await db
    .select({
      dataKind: accessRegister.dataKind,
      from: accessRegister.periodFrom,
      to: accessRegister.periodTo,
      deliveries: sql<number>`count(*)::int`,
      first: sql<string>`min(${accessRegister.decidedAt})`,
      last: sql<string>`max(${accessRegister.decidedAt})`,
    })
    .from(accessRegister)
    .where(
      and(
        eq(accessRegister.connectionEan, connectionEan),
        eq(accessRegister.partyId, partyId),
        eq(accessRegister.kind, 'delivery'),
        eq(accessRegister.allowed, true),
      ),
    )
    .groupBy(accessRegister.dataKind, accessRegister.periodFrom, accessRegister.periodTo);
  const instants = (k: 'first' | 'last') => rows.map((r) => new Date(r[k]).getTime());
  const periods = mergeDeliveredPeriods(rows.map((r) => ({ ...r, deliveries: Number(r.deliveries) })));
  return {
    deliveries: rows.reduce((n, r) => n + Number(r.deliveries), 0),
    firstDeliveredAt: rows.length ? new Date(Math.min(...instants('first'))).toISOString() : null,
    lastDeliveredAt: rows.length ? new Date(Math.max(...instants('last'))).toISOString() : null,
    dataKinds: [...new Set(periods.map((p) => p.dataKind))],
    periods: periods.map((p) => ({
      dataKind: p.dataKind,
      from: p.from.toISOString(),
      to: p.to.toISOString(),
      deliveries: p.deliveries,
    })),
  };
}

const caseEntry = (caseId: string, actor: Actor, action: string, data: Record<string, unknown>, at?: Date) => ({
  ...auditActor(actor),
  action,
  entityType: 'case',
  entityId: caseId,
  data,
  ...(at ? { at } : {}),
});

/**
 * Open the case's assessment, or return the one it has (the close and a handler's request open the same
 * one; the first sets the clock). The clock starts at `awareAt`.
 */
export async function openBreachAssessment(
  db: DbOrTx,
  input: { caseId: string; trigger: BreachTrigger; awareAt: Date; actor: Actor },
): Promise<{ assessment: BreachAssessment; created: boolean }> {
  return db.transaction(async (tx) => {
    const row = await requireCase(tx, input.caseId);
    const prefill = await breachPrefill(tx, row.partyId, row.connectionEan);
    const [inserted] = await tx
      .insert(breachAssessments)
      .values({
        caseId: row.id,
        gridOperatorId: row.gridOperatorId,
        partyId: row.partyId,
        connectionEan: row.connectionEan,
        trigger: input.trigger,
        awareAt: input.awareAt,
        dueAt: breachDueAt(input.awareAt),
        prefill,
      })
      .onConflictDoNothing({ target: breachAssessments.caseId })
      .returning();
    if (!inserted) {
      const [existing] = await tx.select().from(breachAssessments).where(eq(breachAssessments.caseId, row.id));
      return { assessment: existing!, created: false };
    }
    await recordAudit(
      tx,
      caseEntry(
        row.id,
        input.actor,
        'breach.opened',
        {
          assessmentId: inserted.id,
          trigger: input.trigger,
          awareAt: inserted.awareAt.toISOString(),
          dueAt: inserted.dueAt.toISOString(),
          deliveries: prefill.deliveries,
        },
        input.awareAt,
      ),
    );
    return { assessment: inserted, created: true };
  });
}

export async function getBreachAssessment(db: DbOrTx, id: string): Promise<BreachAssessment | undefined> {
  const [row] = await db.select().from(breachAssessments).where(eq(breachAssessments.id, id));
  return row;
}

export async function requireBreachAssessment(db: DbOrTx, id: string, field = 'id'): Promise<BreachAssessment> {
  const row = await getBreachAssessment(db, id);
  if (!row) throw notFound('breach_assessment_not_found', `No breach assessment ${id}`, field);
  return row;
}

export async function breachAssessmentOfCase(db: DbOrTx, caseId: string): Promise<BreachAssessment | undefined> {
  const [row] = await db.select().from(breachAssessments).where(eq(breachAssessments.caseId, caseId));
  return row;
}

export async function listBreachAssessments(
  db: DbOrTx,
  filter: { gridOperatorId?: string; clock?: BreachClock; limit: number; offset: number },
): Promise<{ items: BreachAssessment[]; total: number }> {
  const conds = [
    filter.gridOperatorId ? eq(breachAssessments.gridOperatorId, filter.gridOperatorId) : undefined,
    filter.clock ? eq(breachAssessments.clock, filter.clock) : undefined,
  ].filter((c) => c !== undefined);
  const where = conds.length ? and(...conds) : undefined;
  const [{ n }] = (await db
    .select({ n: sql<number>`count(*)::int` })
    .from(breachAssessments)
    .where(where)) as [{ n: number }];
  const items = await db
    .select()
    .from(breachAssessments)
    .where(where)
    .orderBy(desc(breachAssessments.awareAt), desc(breachAssessments.id))
    .limit(filter.limit)
    .offset(filter.offset);
  return { items, total: Number(n) };
}

/** A reminder went out (the n-th); recorded once per n. */
export async function recordBreachReminder(
  db: DbOrTx,
  input: { id: string; n: number; at: Date; messageId: string | null; actor: Actor },
): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .update(breachAssessments)
      .set({ remindersSent: input.n })
      .where(and(eq(breachAssessments.id, input.id), sql`${breachAssessments.remindersSent} < ${input.n}`))
      .returning();
    if (row)
      await recordAudit(
        tx,
        caseEntry(
          row.caseId,
          input.actor,
          'breach.reminder_sent',
          { assessmentId: row.id, n: input.n, dueAt: row.dueAt.toISOString(), messageId: input.messageId },
          input.at,
        ),
      );
  });
}

/** The 72 hours passed without a decision: the clock is missed (once). */
export async function markBreachClockMissed(
  db: DbOrTx,
  input: { id: string; at: Date; actor: Actor },
): Promise<BreachAssessment> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(breachAssessments)
      .set({ clock: 'missed' })
      .where(and(eq(breachAssessments.id, input.id), eq(breachAssessments.clock, 'running')))
      .returning();
    if (!row) return requireBreachAssessment(tx, input.id);
    await recordAudit(
      tx,
      caseEntry(
        row.caseId,
        input.actor,
        'breach.clock_missed',
        { assessmentId: row.id, dueAt: row.dueAt.toISOString() },
        input.at,
      ),
    );
    return row;
  });
}

/**
 * The privacy officer's decision, once. `clock` is what the workflow's clock says at `at` (met within the
 * 72 hours, missed after); a clock already missed stays missed.
 */
export async function recordBreachDecision(
  db: DbOrTx,
  input: BreachDecision & {
    id: string;
    at: Date;
    clock: 'met' | 'missed';
    actor: Actor;
    actorName: string | null;
    /** Issue 19: what the decision was signed with (a person's step-up, or the key's holder). */
    signedWith?: SignedWith;
  },
): Promise<BreachAssessment> {
  return db.transaction(async (tx) => {
    const current = await requireBreachAssessment(tx, input.id);
    // A retried activity whose first attempt committed: the same decision, already recorded.
    if (current.decidedAt?.getTime() === input.at.getTime() && current.decidedBy === input.actor.actor) return current;
    if (current.decidedAt) {
      throw conflict(
        'breach_already_decided',
        `Breach assessment ${input.id} was decided at ${current.decidedAt.toISOString()}`,
      );
    }
    const clock: BreachClock = current.clock === 'missed' ? 'missed' : input.clock;
    const [row] = await tx
      .update(breachAssessments)
      .set({
        clock,
        decidedAt: input.at,
        decidedBy: input.actor.actor,
        decidedByName: input.actorName,
        decidedByRole: input.actor.actorRole ?? null,
        notifyAp: input.notifyAp,
        apReason: input.apReason ?? null,
        informGridUser: input.informGridUser,
        gridUserReason: input.gridUserReason ?? null,
        assessment: input.assessment,
        delayReason: input.delayReason ?? null,
      })
      .where(eq(breachAssessments.id, input.id))
      .returning();
    await recordAudit(
      tx,
      caseEntry(
        row!.caseId,
        input.actor,
        'breach.decided',
        {
          assessmentId: row!.id,
          clock,
          dueAt: row!.dueAt.toISOString(),
          notifyAp: input.notifyAp,
          apReason: input.apReason ?? null,
          informGridUser: input.informGridUser,
          gridUserReason: input.gridUserReason ?? null,
          delayReason: input.delayReason ?? null,
          ...(input.signedWith ? { signedWith: input.signedWith } : {}),
        },
        input.at,
      ),
    );
    // GT-8: the assessment kept the case's evidence; decided, the copy goes unless a review or a hold keeps it.
    await disposeEvidence(tx, { caseId: row!.caseId, at: input.at, actor: input.actor });
    return row!;
  });
}
