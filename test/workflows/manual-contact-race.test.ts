/**
 * GT-1, issue 10: a manual contact (telephone, meeting, letter) that reaches the workflow in the same
 * workflow task as the sent contact mail counts; before the fix (patch MANUAL_CONTACT_WITH_MAIL, first recorded
 * as 'w10a-manual-contact-with-mail') the Update answered and the contact was dropped. Time skipping, real PostgreSQL and SMTP.
 *
 * The same task is made certain, not hoped for: the contact mail completes asynchronously while no worker
 * runs, the Update is sent meanwhile, and the next worker receives both in one workflow task.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { Context } from '@temporalio/activity';
import { CompleteAsyncError } from '@temporalio/common';
import { createActivities } from '../../activities/index.js';
import { doubtCases } from '../../db/schema/index.js';
import { caseAuditTrail } from '../../db/repositories/cases.js';
import { FORMER_PATCH_IDS, MANUAL_CONTACT_WITH_MAIL } from '../../workflows/doubt-case/patches.js';
import { recordManualContactUpdate, type CaseSnapshot } from '../../workflows/shared.js';
import { caseHarness, type CaseHarness } from './harness.js';

const HOUR = 3_600_000;
let h: CaseHarness;
beforeAll(async () => {
  h = await caseHarness('manual_contact_race');
});
afterAll(async () => {
  await h?.close();
});

describe('manual contact in the same workflow task as the contact mail (GT-1)', () => {
  it('counts: the earlier moment is the contact, the 72 hours never shorter than the mail stated, both recorded', async () => {
    const real = createActivities(h.deps);
    let held: { taskToken: Uint8Array; result: Awaited<ReturnType<typeof real.sendContactEmail>> } | undefined;
    // The mail really goes out; its completion is held back and given later (async completion).
    const first = await h.worker(
      {
        async sendContactEmail(input) {
          const result = await real.sendContactEmail(input);
          held = { taskToken: Context.current().info.taskToken, result };
          throw new CompleteAsyncError();
        },
      },
      { maxCachedWorkflows: 0 }, // no sticky queue: the next task goes to whichever worker polls
    );
    const { row, fixture } = await h.openCase({ receivedAt: new Date((await h.now()).getTime() - 2 * HOUR) });
    const running = first.run();
    await h.startWorkflow(row.id);
    for (let i = 0; i < 200 && !held; i++) await new Promise((r) => setTimeout(r, 50));
    expect(held).toBeDefined();
    await h.mail((m) => m.to.includes(fixture.partyMail) && m.headers['x-case-id'] === row.id);
    first.shutdown();
    await running;

    // No worker: the mail's completion and the handler's telephone call (an hour ago) wait in one workflow
    // task. Quickly: the held send must complete within its heartbeat timeout.
    const called = new Date((await h.now()).getTime() - HOUR);
    await h.env.client.activity.complete(held!.taskToken, held!.result);
    const handle = h.env.client.workflow.getHandle(row.id);
    const update = handle.executeUpdate(recordManualContactUpdate, {
      args: [
        {
          actor: 'api-key:handler',
          actorRole: 'case-handler',
          method: 'telephone',
          contactPerson: 'P. Jansen',
          summary: 'Gebeld terwijl de mail uitging',
          contactedAt: called.toISOString(),
        },
      ],
    });
    await new Promise((r) => setTimeout(r, 500)); // the Update reaches the server before a worker polls
    const second = await h.worker();
    const secondRun = second.run();
    try {
      const snap: CaseSnapshot = await update;
      expect(snap.contactedAt).toBe(called.toISOString());
      const stated = new Date(held!.result.statedResponseDueAt).getTime();
      const due = new Date(snap.deadlines.response.dueAt!).getTime();
      // GT-3: from the recording (an hour after the call; recording late never shortens the 72 hours), never
      // shorter than the deadline the mail stated.
      const recorded = await h.now();
      expect(due).toBeGreaterThanOrEqual(Math.max(called.getTime() + HOUR + 72 * HOUR, stated));
      expect(due).toBeLessThanOrEqual(Math.max(recorded.getTime() + 72 * HOUR, stated));
      const [c] = await h.db.select().from(doubtCases).where(eq(doubtCases.id, row.id));
      expect(c!.contactMethod).toBe('telephone');
      expect(c!.contactedAt!.toISOString()).toBe(called.toISOString());
      expect(c!.contactMessageId).toBe(held!.result.messageId);
      const contacted = (await caseAuditTrail(h.db, row.id)).filter((e) => e.action === 'case.contacted');
      expect(contacted).toHaveLength(1);
      expect(contacted[0]!.actor).toBe('api-key:handler');
      expect(contacted[0]!.data).toMatchObject({
        method: 'telephone',
        contactPerson: 'P. Jansen',
        messageId: held!.result.messageId,
        recipients: [fixture.partyMail],
      });
      // The case goes on from there: no answer, "not demonstrated" at the end of the 72 hours.
      const final = await h.result(row.id);
      expect(final.status).toBe('closed_mandate_not_demonstrated');
      // A new run records the patch under the id naming the behaviour, never the branch's former id
      // (workflows/patched-as.ts; the recorded history with the former id replays in replay.test.ts).
      const ids = await h.patchIds(row.id);
      expect(ids).toContain(MANUAL_CONTACT_WITH_MAIL);
      expect(ids).not.toContain(FORMER_PATCH_IDS[MANUAL_CONTACT_WITH_MAIL]);
      await h.recordHistory(row.id, 'w10a-manual-contact-with-mail');
    } finally {
      second.shutdown();
      await secondRun;
    }
  });
});
