/**
 * What an activity throws when retrying cannot mend it (issue 8): a domain refusal, or data PostgreSQL refuses
 * (SQLSTATE class 22 "data exception": NUL in text, an unpaired surrogate in jsonb, a number or date out of
 * range; class 54: a value beyond a program limit) becomes a non-retryable ApplicationFailure of type DomainError
 * (lib/errors.ts NON_RETRYABLE_ERROR_TYPES) carrying kind, code and field, so the workflow's caller — an Update's
 * handler, the API — answers with a clear refusal instead of the activity retrying forever.
 */
import { ApplicationFailure } from '@temporalio/common';
import { DomainError, type DomainErrorDetail } from '../lib/errors.js';
import { NO_DOUBT_CONTACTS } from '../services/cases/mail.js';

/** SQLSTATE classes of errors the same data raises on every attempt. */
const PERMANENT_SQLSTATE_CLASSES = ['22', '54'];

/** The SQLSTATE of a PostgreSQL error in `err`'s cause chain that the same data raises on every attempt. */
export function permanentSqlState(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    const code = e.code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && PERMANENT_SQLSTATE_CLASSES.includes(code.slice(0, 2)))
      return code;
    e = e.cause as typeof e;
  }
  return undefined;
}

/** A failure retrying cannot mend as a non-retryable ApplicationFailure; anything else as it was. */
export function activityFailure(err: unknown): unknown {
  if (err instanceof DomainError) {
    const detail: DomainErrorDetail = { kind: err.kind, code: err.code, ...(err.field ? { field: err.field } : {}) };
    return ApplicationFailure.create({
      type: err.name,
      message: err.message,
      nonRetryable: true,
      details: [detail],
      cause: err,
    });
  }
  const sqlState = permanentSqlState(err);
  if (sqlState) {
    const detail: DomainErrorDetail = { kind: 'validation', code: 'unstorable_input' };
    return ApplicationFailure.create({
      type: 'DomainError',
      message: `The database refused the data (SQLSTATE ${sqlState}); retrying cannot change that`,
      nonRetryable: true,
      details: [detail],
      cause: err instanceof Error ? err : undefined,
    });
  }
  return err;
}

type AnyActivity = (...args: never[]) => Promise<unknown>;

/** Every activity of `activities`, throwing activityFailure(err) instead of err. */
export function withActivityFailures<T extends Record<string, AnyActivity>>(activities: T): T {
  const wrapped: Record<string, AnyActivity> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw activityFailure(err);
      }
    };
  }
  return wrapped as T;
}

/** How an activity fails for a domain refusal its own retry policy decides on: under this type, retried or not. */
export interface FailAs {
  type: string;
  retryable: boolean;
}

/**
 * `step`, failing for the refusals named by code in `failures` as the failure they map to (a refusal that
 * waiting mends is retryable); any other failure as it was (withActivityFailures then decides).
 */
export function failingAs<A extends unknown[], R>(
  failures: Record<string, FailAs>,
  step: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await step(...args);
    } catch (err) {
      const as = err instanceof DomainError ? failures[err.code] : undefined;
      if (!as || !(err instanceof DomainError)) throw err;
      throw ApplicationFailure.create({ type: as.type, message: err.message, nonRetryable: !as.retryable, cause: err });
    }
  };
}

/** GT-10: a party without doubt contacts may fill its group: the mail is retried (failure type NoDoubtContacts). */
export const retriedWithoutContacts = <A extends unknown[], R>(step: (...args: A) => Promise<R>) =>
  failingAs({ [NO_DOUBT_CONTACTS]: { type: 'NoDoubtContacts', retryable: true } }, step);
