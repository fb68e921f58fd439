/**
 * The workflows' one retry policy pair names the project's own non-retryable failures: an activity that
 * throws a DomainError fails with that error's name as its type, and that type is not retried.
 */
import { describe, expect, it } from 'vitest';
import { DomainError, NON_RETRYABLE_ERROR_TYPES, validationError } from '../../lib/errors.js';
import {
  ALLOCATION_DB_ACTIVITY,
  ALLOCATION_RETRY,
  ALLOCATION_RUN_ACTIVITY,
  DB_ACTIVITY,
  DB_RETRY,
  MAIL_ACTIVITY,
  MAIL_RETRY,
} from '../../workflows/activity-options.js';

describe('activity retry policies', () => {
  it('list the DomainError name as non-retryable, in both policies', () => {
    const err = validationError('x', 'y');
    expect(err).toBeInstanceOf(DomainError);
    expect(NON_RETRYABLE_ERROR_TYPES).toContain(err.name);
    for (const policy of [
      DB_RETRY,
      MAIL_RETRY,
      DB_ACTIVITY.retry,
      MAIL_ACTIVITY.retry,
      ALLOCATION_RETRY,
      ALLOCATION_DB_ACTIVITY.retry,
      ALLOCATION_RUN_ACTIVITY.retry,
    ])
      expect(policy?.nonRetryableErrorTypes).toEqual([...NON_RETRYABLE_ERROR_TYPES]);
  });

  it('mail retries without an attempt limit (the GT-1 alert is the safety net), backing off further than database work', () => {
    expect(MAIL_RETRY.maximumAttempts).toBeUndefined();
    // First retry soon (a dead worker's send resumes in seconds, issue 8), then backing off to 30 minutes.
    expect(MAIL_RETRY).toMatchObject({ initialInterval: '5 seconds', maximumInterval: '30 minutes' });
    expect(DB_RETRY).toMatchObject({ initialInterval: '1 second', maximumInterval: '1 minute' });
  });

  it('allocation (AL-3): database work as DB_RETRY but bounded; the run heartbeats, gets an hour and fewer attempts', () => {
    expect(ALLOCATION_RETRY).toEqual({ ...DB_RETRY, maximumAttempts: 10 });
    expect(ALLOCATION_DB_ACTIVITY).toEqual({ startToCloseTimeout: '2 minutes', retry: ALLOCATION_RETRY });
    expect(ALLOCATION_RUN_ACTIVITY).toEqual({
      startToCloseTimeout: '1 hour',
      heartbeatTimeout: '5 minutes',
      retry: { ...DB_RETRY, maximumAttempts: 5 },
    });
    // The values the allocation workflows used before their options moved here (running workflows retry alike).
    expect(ALLOCATION_RETRY).toMatchObject({
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '1 minute',
    });
  });
});
