/**
 * Intakes commit first and start their workflow second: a case with its block (GT-1, GT-2), a supplier
 * report whose notification informs the grid operator (GT-9, GT-10). When the start fails, or the
 * process dies in between, the row is there and its workflow is not. One sweep finishes that for every
 * kind of intake: rows older than the grace period whose workflow was never confirmed started are
 * started now. Starting is idempotent (the workflow id is derived from the row; an existing run counts
 * as started), so the sweep is safe to repeat, periodically and from several workers at once.
 */
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Db } from '../../db/client.js';
import { casesWithoutWorkflow } from '../../db/repositories/cases.js';
import { reportsWithoutNotification } from '../../db/repositories/supplier-reports.js';
import { startCaseWorkflow } from '../cases/intake.js';
import { startSupplierReportWorkflow } from '../supplier-reports/intake.js';
import { INTAKE_GRACE_MS, RECOVERY_EVERY_MS } from './intake-bound.js';

export interface RecoveryDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
  logger: Logger;
}

interface IntakeKind {
  /** Rows committed before `olderThan` whose workflow was never confirmed started, oldest first. */
  pending(db: Db, olderThan: Date): Promise<{ id: string }[]>;
  start(deps: RecoveryDeps, id: string): Promise<void>;
  /** Log field that names the row. */
  idField: string;
  started: string;
  failed: string;
}

export const INTAKE_KINDS = {
  case: {
    pending: casesWithoutWorkflow,
    start: (d, id) => startCaseWorkflow(d.db, d.temporal, d.taskQueue, id),
    idField: 'caseId',
    started: 'started the workflow of a case whose intake did not',
    failed: 'could not recover cases without a workflow',
  },
  supplier_report: {
    pending: reportsWithoutNotification,
    start: (d, id) => startSupplierReportWorkflow(d.db, d.temporal, d.taskQueue, id),
    idField: 'reportId',
    started: 'started the notification workflow of a supplier report whose intake did not',
    failed: 'could not recover supplier reports without a notification workflow',
  },
} satisfies Record<string, IntakeKind>;

export type IntakeKindName = keyof typeof INTAKE_KINDS;

export { INTAKE_GRACE_MS, INTAKE_WORKFLOW_BOUND_MS, RECOVERY_EVERY_MS } from './intake-bound.js';

export interface RecoveryResult {
  /** Rows found without a workflow. */
  pending: number;
  /** Of those, started by this sweep (fewer when a start failed: the rest waits for the next sweep). */
  started: number;
}

/**
 * Start what the intakes left undone. Never rejects: a kind whose query or start fails is logged and
 * left for the next sweep, and the other kinds still run.
 */
export async function recoverIntakes(
  deps: RecoveryDeps,
  opts: { kinds?: readonly IntakeKindName[]; now?: Date } = {},
): Promise<Record<IntakeKindName, RecoveryResult>> {
  const olderThan = new Date((opts.now ?? new Date()).getTime() - INTAKE_GRACE_MS);
  const result = { case: { pending: 0, started: 0 }, supplier_report: { pending: 0, started: 0 } };
  for (const name of opts.kinds ?? (Object.keys(INTAKE_KINDS) as IntakeKindName[])) {
    const kind: IntakeKind = INTAKE_KINDS[name];
    try {
      const rows = await kind.pending(deps.db, olderThan);
      result[name].pending = rows.length;
      for (const row of rows) {
        await kind.start(deps, row.id);
        result[name].started++;
        deps.logger.warn({ [kind.idField]: row.id }, kind.started);
      }
    } catch (err) {
      deps.logger.error({ err }, kind.failed);
    }
  }
  return result;
}

export interface RecoveryLoop {
  /** Stop sweeping; settles once a sweep in progress has finished. */
  stop(): Promise<void>;
}

/**
 * Sweep now and then every `everyMs` until stopped (every worker runs one: reconciliation rather than an
 * outbox relay, because the committed row already is the outbox — `workflow_started_at` /
 * `notification_started_at` null — and the start is idempotent by workflow id, so several workers
 * sweeping at once only repeat a harmless "already started"). Sweeps never overlap.
 */
export function runRecoveryLoop(deps: RecoveryDeps, opts: { everyMs?: number } = {}): RecoveryLoop {
  const everyMs = opts.everyMs ?? RECOVERY_EVERY_MS;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<unknown> = Promise.resolve();
  const tick = (): void => {
    if (stopped) return;
    current = recoverIntakes(deps).finally(() => {
      if (!stopped) timer = setTimeout(tick, everyMs);
    });
  };
  tick();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current.catch(() => {});
    },
  };
}
