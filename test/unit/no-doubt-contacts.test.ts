/**
 * GT-10: a mail to a party whose doubt contact group is empty fails retryably, with the failure type the case
 * contact mail uses (the party may fill its group; Temporal retries). The review contact mail
 * (services/reviews/mail.ts) throws it from the service, which knows nothing of Temporal.
 */
import { ensureApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { NO_DOUBT_CONTACTS } from '../../activities/contact-attempts.js';
import { activityFailure } from '../../activities/failures.js';
import { NoDoubtContacts } from '../../services/parties/contact-groups.js';

describe('NoDoubtContacts', () => {
  it('reaches Temporal as a retryable failure of type NoDoubtContacts, naming the party', () => {
    const err = new NoDoubtContacts({ name: 'Energie BV' });
    expect(activityFailure(err)).toBe(err); // not a DomainError: retried
    const failure = ensureApplicationFailure(err);
    expect(failure.type).toBe(NO_DOUBT_CONTACTS);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toBe('Energie BV has no contacts in the "Gerede twijfel Klantmandaat" group (GT-10)');
  });
});
