/**
 * services/workflow-client.ts answers every way a call to a workflow can fail as a DomainError (or says it
 * is none). The failures are the SDK's own classes, shaped as the client raises them; the workflow tests
 * (doubt-case-branches, breach-assessment, repeat-offenders) send the same refusals through a real server.
 */
import { ServiceError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../lib/errors.js';
import {
  executeUpdate,
  isWorkflowNotFound,
  queryIfRunning,
  requireTemporal,
  startWorkflow,
} from '../../services/workflow-client.js';
import { refuse } from '../../workflows/refuse.js';
import { addNoteUpdate, caseStateQuery } from '../../workflows/shared.js';

/** A client whose every call to the workflow fails with `err`. */
const failingWith = (err: unknown) =>
  ({
    workflow: {
      getHandle: () => ({
        executeUpdate: () => Promise.reject(err),
        query: () => Promise.reject(err),
      }),
      start: () => Promise.reject(err),
    },
  }) as unknown as Client;

const note = { text: 'x', actor: 'api-key:test' };
const notRunning = () => {
  throw new DomainError('unavailable', 'not_running', 'no run');
};
const send = (err: unknown) =>
  executeUpdate(failingWith(err), 'wf-1', addNoteUpdate, { args: [note] }, { ifNotRunning: notRunning });
const thrown = (p: Promise<unknown>) =>
  p.then(
    () => expect.unreachable('expected a rejection'),
    (e: unknown) => e,
  );
const updateFailed = (cause: Error) => new WorkflowUpdateFailedError('Workflow Update failed', cause);
/** gRPC status as @grpc/grpc-js raises it: a numeric code and metadata. */
const grpc = (code: number) => Object.assign(new Error(`grpc ${code}`), { code, details: '', metadata: {} });

describe('services/workflow-client.ts', () => {
  it("a validator's refusal is the DomainError it carries", async () => {
    const refusal = (() => {
      try {
        refuse({ kind: 'state', code: 'review_step_done', message: 'done', details: { reviewId: 'r1' } });
      } catch (e) {
        return e as Error;
      }
    })()!;
    const err = await thrown(send(updateFailed(refusal)));
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({
      kind: 'state',
      code: 'review_step_done',
      message: 'done',
      details: { reviewId: 'r1' },
    });
  });

  it("an activity's DomainError failure keeps its kind, code and field", async () => {
    const activity = ApplicationFailure.create({
      type: 'DomainError',
      message: 'Text may not contain NUL',
      nonRetryable: true,
      details: [{ kind: 'validation', code: 'unstorable_input', field: 'text' }],
    });
    const err = await thrown(send(updateFailed(activity)));
    expect(err).toMatchObject({ kind: 'validation', code: 'unstorable_input', field: 'text' });
  });

  it('no running workflow is what the caller says it means, for Updates and for starting nothing', async () => {
    const gone = new WorkflowNotFoundError('workflow not found', 'wf-1', undefined);
    expect(await thrown(send(gone))).toMatchObject({ code: 'not_running' });
    const fallback = await executeUpdate(
      failingWith(gone),
      'wf-1',
      addNoteUpdate,
      { args: [note] },
      { ifNotRunning: () => ({ at: 'done another way' }) },
    );
    expect(fallback).toEqual({ at: 'done another way' });
    expect(isWorkflowNotFound(new ServiceError('history', { cause: grpc(5) }))).toBe(true);
    expect(isWorkflowNotFound(updateFailed(new Error('other')))).toBe(false);
  });

  it('Temporal unreachable or not configured: 503 temporal_unavailable', async () => {
    const down = await thrown(send(new ServiceError('Failed to execute update', { cause: grpc(14) })));
    expect(down).toMatchObject({
      kind: 'unavailable',
      code: 'temporal_unavailable',
      details: { dependency: 'temporal' },
    });
    expect(() => requireTemporal(undefined)).toThrow(expect.objectContaining({ code: 'temporal_unavailable' }));
    const start = await thrown(
      startWorkflow(
        failingWith(grpc(14)),
        'supplierReportWorkflow',
        { workflowId: 'w', taskQueue: 'q' },
        {
          message: 'registered, not started',
          details: { reportId: 'r1' },
        },
      ),
    );
    expect(start).toMatchObject({
      code: 'temporal_unavailable',
      message: 'registered, not started',
      details: { reportId: 'r1' },
    });
  });

  it('anything else is no domain answer: rethrown with its cause; a query that cannot answer is undefined', async () => {
    const bug = updateFailed(ApplicationFailure.create({ type: 'TypeError', message: 'x is undefined' }));
    const err = await thrown(send(bug));
    expect(err).not.toBeInstanceOf(DomainError);
    expect((err as Error).cause).toBe(bug);
    // An activity's DomainError without its detail is no answer either (it would not say the code).
    const bare = updateFailed(ApplicationFailure.create({ type: 'DomainError', message: 'no detail' }));
    expect(await thrown(send(bare))).not.toBeInstanceOf(DomainError);
    expect(await queryIfRunning(failingWith(grpc(14)), 'wf-1', caseStateQuery)).toBeUndefined();
    expect(await queryIfRunning(undefined, 'wf-1', caseStateQuery)).toBeUndefined();
  });
});
