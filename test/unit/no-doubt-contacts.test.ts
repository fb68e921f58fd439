/**
 * GT-10: a mail to a party whose doubt contact group is empty is refused by its service with NO_DOUBT_CONTACTS
 * (services/cases/mail.ts partyRecipients), and its activity fails retryably as NoDoubtContacts: the party may
 * fill its group meanwhile (the case contact mail, the evidence request, the review contact mail).
 */
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { activityFailure, retriedWithoutContacts } from '../../activities/failures.js';
import { DomainError, invalidState } from '../../lib/errors.js';
import { NO_DOUBT_CONTACTS } from '../../services/cases/mail.js';

const failing = (err: Error) => retriedWithoutContacts(async (_input: { reviewId: string }) => Promise.reject(err));

describe('retriedWithoutContacts', () => {
  it('turns the NO_DOUBT_CONTACTS refusal into a retryable NoDoubtContacts failure, with its message and cause', async () => {
    const refusal = new DomainError('state', NO_DOUBT_CONTACTS, 'Energie BV has no contacts (GT-10)');
    const err = await failing(refusal)({ reviewId: 'r' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'NoDoubtContacts', nonRetryable: false, message: refusal.message });
    expect((err as ApplicationFailure).cause).toBe(refusal);
    // Past withActivityFailures it stays retryable (it is no DomainError any more).
    expect(activityFailure(err)).toBe(err);
  });

  it('leaves every other refusal a DomainError, which withActivityFailures makes non-retryable', async () => {
    const other = invalidState('review_report_not_signed', 'not signed');
    const err = await failing(other)({ reviewId: 'r' }).catch((e: unknown) => e);
    expect(err).toBe(other);
    expect(activityFailure(err)).toMatchObject({ type: 'DomainError', nonRetryable: true });
  });

  it('passes the result through', async () => {
    await expect(retriedWithoutContacts(async (n: number) => n + 1)(1)).resolves.toBe(2);
  });
});
