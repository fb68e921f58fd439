/**
 * The DC-9 retention purge as Temporal runs it: `retentionPurgeWorkflow` on the time-skipping server with the
 * real activities on PostgreSQL removes a case, register rows and reading days past their periods (in several
 * activity steps when batches are small) and leaves the audit chain verifiable; and its daily Schedule as
 * worker.ts creates it (dev server).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { verifyAuditChain } from '../../db/repositories/audit.js';
import { accessRegister, blocks, doubtCases, meterReadingDays } from '../../db/schema/index.js';
import { amsterdamDayOf } from '../../domain/allocation.js';
import { connectClient } from '../../lib/infra/temporal-connection.js';
import { createLogger } from '../../lib/logger.js';
import { uuidv7 } from '../../lib/uuidv7.js';
import { ensureRetentionSchedule } from '../../services/retention/schedule.js';
import { ensureRegisterPartitions, PARTITIONS_SCHEDULE_ACTOR } from '../../services/register/partitions.js';
import {
  retentionScheduleId,
  type RetentionPurgeInput,
  type RetentionPurgeResult,
} from '../../workflows/retention-shared.js';
import { readingsDay, registers } from '../allocation/fixtures.js';
import { testConfig } from '../helpers/index.js';
import { caseHarness, TASK_QUEUE, type CaseHarness } from './harness.js';

const DAY = 86_400_000;
const YEAR = 365 * DAY;

let h: CaseHarness;
beforeAll(async () => {
  h = await caseHarness('retention');
});
afterAll(async () => h?.close());

describe('retentionPurgeWorkflow (time-skipping server)', () => {
  it('purges every kind past its period in bounded steps, audited, with the chain intact', async () => {
    const now = await h.now();
    const old = new Date(now.getTime() - 6 * YEAR);
    const f = await h.fixture();
    const cases = [];
    for (let i = 0; i < 3; i++) {
      const { row } = await h.openCase({ fixture: f });
      await h.db
        .update(doubtCases)
        .set({ status: 'closed_mandate_accepted', closedAt: old, reporterContact: `klant${i}@example.nl` })
        .where(eq(doubtCases.id, row.id));
      await h.db.update(blocks).set({ endedAt: old, retroactive: true }).where(eq(blocks.caseId, row.id));
      cases.push(row);
    }
    const kept = (await h.openCase({ fixture: f })).row; // open: never purged
    const register = (at: Date) => ({
      id: uuidv7(at.getTime()),
      decidedAt: at,
      requestId: randomUUID(),
      partyId: f.partyId,
      connectionEan: f.connectionEan,
      dataKind: 'interval_data',
      periodFrom: at,
      periodTo: at,
      allowed: false,
      reasonCode: 'no_mandate',
      rule: 'DC-2',
    });
    // The month six years back exists (as when the register was written then), and goes whole (DC-9).
    await ensureRegisterPartitions(h.db, old, PARTITIONS_SCHEDULE_ACTOR, 0);
    await h.db.insert(accessRegister).values([register(old), register(old), register(now)]);
    const oldDay = amsterdamDayOf(new Date(now.getTime() - 4 * YEAR));
    await readingsDay(
      h.db,
      f.connectionEan,
      oldDay,
      registers(oldDay, 0, () => 1),
      registers(oldDay, 0, () => 0),
    );

    // One case, or one row, per batch: every removal is its own batch (and its own audit entry).
    const periods = testConfig().retention;
    const input: RetentionPurgeInput = {
      periods: {
        caseDays: periods.caseDays,
        supplierReportDays: periods.supplierReportDays,
        accessRegisterDays: periods.accessRegisterDays,
        readingDays: periods.readingDays,
        auditDetailsDays: periods.auditDetailsDays,
      },
      batchRows: 1,
      batchCases: 1,
    };
    const workflowId = `retention-purge-${randomUUID()}`;
    const worker = await h.worker();
    const result = (await worker.runUntil(
      h.env.client.workflow.execute('retentionPurgeWorkflow', { taskQueue: TASK_QUEUE, workflowId, args: [input] }),
    )) as RetentionPurgeResult;

    expect(result.kinds.map((k) => k.kind)).toEqual([
      'cases',
      'supplier_reports',
      'access_register',
      'readings',
      'audit_details',
    ]);
    const [c, , reg, readings] = result.kinds;
    expect(c).toMatchObject({ removed: { doubt_cases: 3, blocks: 3 }, batches: 4, auditDetailsAltered: [] });
    expect(c!.auditDetailsErased).toBeGreaterThanOrEqual(3 * 2); // each case's opening and its block's placing
    // One month dropped (one batch), then one batch of expired Idempotency-Keys (none).
    expect(reg).toMatchObject({ removed: { access_register: 2, idempotency_keys: 0 }, batches: 2 });
    expect(readings!.removed['meter_reading_days']).toBeGreaterThanOrEqual(1);
    expect(new Date(result.asOf).getTime()).toBeGreaterThanOrEqual(now.getTime());

    expect((await h.db.select({ id: doubtCases.id }).from(doubtCases)).map((r) => r.id)).toEqual([kept.id]);
    expect(await h.db.$count(accessRegister)).toBe(1);
    expect(await h.db.$count(meterReadingDays, eq(meterReadingDays.day, oldDay))).toBe(0);
    const v = await verifyAuditChain(h.db);
    expect(v.firstBroken).toBeNull();
    expect(v.detailsErased).toBe(c!.auditDetailsErased);
    await h.recordHistory(workflowId, 'retention-purge');
  });
});

describe('the retention purge Schedule (dev server)', () => {
  it('is created at the configured Amsterdam time with the configured periods, and updated on the next start', async () => {
    const taskQueue = `retention-schedule-${process.pid}-${Date.now()}`;
    const { client, connection } = await connectClient(testConfig().temporal, inject('temporalAddress'));
    const logger = createLogger({ logLevel: 'silent' });
    try {
      const config = testConfig({ TEMPORAL_TASK_QUEUE: taskQueue, RETENTION_CASE_DAYS: '2000' });
      expect(await ensureRetentionSchedule(client, config, logger)).toBe('created');
      const handle = client.schedule.getHandle(retentionScheduleId(taskQueue));
      const first = await handle.describe();
      expect(first.action).toMatchObject({
        type: 'startWorkflow',
        workflowType: 'retentionPurgeWorkflow',
        taskQueue,
        args: [
          {
            periods: {
              caseDays: 2000,
              supplierReportDays: 1826,
              accessRegisterDays: 1826,
              readingDays: 1127,
              auditDetailsDays: 1826,
            },
            batchRows: 5000,
            batchCases: 100,
          },
        ],
      });
      expect(first.spec.timezone).toBe('Europe/Amsterdam');
      expect(first.spec.calendars?.[0]).toMatchObject({
        hour: [{ start: 3, end: 3, step: 1 }],
        minute: [{ start: 30, end: 30, step: 1 }],
      });
      expect(first.policies.overlap).toBe('SKIP');
      expect(
        await ensureRetentionSchedule(
          client,
          testConfig({
            TEMPORAL_TASK_QUEUE: taskQueue,
            RETENTION_SCHEDULE_AT: '02:15',
            RETENTION_READING_DAYS: '1500',
          }),
          logger,
        ),
      ).toBe('updated');
      const second = await handle.describe();
      expect(second.spec.calendars?.[0]).toMatchObject({
        hour: [{ start: 2, end: 2, step: 1 }],
        minute: [{ start: 15, end: 15, step: 1 }],
      });
      expect((second.action as { args: RetentionPurgeInput[] }).args[0]!.periods.readingDays).toBe(1500);
      await handle.delete();
    } finally {
      await connection.close();
    }
  });
});
