/**
 * A worker restart in the middle of a case: worker A runs the case up to the response, stops; worker B
 * (a new process's worker, same task queue) continues where the case was — same run, nothing repeated.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { judgeEvidence, submitResponse, type CaseServiceDeps } from '../../services/cases/actions.js';
import { listMail } from '../helpers/index.js';
import { inject } from 'vitest';
import { caseHarness, TASK_QUEUE, type CaseHarness } from './harness.js';

let h: CaseHarness;
let svc: CaseServiceDeps;
beforeAll(async () => {
  h = await caseHarness('restart');
  svc = { db: h.db, temporal: h.env.client, taskQueue: TASK_QUEUE, evidenceMaxBytes: 1_048_576 };
});
afterAll(async () => {
  await h?.close();
});

describe('worker restart mid-case', () => {
  it('continues on the new worker where the case was', async () => {
    const { row, fixture } = await h.openCase({ isma: true });
    // Worker A keeps no sticky cache: the Java test server never re-routes a stopped worker's sticky
    // queue (the real server does after a few seconds); B then rebuilds the case from the history alone.
    const a = await h.worker({}, { identity: 'worker-A', maxCachedWorkflows: 0 });
    const runA = a.run();
    await h.startWorkflow(row.id);
    const before = await h.waitFor(row.id, (s) => s.status === 'awaiting_response');
    const sent = await submitResponse(svc, {
      caseId: row.id,
      partyId: fixture.partyId,
      actor: 'api-key:supplier',
      findings: 'Mandaat via portaal.',
      complaintHandling: 'Klant gebeld.',
      evidence: {
        filename: 'm.png',
        contentType: 'image/png',
        content: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]).toString('base64'),
      },
    });
    const { runId } = await h.env.client.workflow.getHandle(row.id).describe();
    a.shutdown();
    await runA;

    const b = await h.worker({}, { identity: 'worker-B' });
    const runB = b.run();
    try {
      const mid = await h.snapshot(row.id); // answered by worker B from the history
      expect(mid.status).toBe('awaiting_judgement');
      expect(mid.contactedAt).toBe(before.contactedAt);
      const snap = await judgeEvidence(svc, row.id, {
        actor: 'api-key:handler',
        responseId: sent!.response.id,
        decision: 'accept',
      });
      expect(snap.status).toBe('closed_mandate_accepted');
      await h.result(row.id);
    } finally {
      b.shutdown();
      await runB;
    }
    const d = await h.env.client.workflow.getHandle(row.id).describe();
    expect(d.runId).toBe(runId);
    const history = await h.env.client.workflow.getHandle(row.id).fetchHistory();
    const identities = new Set(
      history.events!.flatMap((e) =>
        e.workflowTaskCompletedEventAttributes?.identity ? [e.workflowTaskCompletedEventAttributes.identity] : [],
      ),
    );
    expect([...identities].some((i) => i.includes('worker-A'))).toBe(true);
    expect([...identities].some((i) => i.includes('worker-B'))).toBe(true);
    // Contact happened once, before the restart; nothing was repeated after it.
    const contacts = await listMail(
      inject('mailDir'),
      (m) => m.to.includes(fixture.partyMail) && (m.subject ?? '').includes('reactie'),
    );
    expect(contacts).toHaveLength(1);
    const scheduled = history.events!.filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'sendContactEmail',
    );
    expect(scheduled).toHaveLength(1);
    await h.recordHistory(row.id, 'worker-restart');
  }, 120_000);
});
