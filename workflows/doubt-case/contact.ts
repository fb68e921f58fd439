/**
 * Step 2 of the doubt case: contact the party's doubt contact group within 1 working day (GT-1, GT-10).
 * The contact mail is retried without limit; the GT-1 watch beside it alerts the handler when the deadline
 * nears and records the miss when it passes. The 72 hours (GT-3) run from the moment of contact.
 */
import { CancellationScope, condition, isCancellation, log } from '@temporalio/workflow';
import { db, mail } from './activities.js';
import { manualContactWithMailCounts } from './patches.js';
import { now, type DoubtCase } from './state.js';

/** GT-1: alert the handler this long before the contact deadline when contact has not succeeded. */
export const CONTACT_ALERT_LEAD_MS = 4 * 3_600_000;
const MIN_WAIT_MS = 60_000;

/**
 * Step 2: send the contact mail; meanwhile watch the GT-1 deadline: alert the handler when it nears, record
 * the miss when it passes. A decision before contact cancels the attempt. The 72 hours run from contact.
 */
export async function contactParty(c: DoubtCase): Promise<void> {
  const { caseId } = c.input;
  const contactDueAt = c.contactDueAt.toISOString();
  let contactDone = false;
  const contactedOrDecided = () => contactDone || c.decision !== null;
  const scope = new CancellationScope();
  const sending = scope.run(() => mail.sendContactEmail({ caseId, contactDueAt }));

  const watch = (async () => {
    const alertIn = Math.max(c.contactDueAt.getTime() - CONTACT_ALERT_LEAD_MS - Date.now(), MIN_WAIT_MS);
    const contactedBeforeAlert = await condition(contactedOrDecided, alertIn);
    if (contactedBeforeAlert) return;
    await db.recordContactAtRisk({ caseId, at: now().toISOString(), contactDueAt });
    // The alert mail may wait for the same SMTP outage; the miss below is recorded regardless.
    c.background.push(mail.sendContactAlert({ caseId, contactDueAt }));
    const missIn = Math.max(c.contactDueAt.getTime() - Date.now(), 1);
    const contactedInTime = await condition(contactedOrDecided, missIn);
    if (contactedInTime) return;
    await db.recordContactMissed({ caseId, at: now().toISOString(), contactDueAt });
    c.publish();
  })();

  const first = await Promise.race([
    sending.then(
      () => 'sent' as const,
      () => 'sent' as const,
    ),
    condition(c.isDecided).then(() => 'decided' as const),
    // GT-1: the handler reached the party another way: the mail (perhaps failing) is no longer needed.
    condition(() => c.manualContact !== null).then(() => 'manual' as const),
  ]);
  if (first !== 'sent') scope.cancel();
  try {
    const sent = await sending;
    // A telephone call, meeting or letter recorded while the mail went out (the same workflow task) is the
    // earlier contact (GT-1); the 72 hours run from it, never shorter than the mail stated (GT-3).
    const manual = c.manualContact && !c.decision && manualContactWithMailCounts() ? c.manualContact : null;
    const stated = new Date(sent.statedResponseDueAt);
    const contact = manual ? c.contactedManually(manual, { stated, ...sent }) : c.contacted(stated, sent);
    contactDone = true; // before recording it: the watch stands down as soon as the workflow sees the mail sent
    await db.recordContact(contact);
    if (manual) c.manualContactRecorded = true;
  } catch (err) {
    if (!isCancellation(err)) throw err;
    if (c.manualContact && !c.decision) {
      const contact = c.contactedManually(c.manualContact);
      contactDone = true;
      await db.recordContact(contact);
      c.manualContactRecorded = true;
    } else log.info('contact attempt cancelled: case decided before contact', { caseId });
  }
  contactDone = true;
  await watch;
  c.publish();
}
