/**
 * The access register's months as Temporal creates them (issue 21): `registerPartitionsWorkflow` on the
 * time-skipping server with the real activity on PostgreSQL creates the current month and two ahead of the
 * workflow's clock, and as that clock runs on it creates the months that come into reach, audited by the
 * Schedule's actor; its daily Schedule as worker.ts creates it (dev server).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { and, eq, inArray } from 'drizzle-orm';
import { auditLog } from '../../db/schema/index.js';
import { registerMonths } from '../../db/repositories/register-partitions.js';
import { parseRegisterMonth, registerMonthCompactable, registerMonthsAhead } from '../../domain/register-partitions.js';
import { connectClient } from '../../lib/infra/temporal-connection.js';
import { createLogger } from '../../lib/logger.js';
import { PARTITION_CREATED } from '../../services/register/partitions.js';
import { ensureRegisterPartitionsSchedule } from '../../services/register/schedule.js';
import {
  registerPartitionsScheduleId,
  type RegisterPartitionsResult,
} from '../../workflows/register-partitions-shared.js';
import { testConfig } from '../helpers/index.js';
import { caseHarness, TASK_QUEUE, type CaseHarness } from './harness.js';

const DAY = 86_400_000;

let h: CaseHarness;
beforeAll(async () => {
  h = await caseHarness('register-partitions');
});
afterAll(async () => h?.close());

describe('registerPartitionsWorkflow (time-skipping server)', () => {
  it('keeps the current month and two ahead of its clock, creating those that come into reach', async () => {
    const stop = await h.runWorker();
    const run = async () =>
      (await h.env.client.workflow.execute('registerPartitionsWorkflow', {
        taskQueue: TASK_QUEUE,
        workflowId: `register-partitions-${randomUUID()}`,
      })) as RegisterPartitionsResult;

    const first = await run();
    const start = new Date(first.asOf);
    expect(first.months).toEqual(registerMonthsAhead(start).map((m) => m.name));
    const held = (await registerMonths(h.db)).map((m) => m.name);
    for (const name of first.months) expect(held).toContain(name);

    // Three months on (the workflow's clock, skipped): the months now in reach are created by the next run.
    await h.skipTo(new Date(start.getTime() + 92 * DAY));
    const later = await run();
    const wanted = registerMonthsAhead(new Date(later.asOf)).map((m) => m.name);
    expect(later.months).toEqual(wanted);
    expect(later.created.length).toBeGreaterThanOrEqual(2);
    expect(later.created.every((n) => !first.months.includes(n))).toBe(true);
    const now = (await registerMonths(h.db)).filter((m) => m.state === 'attached').map((m) => m.name);
    for (const name of wanted) expect(now).toContain(name);
    const entries = await h.db
      .select({ actor: auditLog.actor, entityId: auditLog.entityId })
      .from(auditLog)
      .where(and(eq(auditLog.action, PARTITION_CREATED), inArray(auditLog.entityId, later.created)));
    expect(entries.map((e) => e.entityId).sort()).toEqual([...later.created].sort());
    expect(entries.every((e) => e.actor === 'workflow:register-partitions')).toBe(true);
    // The same run compacts one closed month (decisions/0019): the newest one past its day of margin.
    expect(later.compacted).toHaveLength(1);
    expect(later.deferred).toEqual([]);
    const compacted = parseRegisterMonth(later.compacted[0]!.name)!;
    expect(registerMonthCompactable(compacted, new Date(later.asOf))).toBe(true);
    expect((await registerMonths(h.db)).find((m) => m.name === compacted.name)?.compacted).toBe(true);
    await stop();
  });
});

describe('the register-partitions Schedule (dev server)', () => {
  it('is created daily at 00:30 Amsterdam and updated, not doubled, on the next start', async () => {
    const taskQueue = `register-partitions-${process.pid}-${Date.now()}`;
    const { client, connection } = await connectClient(testConfig().temporal, inject('temporalAddress'));
    const logger = createLogger({ logLevel: 'silent' });
    try {
      const config = testConfig({ TEMPORAL_TASK_QUEUE: taskQueue });
      expect(await ensureRegisterPartitionsSchedule(client, config, logger)).toBe('created');
      const handle = client.schedule.getHandle(registerPartitionsScheduleId(taskQueue));
      const d = await handle.describe();
      expect(d.action).toMatchObject({ type: 'startWorkflow', workflowType: 'registerPartitionsWorkflow', taskQueue });
      expect(d.spec.timezone).toBe('Europe/Amsterdam');
      expect(d.spec.calendars?.[0]).toMatchObject({
        hour: [{ start: 0, end: 0, step: 1 }],
        minute: [{ start: 30, end: 30, step: 1 }],
      });
      expect(d.policies.overlap).toBe('SKIP');
      expect(await ensureRegisterPartitionsSchedule(client, config, logger)).toBe('updated');
      await handle.delete();
    } finally {
      await connection.close();
    }
  });
});
