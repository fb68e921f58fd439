/**
 * The allocation workflows on the time-skipping test server, with real activities on PostgreSQL: the daily
 * workflow allocates yesterday for each grid operator once (a second firing makes no second version), a
 * run survives an activity that fails after its work was committed (idempotent per version), a re-run is
 * the next version with its difference; and the daily Schedule as worker.ts creates it (dev server).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { allocationAggregates, allocationRuns } from '../../db/schema/index.js';
import { createActivities } from '../../activities/index.js';
import { connectClient } from '../../lib/infra/temporal-connection.js';
import { createLogger } from '../../lib/logger.js';
import { ensureAllocationSchedule } from '../../services/allocation/schedule.js';
import { requestAllocationRun } from '../../services/allocation/runs.js';
import { allocationDay, amsterdamDayOf, previousDay } from '../../domain/allocation.js';
import {
  allocationRunWorkflowId,
  allocationScheduleId,
  type AllocationRunResult,
  type DailyAllocationResult,
} from '../../workflows/shared.js';
import { testConfig } from '../helpers/index.js';
import { caseHarness, TASK_QUEUE, type CaseHarness } from '../workflows/harness.js';
import { connection, loadTestProfiles, party, readingsDay, registers } from './fixtures.js';

let h: CaseHarness;
beforeAll(async () => {
  h = await caseHarness('allocation');
});
afterAll(async () => h?.close());

const ADMIN = { actor: 'test', actorRole: 'admin', actorPartyId: null };

describe('allocation workflows (time-skipping server)', () => {
  it('the daily workflow allocates yesterday once per grid operator; a retried run allocates once; a re-run is the next version', async () => {
    const now = await h.now();
    const day = previousDay(amsterdamDayOf(now));
    const d = allocationDay(day);
    await loadTestProfiles(h.db, Number(day.slice(0, 4)), [day]);
    const op = await party(h.db, 'grid_operator');
    const supplier = await party(h.db, 'supplier');
    const brp = await party(h.db, 'balance_responsible_party');
    const measured = await connection(h.db, { gridOperatorId: op.id, supplierId: supplier.id, brpId: brp.id });
    const late = await connection(h.db, { gridOperatorId: op.id, supplierId: supplier.id, brpId: brp.id });
    await readingsDay(
      h.db,
      measured.ean,
      day,
      registers(day, 0, () => 100),
      registers(day, 0, () => 0),
    );
    // `late` has no readings yet: profile, estimated (3000 kWh × 0.00001 = 30 Wh per quarter-hour).

    // The compute activity fails once AFTER its transaction committed (a worker lost its answer): the retry
    // finds the run completed and returns it; nothing is allocated twice.
    const real = createActivities(h.deps);
    let failures = 0;
    const worker = await h.worker({
      async computeAllocationRun(input) {
        const result = await real.computeAllocationRun(input);
        if (failures++ === 0) throw ApplicationFailure.retryable('lost the answer', 'Crash');
        return result;
      },
    });
    await worker.runUntil(async () => {
      const daily = (await h.env.client.workflow.execute('dailyAllocationWorkflow', {
        taskQueue: TASK_QUEUE,
        workflowId: `daily-${day}-a`,
        args: [{ daysBack: 1 }],
      })) as DailyAllocationResult;
      expect(daily.day).toBe(day);
      expect(daily.runs).toEqual([
        { runId: expect.any(String), gridOperatorId: op.id, version: 1, created: true, started: true },
      ]);
      const runId = daily.runs[0]!.runId;
      const v1 = (await h.env.client.workflow
        .getHandle(allocationRunWorkflowId(runId))
        .result()) as AllocationRunResult;
      expect(failures).toBe(2);
      expect(v1).toMatchObject({ status: 'completed', version: 1, day, difference: { previousRunId: null } });
      const n = d.quarterHours;
      expect(v1.summary).toMatchObject({
        quarterHours: n,
        connections: { measured: 1, 'profile:readings_missing': 1 },
        totals: { offtake: { volumeWh: String(n * 130), cells: 1, cellsBelowMinimum: 1 }, feed_in: { volumeWh: '0' } },
      });
      expect(await h.db.$count(allocationAggregates, eq(allocationAggregates.runId, runId))).toBe(2 * n);
      await h.recordHistory(allocationRunWorkflowId(runId), 'allocation-run-retried');

      // The Schedule fires again for the same day: no second version. (Started just before midnight in
      // Amsterdam, the second firing allocates the next day: that is a first version of another day.)
      const again = (await h.env.client.workflow.execute('dailyAllocationWorkflow', {
        taskQueue: TASK_QUEUE,
        workflowId: `daily-${day}-b`,
        args: [{ daysBack: 1 }],
      })) as DailyAllocationResult;
      if (again.day === day) expect(again.runs).toEqual([]);
      expect(
        await h.db.$count(allocationRuns, and(eq(allocationRuns.gridOperatorId, op.id), eq(allocationRuns.day, day))),
      ).toBe(1);
      await h.recordHistory(`daily-${day}-a`, 'allocation-daily');

      // Late readings, then a handler's re-run: version 2, compared with version 1.
      await readingsDay(
        h.db,
        late.ean,
        day,
        registers(day, 0, () => 50),
        registers(day, 0, () => 0),
      );
      const { run } = await requestAllocationRun(h.db, h.env.client, TASK_QUEUE, ADMIN, {
        gridOperatorId: op.id,
        day,
        reason: 'late readings',
        requestKey: `rerun-${day}`,
      });
      const v2 = (await h.env.client.workflow
        .getHandle(allocationRunWorkflowId(run.id))
        .result()) as AllocationRunResult;
      expect(v2).toMatchObject({
        status: 'completed',
        version: 2,
        difference: {
          previousRunId: runId,
          previousVersion: 1,
          changed: n,
          deltaWh: { offtake: String(n * 20), feed_in: '0' },
        },
      });
    });
  });

  it('a run that cannot be allocated fails with its reason recorded (no profile fractions for a category)', async () => {
    // Requested as over the API: by the real clock, the day must have ended (AL-1); the test server's clock may
    // have skipped years ahead.
    const day = previousDay(previousDay(amsterdamDayOf(new Date())));
    const op = await party(h.db, 'grid_operator');
    const supplier = await party(h.db, 'supplier');
    const brp = await party(h.db, 'balance_responsible_party');
    await connection(h.db, { gridOperatorId: op.id, supplierId: supplier.id, brpId: brp.id, category: 'NOPE' });
    const stop = await h.runWorker();
    try {
      const { run } = await requestAllocationRun(h.db, h.env.client, TASK_QUEUE, ADMIN, {
        gridOperatorId: op.id,
        day,
        reason: 'test',
        requestKey: `fail-${day}`,
      });
      await expect(h.env.client.workflow.getHandle(allocationRunWorkflowId(run.id)).result()).rejects.toThrow();
      const [row] = await h.db.select().from(allocationRuns).where(eq(allocationRuns.id, run.id));
      expect(row).toMatchObject({ status: 'failed' });
      expect(row!.failure).toContain('NOPE');
    } finally {
      await stop();
    }
  });
});

describe('AL-1: the Schedule allocates afterwards', () => {
  it('a daily workflow asked for the day it runs on (daysBack 0) is refused: day_not_ended, no run recorded', async () => {
    const op = await party(h.db, 'grid_operator');
    const supplier = await party(h.db, 'supplier');
    const brp = await party(h.db, 'balance_responsible_party');
    await connection(h.db, { gridOperatorId: op.id, supplierId: supplier.id, brpId: brp.id });
    const worker = await h.worker();
    await worker.runUntil(async () => {
      const err = await h.env.client.workflow
        .execute('dailyAllocationWorkflow', {
          taskQueue: TASK_QUEUE,
          workflowId: `daily-today-${op.id}`,
          args: [{ daysBack: 0 }],
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const failure = (err as WorkflowFailedError).cause?.cause;
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect((failure as ApplicationFailure).details?.[0]).toMatchObject({ code: 'day_not_ended' });
    });
    expect(await h.db.$count(allocationRuns, eq(allocationRuns.gridOperatorId, op.id))).toBe(0);
  });
});

describe('the daily Schedule (dev server)', () => {
  it('worker start creates it at the configured Amsterdam time and updates it on the next start', async () => {
    const taskQueue = `allocation-schedule-${process.pid}-${Date.now()}`;
    const { client, connection: conn } = await connectClient(testConfig().temporal, inject('temporalAddress'));
    const logger = createLogger({ logLevel: 'silent' });
    try {
      expect(await ensureAllocationSchedule(client, testConfig({ TEMPORAL_TASK_QUEUE: taskQueue }), logger)).toBe(
        'created',
      );
      const handle = client.schedule.getHandle(allocationScheduleId(taskQueue));
      const first = await handle.describe();
      expect(first.action).toMatchObject({
        type: 'startWorkflow',
        workflowType: 'dailyAllocationWorkflow',
        taskQueue,
        args: [{ daysBack: 1 }],
      });
      expect(first.spec.timezone).toBe('Europe/Amsterdam');
      expect(first.spec.calendars?.[0]).toMatchObject({
        hour: [{ start: 7, end: 7, step: 1 }],
        minute: [{ start: 0, end: 0, step: 1 }],
      });
      expect(
        await ensureAllocationSchedule(
          client,
          testConfig({ TEMPORAL_TASK_QUEUE: taskQueue, ALLOCATION_SCHEDULE_AT: '06:30' }),
          logger,
        ),
      ).toBe('updated');
      expect((await handle.describe()).spec.calendars?.[0]).toMatchObject({
        hour: [{ start: 6, end: 6, step: 1 }],
        minute: [{ start: 30, end: 30, step: 1 }],
      });
      await handle.delete();
    } finally {
      await conn.close();
    }
  });
});
