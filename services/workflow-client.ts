/**
 * The one workflow client of the services: it starts workflows (idempotently), sends Updates and Queries,
 * and answers what Temporal says as DomainErrors (lib/errors.ts), so no service maps Temporal's errors itself:
 *
 * - a refusal (workflows/refuse.ts: one failure type, the refusal in its details) → the DomainError it
 *   carries (kind, code, message, field, details), the answer the API gives when it refuses the same itself;
 * - an Update whose activity failed for a reason retrying cannot mend (activities/failures.ts: type
 *   DomainError) → that DomainError;
 * - no such workflow (never started, or its run completed) → what the caller says that means for its
 *   subject (`ifNotRunning`: a closed case, a workflow still to be started, another way to do it);
 * - Temporal not configured or unreachable → 503 temporal_unavailable, Retry-After (api/plugins/errors.ts).
 *
 * Anything else is a bug or an outage we do not know: it is rethrown with its cause (500, logged).
 */
import {
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
  type WorkflowStartOptions,
  type WorkflowUpdateOptions,
} from '@temporalio/client';
import {
  ApplicationFailure,
  WorkflowNotFoundError,
  type QueryDefinition,
  type UpdateDefinition,
} from '@temporalio/common';
import { DomainError, type DomainErrorDetail } from '../lib/errors.js';
import { DEPENDENCY_DOWN, downDependency } from '../lib/infra/dependency-errors.js';
import { startWorkflowOnce } from '../lib/infra/start-workflow-once.js';
import { REFUSAL_TYPE, type WorkflowRefusal } from '../workflows/shared.js';
import { ActionAbandoned, actionUpdateId, beforeWrite } from './idempotency/action.js';

/** 503 temporal_unavailable: the workflow engine cannot be asked now (with what the request did commit). */
export function temporalUnavailable(message: string, details?: Record<string, unknown>, cause?: unknown): DomainError {
  return new DomainError('unavailable', 'temporal_unavailable', message, undefined, details, { cause });
}

/** The client, or 503 temporal_unavailable when this process has none configured. */
export function requireTemporal(
  temporal: Client | undefined,
  message = 'The workflow engine (Temporal) is not configured',
): Client {
  if (!temporal) throw temporalUnavailable(message);
  return temporal;
}

/**
 * Start a workflow whose id makes it unique; "already started" is success, so every caller (intake,
 * recovery at worker start, retried activities) is idempotent. Returns whether this call started it.
 * Failures are the caller's: a step on the worker side retries them.
 */
export { startWorkflowOnce };

/**
 * startWorkflowOnce for a request: a start that fails is 503 temporal_unavailable with `unavailable`'s
 * message and details, which say what the request committed before and how it is picked up.
 */
export async function startWorkflow(
  client: Client,
  workflowType: string,
  options: WorkflowStartOptions,
  unavailable: { message: string; details?: Record<string, unknown> },
): Promise<boolean> {
  try {
    return await startWorkflowOnce(client, workflowType, options);
  } catch (err) {
    throw temporalUnavailable(unavailable.message, unavailable.details, err);
  }
}

/** No run of the workflow to ask: never started, or completed (Temporal answers NOT_FOUND either way). */
export function isWorkflowNotFound(err: unknown): boolean {
  for (let e = err as { code?: unknown; name?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e instanceof WorkflowNotFoundError || e.name === 'WorkflowNotFoundError' || e.code === 5 /* gRPC NOT_FOUND */)
      return true;
  }
  return false;
}

function applicationFailure(err: unknown): ApplicationFailure | undefined {
  for (let e = err as { cause?: unknown } | undefined; e; e = e.cause as typeof e)
    if (e instanceof ApplicationFailure) return e;
  return undefined;
}

/** What a failed call to a running workflow means, as a DomainError; undefined when it is no domain answer. */
function domainErrorOf(err: unknown): DomainError | undefined {
  const f = err instanceof WorkflowUpdateFailedError ? applicationFailure(err) : undefined;
  if (f?.type === REFUSAL_TYPE) {
    const r = f.details?.[0] as WorkflowRefusal;
    return new DomainError(r.kind, r.code, r.message, r.field, r.details, { cause: err });
  }
  // An activity's refusal retrying cannot mend (activities/failures.ts), e.g. data PostgreSQL refuses.
  const d = f?.type === 'DomainError' ? (f.details?.[0] as DomainErrorDetail | undefined) : undefined;
  if (f && d) return new DomainError(d.kind, d.code, f.message, d.field, undefined, { cause: err });
  if (downDependency(err) === 'temporal')
    return temporalUnavailable(DEPENDENCY_DOWN.temporal.message, { dependency: 'temporal' }, err);
  return undefined;
}

export interface WorkflowCall<R> {
  /** What no running workflow means here: throw the DomainError that answers it, or do the work another way. */
  ifNotRunning: (err: unknown) => R | Promise<R>;
}

/** Run `call` on the workflow's handle, answering its failures as described above. */
async function callWorkflow<R>(
  client: Client,
  workflowId: string,
  call: (handle: WorkflowHandle) => Promise<R>,
  { ifNotRunning }: WorkflowCall<R>,
): Promise<R> {
  try {
    return await call(client.workflow.getHandle(workflowId));
  } catch (err) {
    if (err instanceof ActionAbandoned) throw err;
    if (isWorkflowNotFound(err)) return ifNotRunning(err);
    const answer = domainErrorOf(err);
    if (answer) throw answer;
    throw new Error(`workflow ${workflowId}: the call failed`, { cause: err });
  }
}

/**
 * Send an Update and wait for its answer (the workflow's validator may refuse it: a DomainError). Inside a case
 * action (services/idempotency/action.ts) the Update is its write: marked sent first (refused if the request
 * was already answered "not done"), and under an Idempotency-Key its id is the key's, so Temporal runs it
 * once however often the request is repeated (issue 20).
 */
export function executeUpdate<Ret, Args extends [unknown, ...unknown[]], Name extends string>(
  client: Client,
  workflowId: string,
  update: UpdateDefinition<Ret, Args, Name>,
  options: WorkflowUpdateOptions & { args: Args },
  call: WorkflowCall<Ret>,
): Promise<Ret> {
  return callWorkflow(
    client,
    workflowId,
    (h) => {
      beforeWrite();
      const updateId = options.updateId ?? actionUpdateId();
      return h.executeUpdate(update, updateId ? { ...options, updateId } : options);
    },
    call,
  );
}

/**
 * The running workflow's answer to a Query, or undefined when it cannot give one now (no Temporal, no
 * running workflow, Temporal unreachable): for views that fall back on the database's copy.
 */
export async function queryIfRunning<R>(
  temporal: Client | undefined,
  workflowId: string,
  query: QueryDefinition<R, []>,
): Promise<R | undefined> {
  if (!temporal) return undefined;
  try {
    return await temporal.workflow.getHandle(workflowId).query(query);
  } catch {
    return undefined;
  }
}
