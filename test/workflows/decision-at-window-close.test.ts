/**
 * A handler's decision that lands while the workflow records the end of the 72 hours (GT-3) stands: a
 * wrongful block lifted at that moment closes the case as a wrongful block (GT-7), block lifted, and is
 * not overwritten by "mandate not demonstrated" (GT-4). The window-closed activity is held until the
 * handler's Update has been accepted, so the race happens every time.
 */
import { WorkflowUpdateStage } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { allocationMethods, blocks, doubtCases } from '../../db/schema/index.js';
import { liftWrongfulBlockUpdate } from '../../workflows/shared.js';
import { caseHarness, type CaseHarness } from './harness.js';

const HOUR = 3_600_000;
let h: CaseHarness;
beforeAll(async () => {
  h = await caseHarness('decision_at_window_close');
});
afterAll(async () => {
  await h?.close();
});

describe('a decision made while the closed response window is recorded', () => {
  it('is kept: the wrongful block is lifted, no profile switch', async () => {
    const real = createActivities(h.deps);
    let entered!: () => void;
    const closing = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const worker = await h.worker({
      async recordResponseWindowClosed(input) {
        entered();
        await released;
        return real.recordResponseWindowClosed(input);
      },
    });

    const { row } = await h.openCase({ isma: true });
    await worker.runUntil(async () => {
      await h.startWorkflow(row.id);
      const s0 = await h.waitFor(row.id, (s) => s.status === 'awaiting_response');
      // The test server does not skip time past a running activity: skip in the background.
      const skipping = h.skipTo(new Date(new Date(s0.deadlines.response.dueAt!).getTime() + HOUR));
      await closing; // the 72 hours ran out; the workflow is recording the window's end
      const lift = await h.env.client.workflow.getHandle(row.id).startUpdate(liftWrongfulBlockUpdate, {
        args: [{ actor: 'api-key:handler', actorRole: 'case-handler', reason: 'verkeerde aansluiting gemeld' }],
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      });
      release();
      await skipping;
      const answered = await lift.result();
      expect(answered.status).toBe('closed_wrongful_block');
      expect(answered.outcome).toBe('wrongful_block');
      const final = await h.result(row.id);
      expect(final.status).toBe('closed_wrongful_block');
      expect(final.deadlines.unblock.state).toBe('met');
    });

    const [c] = await h.db.select().from(doubtCases).where(eq(doubtCases.id, row.id));
    expect(c!.status).toBe('closed_wrongful_block');
    expect(c!.closedBy).toBe('api-key:handler');
    const [b] = await h.db.select().from(blocks).where(eq(blocks.caseId, row.id));
    expect(b!.liftReason).toBe('wrongful_block');
    expect(b!.retroactive).toBe(true);
    expect(await h.db.select().from(allocationMethods).where(eq(allocationMethods.caseId, row.id))).toHaveLength(0);
    await h.recordHistory(row.id, 'decision-at-window-close');
  }, 120_000);
});
