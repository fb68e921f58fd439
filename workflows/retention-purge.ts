/**
 * DC-9 storage limitation: the daily retention purge, started by its Schedule (services/retention/schedule.ts).
 * One instant (the run's start) for every kind, then each kind of record in turn — cases, supplier reports, the
 * access register, readings, and last the audit details of records without a period of their own — each drained
 * in activity-sized steps of bounded batches (services/retention/purge.ts), so a large backlog never becomes one
 * long transaction and a worker restart resumes where the last finished step left off.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import type { RetentionKind } from '../domain/retention.js';
import { DB_RETRY } from './activity-options.js';
import type { RetentionKindResult, RetentionPurgeInput, RetentionPurgeResult } from './retention-shared.js';

/** Batches per activity call: the call heartbeats after each, and returns to the workflow after this many. */
const BATCHES_PER_CALL = 20;

const purge = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { ...DB_RETRY, maximumAttempts: 10 },
});

export async function retentionPurgeWorkflow(input: RetentionPurgeInput): Promise<RetentionPurgeResult> {
  const asOf = new Date(Date.now()).toISOString();
  const runId = workflowInfo().workflowId;
  const { periods, batchRows, batchCases } = input;
  const step = { runId, asOf, maxBatches: BATCHES_PER_CALL };
  const kinds: RetentionKindResult[] = [
    await drain('cases', () => purge.purgeExpiredCases({ ...step, days: periods.caseDays, batchSize: batchCases })),
    await drain('supplier_reports', () =>
      purge.purgeExpiredSupplierReports({ ...step, days: periods.supplierReportDays, batchSize: batchCases }),
    ),
    await drain('access_register', () =>
      purge.purgeExpiredAccessRegister({ ...step, days: periods.accessRegisterDays, batchSize: batchRows }),
    ),
    await drain('readings', () =>
      purge.purgeExpiredReadings({ ...step, days: periods.readingDays, batchSize: batchRows }),
    ),
    await drainAudit(step, periods.auditDetailsDays, batchRows),
  ];
  return { asOf, kinds };
}

type Step = Awaited<ReturnType<ReturnType<typeof createActivities>['purgeExpiredCases']>>;

/** Call one kind's activity until it says nothing more is left, summing its steps. */
async function drain(kind: RetentionKind, call: () => Promise<Step>): Promise<RetentionKindResult> {
  const total: RetentionKindResult = {
    kind,
    cutoff: '',
    batches: 0,
    removed: {},
    auditDetailsErased: 0,
    auditDetailsAltered: [],
  };
  for (;;) {
    const r = await call();
    add(total, r);
    if (!r.more) return total;
  }
}

/** The audit details: as drain(), passing on where each step stopped (entries it may not erase are passed over). */
async function drainAudit(
  step: { runId: string; asOf: string; maxBatches: number },
  days: number,
  batchSize: number,
): Promise<RetentionKindResult> {
  let cursor: Step['cursor'] = null;
  return drain('audit_details', async () => {
    const r = await purge.eraseExpiredAuditDetails({ ...step, days, batchSize, cursor });
    cursor = r.cursor ?? null;
    return r;
  });
}

function add(total: RetentionKindResult, r: Step): void {
  total.cutoff = r.cutoff;
  total.batches += r.batches;
  for (const [table, n] of Object.entries(r.removed)) total.removed[table] = (total.removed[table] ?? 0) + n;
  total.auditDetailsErased += r.auditDetailsErased;
  total.auditDetailsAltered.push(...r.auditDetailsAltered);
  if (r.kept) total.kept = r.kept;
}
