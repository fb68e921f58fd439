/**
 * worker.ts on the real Temporal dev server: the GT-5 repeat-offender Schedule is created at start and
 * refreshed (never duplicated) on the next start; a triggered scan runs; case workflows carry the custom
 * search attributes the Temporal UI filters on; a case whose intake committed without starting its
 * workflow is picked up by the worker. `npm test` runs this file twice: on the dev server (SQLite visibility)
 * and with TEST_TEMPORAL=cluster on the self-hosted server (PostgreSQL visibility), so the list filters
 * below hold on both stores.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import type { Client, Connection } from '@temporalio/client';
import { createDb, type DbHandle } from '../../db/client.js';
import { createCaseWithBlock } from '../../db/repositories/cases.js';
import {
  connections,
  contactPersons,
  doubtCases,
  DOUBT_CONTACT_GROUP,
  improvementReviews,
  parties,
} from '../../db/schema/index.js';
import { withCheckDigit } from '../../lib/gs1.js';
import { connectClient } from '../../lib/infra/temporal-connection.js';
import { createLogger } from '../../lib/logger.js';
import { ensureRepeatOffenderSchedule, startWorker, type RunningWorker } from '../../worker.js';
import { recoverIntakes } from '../../services/recovery/sweep.js';
import { SA, allocationScheduleId, repeatOffenderScheduleId } from '../../workflows/shared.js';
import { retentionScheduleId } from '../../workflows/retention-shared.js';
import { freshDatabase, readMail, testConfig, type FreshDatabase } from '../helpers/index.js';

const tag = randomBytes(3).toString('hex');
const taskQueue = `worker-e2e-${tag}`;
const config = testConfig({
  TEMPORAL_TASK_QUEUE: taskQueue,
  REPEAT_OFFENDER_SCHEDULE_EVERY: '1h',
  REPEAT_OFFENDER_THRESHOLD: '2',
});
const logger = createLogger({ logLevel: 'silent' });
let fresh: FreshDatabase;
let dbh: DbHandle;
let worker: RunningWorker;
let client: Client;
let connection: Connection;

beforeAll(async () => {
  fresh = await freshDatabase('worker_e2e');
  dbh = createDb(fresh.url, { max: 4 });
  ({ client, connection } = await connectClient(config.temporal, inject('temporalAddress')));
  worker = await startWorker({
    config,
    temporalAddress: inject('temporalAddress'),
    databaseUrl: fresh.url,
    smtpUrl: inject('smtpUrl'),
    logger,
  });
});
afterAll(async () => {
  await worker?.shutdown();
  await client?.schedule
    .getHandle(repeatOffenderScheduleId(taskQueue))
    .delete()
    .catch(() => undefined);
  await client?.schedule
    .getHandle(allocationScheduleId(taskQueue))
    .delete()
    .catch(() => undefined);
  await client?.schedule
    .getHandle(retentionScheduleId(taskQueue))
    .delete()
    .catch(() => undefined);
  await connection?.close();
  await dbh?.close();
  await fresh?.drop();
});

let n = 0;
async function party(roles: ('supplier' | 'grid_operator')[]) {
  const digits =
    `${process.pid % 1000}`.padStart(3, '0') +
    String(Date.now() % 1_000_000).padStart(6, '0') +
    String(++n).padStart(3, '0');
  const [p] = await dbh.db
    .insert(parties)
    .values({ gln: withCheckDigit(digits), name: `${roles[0]} ${tag}-${n}`, roles })
    .returning();
  const email = `doubt-${tag}-${n}@example.test`;
  await dbh.db
    .insert(contactPersons)
    .values({ partyId: p!.id, contactGroup: DOUBT_CONTACT_GROUP, name: 'Contact', email });
  return { ...p!, email };
}

describe('worker start', () => {
  it('creates the repeat-offender Schedule once and refreshes it on the next start (GT-5)', async () => {
    const handle = client.schedule.getHandle(repeatOffenderScheduleId(taskQueue));
    const d = await handle.describe();
    expect(d.action).toMatchObject({ type: 'startWorkflow', workflowType: 'repeatOffenderScanWorkflow', taskQueue });
    expect((d.action as { args: unknown[] }).args).toEqual([
      { threshold: 2, windowDays: 90, followUpDays: 60, votingDays: 30, agreementRule: 'majority' },
    ]);
    expect(d.spec.intervals?.[0]?.every).toBe(3_600_000);
    // A second worker start (or a restart with other settings) updates instead of failing or duplicating.
    const changed = testConfig({
      TEMPORAL_TASK_QUEUE: taskQueue,
      REPEAT_OFFENDER_SCHEDULE_EVERY: '30m',
      REPEAT_OFFENDER_THRESHOLD: '3',
    });
    expect(await ensureRepeatOffenderSchedule(client, changed, logger)).toBe('updated');
    const d2 = await handle.describe();
    expect(d2.spec.intervals?.[0]?.every).toBe(1_800_000);
    expect((d2.action as { args: unknown[] }).args).toEqual([
      { threshold: 3, windowDays: 90, followUpDays: 60, votingDays: 30, agreementRule: 'majority' },
    ]);

    // Triggered now, the scan runs on this worker and opens a review for a party over the threshold.
    const operator = await party(['grid_operator']);
    const supplier = await party(['supplier']);
    const [conn] = await dbh.db
      .insert(connections)
      .values({
        ean: withCheckDigit(`871${String(Date.now()).slice(-14)}`),
        gridOperatorId: operator.id,
        gridArea: 'T',
        capacityKw: 17.25,
      })
      .returning();
    for (let i = 0; i < 3; i++) {
      const at = new Date(Date.now() - (i + 1) * 86_400_000);
      await createCaseWithBlock(dbh.db, {
        actor: 'test',
        gridOperatorId: operator.id,
        partyId: supplier.id,
        connectionEan: conn!.ean,
        channel: 'acm',
        receivedAt: at,
        reporterName: 'K',
        description: 'd',
        isma: false,
        at,
      });
    }
    // Those three cases never had workflows: mark them started so the worker's recovery leaves them alone here.
    await dbh.db.update(doubtCases).set({ workflowStartedAt: new Date() }).where(eq(doubtCases.partyId, supplier.id));
    await handle.trigger();
    // GT-5: the scan only proposes (the grid operators decide by vote, test/workflows/repeat-offenders.test.ts):
    // a proposal over the three signals appears and the party is not contacted yet.
    let proposal: typeof improvementReviews.$inferSelect | undefined;
    for (const deadline = Date.now() + 30_000; !proposal && Date.now() < deadline;) {
      [proposal] = await dbh.db.select().from(improvementReviews).where(eq(improvementReviews.partyId, supplier.id));
      if (!proposal) await new Promise((r) => setTimeout(r, 250));
    }
    expect(proposal).toMatchObject({ status: 'proposed', signalsAtOpen: 3, contactedAt: null });
  }, 60_000);

  it('creates the daily retention purge Schedule (DC-9)', async () => {
    const d = await client.schedule.getHandle(retentionScheduleId(taskQueue)).describe();
    expect(d.action).toMatchObject({ type: 'startWorkflow', workflowType: 'retentionPurgeWorkflow', taskQueue });
    expect(d.spec.timezone).toBe('Europe/Amsterdam');
  });

  it('case workflows carry the search attributes the Temporal UI filters on', async () => {
    const operator = await party(['grid_operator']);
    const supplier = await party(['supplier']);
    const [conn] = await dbh.db
      .insert(connections)
      .values({
        ean: withCheckDigit(`871${String(Date.now() + 7).slice(-14)}`),
        gridOperatorId: operator.id,
        gridArea: 'T',
        capacityKw: 17.25,
      })
      .returning();
    const at = new Date(Date.now() - 5 * 60_000);
    const { row } = await createCaseWithBlock(dbh.db, {
      actor: 'test',
      gridOperatorId: operator.id,
      partyId: supplier.id,
      connectionEan: conn!.ean,
      channel: 'customer',
      receivedAt: at,
      reporterName: 'K',
      description: 'd',
      isma: true,
      at,
    });
    // Intake "crashed" before starting the workflow: the worker's recovery starts it.
    await dbh.db.execute(sql`update doubt_cases set created_at = now() - interval '2 minutes' where id = ${row.id}`);
    expect(
      (await recoverIntakes({ db: dbh.db, temporal: client, taskQueue, logger }, { kinds: ['case'] })).case.started,
    ).toBeGreaterThanOrEqual(1);
    await readMail(
      inject('mailDir'),
      (m) => m.to.includes(supplier.email) && m.headers['x-case-id'] === row.id,
      30_000,
    );

    // Visibility is eventually consistent: wait for the first answer that lists something.
    const list = async (query: string): Promise<string[]> => {
      let found: string[] = [];
      for (let i = 0; i < 100 && found.length === 0; i++) {
        found = [];
        for await (const w of client.workflow.list({ query })) found.push(w.workflowId);
        if (found.length === 0) await new Promise((r) => setTimeout(r, 200));
      }
      return found;
    };
    expect(
      await list(
        `CaseStatus = 'awaiting_response' AND PartyGln = '${supplier.gln}' AND GridOperatorGln = '${operator.gln}' AND CaseKind = 'doubt_case'`,
      ),
    ).toEqual([row.id]);
    const d = await client.workflow.getHandle(row.id).describe();
    const next = d.typedSearchAttributes.get(SA.NextDeadline);
    const [after] = await dbh.db.select().from(doubtCases).where(eq(doubtCases.id, row.id));
    expect(next?.getTime()).toBe(after!.responseDueAt!.getTime());
    expect(d.typedSearchAttributes.get(SA.CaseStatus)).toBe('awaiting_response');

    // The other filters the Temporal UI builds: a Datetime range, a Keyword IN list, a count.
    const due = after!.responseDueAt!.getTime();
    const around = `NextDeadline BETWEEN '${new Date(due - 1_000).toISOString()}' AND '${new Date(due + 1_000).toISOString()}'`;
    expect(await list(`${around} AND PartyGln = '${supplier.gln}'`)).toEqual([row.id]);
    expect(
      await list(`CaseStatus IN ('contact_pending', 'awaiting_response') AND GridOperatorGln = '${operator.gln}'`),
    ).toEqual([row.id]);
    expect(
      (
        await client.workflow.count(
          `PartyGln = '${supplier.gln}' AND NextDeadline > '${new Date(due - 60_000).toISOString()}'`,
        )
      ).count,
    ).toBe(1);
    if (inject('temporalKind') === 'cluster') {
      // Those answers came from PostgreSQL: the run's row is in the visibility database.
      const visibilityUrl = new URL(inject('adminDatabaseUrl'));
      visibilityUrl.pathname = '/temporal_visibility';
      const vis = postgres(visibilityUrl.toString(), { max: 1 });
      try {
        const rows = await vis<
          Array<{ n: number }>
        >`select count(*)::int as n from executions_visibility where workflow_id = ${row.id}`;
        expect(rows[0]!.n).toBe(1);
      } finally {
        await vis.end({ timeout: 5 });
      }
    }
    await client.workflow.getHandle(row.id).terminate('test done');
  }, 60_000);
});
