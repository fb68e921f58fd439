/**
 * The activity options of every workflow: one retry policy for database work and one for mail, both
 * naming the failures that retrying cannot mend (lib/errors.ts NON_RETRYABLE_ERROR_TYPES). A workflow that
 * needs other limits spreads one of these and says why. A change of value changes how running cases retry.
 */
import type { ActivityOptions, RetryPolicy } from '@temporalio/workflow';
import { NON_RETRYABLE_ERROR_TYPES } from '../lib/errors.js';

const nonRetryableErrorTypes = [...NON_RETRYABLE_ERROR_TYPES];

/** Database work: quick, retried briefly with backoff. */
export const DB_RETRY: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  nonRetryableErrorTypes,
};

/**
 * Mail: SMTP may be down for a while. Retried with backoff, without an attempt limit: the deadlines' own
 * alerts (GT-1) tell the handler in time when contact is not achieved, so nothing is dropped silently.
 */
export const MAIL_RETRY: RetryPolicy = {
  initialInterval: '5 seconds',
  backoffCoefficient: 2,
  maximumInterval: '30 minutes',
  nonRetryableErrorTypes,
};

/**
 * Informing mail to the people around a case (the reporter, the grid user: domain/case-notices.ts): it never
 * holds up the case, and an address that keeps failing is not retried forever. 12 attempts span about 1¾ hours
 * (5 s doubling, at most 30 minutes apart); then the workflow records the failure on the case.
 */
export const NOTICE_RETRY: RetryPolicy = { ...MAIL_RETRY, maximumAttempts: 12 };

export const DB_ACTIVITY: ActivityOptions = { startToCloseTimeout: '30 seconds', retry: DB_RETRY };
/**
 * A send heartbeats while it waits on SMTP (activities/notifications.ts), so a dead worker is noticed in
 * 10 s; SMTP's own timeouts (notifications/mailer.ts, 10-20 s) end a hung connection well inside the
 * minute. Timeouts and retry intervals are not part of the workflow's commands: recorded histories replay.
 */
export const MAIL_ACTIVITY: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '10 seconds',
  retry: MAIL_RETRY,
};
/** The notices to the reporter and the grid user: as MAIL_ACTIVITY, with the bounded NOTICE_RETRY. */
export const NOTICE_ACTIVITY: ActivityOptions = { ...MAIL_ACTIVITY, retry: NOTICE_RETRY };

/**
 * AL-3: the allocation workflows' database steps (request the day's runs, start one, record a failure):
 * DB_RETRY, bounded, so a day's workflow ends rather than retrying for ever; the next day's Schedule starts
 * any run left requested or running (services/allocation/schedule.ts requestScheduledAllocationRuns).
 */
export const ALLOCATION_RETRY: RetryPolicy = { ...DB_RETRY, maximumAttempts: 10 };
export const ALLOCATION_DB_ACTIVITY: ActivityOptions = { startToCloseTimeout: '2 minutes', retry: ALLOCATION_RETRY };
/**
 * AL-3: computing one run. Long at a million connections (one transaction), so it heartbeats between its
 * statements and pages and gets an hour; fewer attempts, since each one redoes the whole run.
 */
export const ALLOCATION_RUN_ACTIVITY: ActivityOptions = {
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '5 minutes',
  retry: { ...ALLOCATION_RETRY, maximumAttempts: 5 },
};
