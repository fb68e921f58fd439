/**
 * GT-3 / GT-4 / GT-8: no answer within 72 hours. Time skipping runs the real deadlines: the contact
 * deadline (1 working day) and the 72 hours from the moment of contact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { allocationMethods, blocks, doubtCases, zeroAllocations } from '../../db/schema/index.js';
import { caseAuditTrail } from '../../db/repositories/cases.js';
import { caseHarness, type CaseHarness } from './harness.js';

let h: CaseHarness;
beforeAll(async () => {
  h = await caseHarness('no_answer');
});
afterAll(async () => {
  await h?.close();
});

describe('doubt case without an answer (GT-3, GT-4)', () => {
  it('keeps the block, switches an iSMA connection to profile allocation and closes "mandate not demonstrated"', async () => {
    const { row, fixture } = await h.openCase({ isma: true });
    const worker = await h.worker();
    const final = await worker.runUntil(async () => {
      await h.startWorkflow(row.id);
      return h.result(row.id);
    });
    expect(final.status).toBe('closed_mandate_not_demonstrated');
    expect(final.deadlines.contact.state).toBe('met');
    expect(final.deadlines.response.state).toBe('missed');
    const contactedAt = new Date(final.contactedAt!);
    expect(new Date(final.deadlines.response.dueAt!).getTime() - contactedAt.getTime()).toBe(72 * 3_600_000);

    const [c] = await h.db.select().from(doubtCases).where(eq(doubtCases.id, row.id));
    expect(c!.status).toBe('closed_mandate_not_demonstrated');
    expect(c!.closedAt!.getTime()).toBeGreaterThanOrEqual(c!.responseDueAt!.getTime());
    const [b] = await h.db.select().from(blocks).where(eq(blocks.caseId, row.id));
    expect(b!.endedAt).toBeNull(); // GT-4: the block stays
    const [z] = await h.db.select().from(zeroAllocations).where(eq(zeroAllocations.caseId, row.id));
    expect(z!.endedAt).not.toBeNull();
    const [m] = await h.db.select().from(allocationMethods).where(eq(allocationMethods.caseId, row.id));
    expect(m!.method).toBe('profile');
    expect(m!.effectiveFrom.getTime()).toBe(c!.profileEffectiveFrom!.getTime());
    expect(z!.endedAt!.getTime()).toBe(m!.effectiveFrom.getTime());

    const contact = await h.mail(
      (x) =>
        x.to.includes(fixture.partyMail) &&
        (x.subject ?? '').includes(row.reference) &&
        (x.subject ?? '').includes('reactie'),
    );
    expect(contact.text).toContain('English version');
    expect(contact.text!.indexOf('Beste contactpersoon')).toBeLessThan(contact.text!.indexOf('Dear'));
    expect(contact.html).toContain('<html');
    const outcome = await h.mail(
      (x) => x.to.includes(fixture.partyMail) && (x.subject ?? '').includes('niet aangetoond'),
    );
    expect(outcome.text).toContain('regular processes');

    const trail = await caseAuditTrail(h.db, row.id);
    expect(trail.map((e) => e.action)).toEqual(
      expect.arrayContaining([
        'case.opened',
        'block.placed',
        'case.contacted',
        'case.response_window_closed',
        'case.deadline_missed',
        'allocation.switched_to_profile',
        'case.closed',
      ]),
    );
    await h.recordHistory(row.id, 'no-answer-isma');
  });
});
