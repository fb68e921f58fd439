/**
 * The workflows' one retry policy pair names the project's own non-retryable failures: an activity that
 * throws a DomainError fails with that error's name as its type, and that type is not retried.
 */
import { describe, expect, it } from 'vitest';
import { DomainError, NON_RETRYABLE_ERROR_TYPES, validationError } from '../../lib/errors.js';
import { DB_ACTIVITY, DB_RETRY, MAIL_ACTIVITY, MAIL_RETRY } from '../../workflows/activity-options.js';

describe('activity retry policies', () => {
  it('list the DomainError name as non-retryable, in both policies', () => {
    const err = validationError('x', 'y');
    expect(err).toBeInstanceOf(DomainError);
    expect(NON_RETRYABLE_ERROR_TYPES).toContain(err.name);
    for (const policy of [DB_RETRY, MAIL_RETRY, DB_ACTIVITY.retry, MAIL_ACTIVITY.retry])
      expect(policy?.nonRetryableErrorTypes).toEqual([...NON_RETRYABLE_ERROR_TYPES]);
  });

  it('mail retries without an attempt limit (the GT-1 alert is the safety net), backing off further than database work', () => {
    expect(MAIL_RETRY.maximumAttempts).toBeUndefined();
    expect(MAIL_RETRY).toMatchObject({ initialInterval: '30 seconds', maximumInterval: '30 minutes' });
    expect(DB_RETRY).toMatchObject({ initialInterval: '1 second', maximumInterval: '1 minute' });
  });
});
