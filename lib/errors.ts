/**
 * Domain errors. Services and repositories throw these; api/ maps `kind` to an HTTP status and
 * activities list them as non-retryable. `code` is stable (clients match on it), `message` is for
 * people, `field` names the input at fault.
 */
export type DomainErrorKind =
  | 'validation'
  | 'not_found'
  | 'conflict'
  | 'forbidden'
  | 'state'
  | 'unavailable'
  /** A client over its share (the P4 gate's fair share, issue 20): 429 with Retry-After. */
  | 'rate_limited';

/** The error name of DomainError: an activity failure's type (Temporal takes the thrown error's name). */
const DOMAIN_ERROR = 'DomainError';

/**
 * Activity failure types that retrying cannot mend: the workflows' retry policies
 * (workflows/activity-options.ts) list them as non-retryable.
 */
export const NON_RETRYABLE_ERROR_TYPES: readonly string[] = [DOMAIN_ERROR];

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly details?: Record<string, unknown>,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = DOMAIN_ERROR;
  }
}

/** What an activity's DomainError carries across Temporal (ApplicationFailure details[0], activities/failures.ts). */
export interface DomainErrorDetail {
  kind: DomainErrorKind;
  code: string;
  field?: string;
}

export const validationError = (code: string, message: string, field?: string, details?: Record<string, unknown>) =>
  new DomainError('validation', code, message, field, details);
export const notFound = (code: string, message: string, field?: string) =>
  new DomainError('not_found', code, message, field);
export const conflict = (code: string, message: string, field?: string, details?: Record<string, unknown>) =>
  new DomainError('conflict', code, message, field, details);
export const forbidden = (code: string, message: string) => new DomainError('forbidden', code, message);
/** The action is not possible in the entity's current state (e.g. evidence after the 72 hours, GT-8). */
export const invalidState = (code: string, message: string, details?: Record<string, unknown>) =>
  new DomainError('state', code, message, undefined, details);
