/**
 * The worker's Temporal Schedules (daily allocation AL-3, the GT-5 repeat-offender scan, the DC-9 retention purge):
 * created once per task queue, and brought to the configured spec and action on every later worker start.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptionsAction,
  type ScheduleSpec,
} from '@temporalio/client';

export interface ScheduledWorkflow {
  scheduleId: string;
  spec: ScheduleSpec;
  workflowType: string;
  taskQueue: string;
  args: unknown[];
  /** How late a missed run (worker or server down) may still start when the Schedule resumes. */
  catchupWindow: '1 hour' | '1 day';
}

/** Creates the Schedule, or updates its spec and action when it exists; a run still going is never doubled. */
export async function upsertSchedule(client: Client, s: ScheduledWorkflow): Promise<'created' | 'updated'> {
  // The Schedule suffixes the workflow id with the scheduled time: every run has its own id.
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow',
    workflowType: s.workflowType,
    workflowId: s.scheduleId,
    taskQueue: s.taskQueue,
    args: s.args,
  };
  try {
    // A create that timed out but was made finds it made on the retry: ScheduleAlreadyRunning, then the update.
    await retryTransient(() =>
      client.schedule.create({
        scheduleId: s.scheduleId,
        spec: s.spec,
        action,
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: s.catchupWindow },
      }),
    );
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await retryTransient(() =>
      client.schedule.getHandle(s.scheduleId).update((prev) => ({ ...prev, spec: s.spec, action })),
    );
    return 'updated';
  }
}

/** gRPC DEADLINE_EXCEEDED and UNAVAILABLE: the server is there but busy or starting. */
const TRANSIENT_GRPC_CODES = new Set([4, 14]);

/** The gRPC status code of an error from the Temporal client, found on it or along its causes. */
function grpcCode(err: unknown): number | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

/**
 * Runs `fn` again after a transient gRPC failure, waiting 0.5, 1, 2, 4 and 8 s (about 15 s in all), then gives up
 * with the last error. Updating a Schedule describes it first, which asks its scheduler workflow: right after a
 * (dev) server restart that can pass the server's own deadline once (seen in CI: a worker's second start failed
 * with DEADLINE_EXCEEDED), and a start should not fail for it.
 */
export async function retryTransient<T>(
  fn: () => Promise<T>,
  delaysMs: readonly number[] = [500, 1000, 2000, 4000, 8000],
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const code = grpcCode(err);
      if (attempt >= delaysMs.length || code === undefined || !TRANSIENT_GRPC_CODES.has(code)) throw err;
      await new Promise((resolve) => setTimeout(resolve, delaysMs[attempt]));
    }
  }
}
