/**
 * GT-11 data-breach hand-off: when a case ends "mandate not demonstrated" (or a handler asks), the data
 * the party received through P4 may have been disclosed unlawfully. The grid operator's privacy officer
 * assesses it within the 72 hours of GDPR art. 33 and records whether the AP is notified and whether the
 * grid user is informed (art. 34). Pure: no I/O.
 */

export const BREACH_TRIGGERS = ['case_closed_not_demonstrated', 'handler_request'] as const;
export type BreachTrigger = (typeof BREACH_TRIGGERS)[number];

/** The art. 33 clock: running (undecided, within 72 hours), met (decided within), missed (72 hours passed). */
export const BREACH_CLOCKS = ['running', 'met', 'missed'] as const;
export type BreachClock = (typeof BREACH_CLOCKS)[number];

const HOUR_MS = 3_600_000;
/** GDPR art. 33(1): "without undue delay and, where feasible, not later than 72 hours after having become aware". */
export const BREACH_NOTIFICATION_HOURS = 72;
/** Reminders to the privacy officer while the clock runs: this many hours before it ends. */
export const BREACH_REMINDER_HOURS_BEFORE = [24, 6] as const;

/** The end of the art. 33 clock: awareness plus 72 hours (calendar hours, not working days). */
export const breachDueAt = (awareAt: Date): Date => new Date(awareAt.getTime() + BREACH_NOTIFICATION_HOURS * HOUR_MS);

/** The reminder instants, in order. */
export const breachReminderTimes = (dueAt: Date): Date[] =>
  BREACH_REMINDER_HOURS_BEFORE.map((h) => new Date(dueAt.getTime() - h * HOUR_MS));

/** A decision at `decidedAt` met the clock when it came no later than the due instant. */
export const clockAt = (dueAt: Date, decidedAt: Date): Exclude<BreachClock, 'running'> =>
  decidedAt.getTime() <= dueAt.getTime() ? 'met' : 'missed';

export interface BreachDecision {
  /** Art. 33: notify the Autoriteit Persoonsgegevens. */
  notifyAp: boolean;
  /** Required when the AP is not notified (art. 33(5): the controller documents why). */
  apReason?: string | null;
  /** Art. 34: inform the grid user. */
  informGridUser: boolean;
  /** Required when the grid user is not informed. */
  gridUserReason?: string | null;
  /** The privacy officer's assessment: nature, likely consequences, measures taken. */
  assessment: string;
  /** Required when the decision comes after the 72 hours (art. 33(1): "accompanied by reasons for the delay"). */
  delayReason?: string | null;
}

/** What a decision lacks (field name and why); empty when it is complete. */
export function decisionProblems(d: BreachDecision, late: boolean): { field: keyof BreachDecision; message: string }[] {
  const blank = (s: string | null | undefined) => !s || s.trim() === '';
  const out: { field: keyof BreachDecision; message: string }[] = [];
  if (blank(d.assessment)) out.push({ field: 'assessment', message: 'The assessment is required' });
  if (!d.notifyAp && blank(d.apReason))
    out.push({ field: 'apReason', message: 'Not notifying the AP needs its reason (GDPR art. 33(5))' });
  if (!d.informGridUser && blank(d.gridUserReason))
    out.push({ field: 'gridUserReason', message: 'Not informing the grid user needs its reason (GDPR art. 34(3))' });
  if (late && blank(d.delayReason))
    out.push({
      field: 'delayReason',
      message: 'A decision after 72 hours needs the reasons for the delay (art. 33(1))',
    });
  return out;
}

export interface DeliveredPeriod {
  dataKind: string;
  from: Date;
  to: Date;
  deliveries: number;
}

/** Delivered periods merged per data kind where they overlap or touch, ordered by kind then start. */
export function mergeDeliveredPeriods(periods: DeliveredPeriod[]): DeliveredPeriod[] {
  const sorted = [...periods].sort(
    (a, b) => a.dataKind.localeCompare(b.dataKind) || a.from.getTime() - b.from.getTime(),
  );
  const out: DeliveredPeriod[] = [];
  for (const p of sorted) {
    const last = out[out.length - 1];
    if (last && last.dataKind === p.dataKind && p.from.getTime() <= last.to.getTime()) {
      if (p.to.getTime() > last.to.getTime()) last.to = p.to;
      last.deliveries += p.deliveries;
    } else {
      out.push({ ...p });
    }
  }
  return out;
}
