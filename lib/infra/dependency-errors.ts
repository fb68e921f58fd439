/**
 * Which dependency an error says is down: PostgreSQL (connection refused, reset, timed out, server
 * shutting down or starting up) or Temporal (gRPC unavailable or deadline exceeded). The API answers
 * those with a fast 503 naming the dependency (api/plugins/errors.ts) instead of a 500.
 * Walks the `cause` chain, since drizzle, the Temporal client and services wrap the original error.
 */
export type Dependency = 'database' | 'temporal';

/** Node socket errors and postgres.js connection errors. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
]);

/** SQLSTATE: connection exceptions (08…), admin/crash shutdown, cannot connect now (starting up), too many connections. */
const PG_DOWN_STATES = /^(08...|57P01|57P02|57P03|53300)$/;

/** gRPC status codes: DEADLINE_EXCEEDED 4, RESOURCE_EXHAUSTED 8, UNAVAILABLE 14. */
const GRPC_DOWN = new Set([4, 8, 14]);

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  cause?: unknown;
  details?: unknown;
  metadata?: unknown;
}

export function downDependency(err: unknown): Dependency | undefined {
  const seen = new Set<unknown>();
  for (let e = err as ErrorLike | undefined; e && typeof e === 'object' && !seen.has(e); e = e.cause as ErrorLike) {
    seen.add(e);
    // @temporalio/client ServiceError wraps the gRPC error; a gRPC error has a numeric code and metadata.
    const grpc = typeof e.code === 'number' && e.metadata !== undefined;
    if (grpc) return GRPC_DOWN.has(e.code as number) ? 'temporal' : undefined;
    if (e.name === 'ServiceError' && e.cause === undefined) return 'temporal';
    if (typeof e.code === 'string') {
      if (CONNECTION_CODES.has(e.code)) return 'database';
      if (PG_DOWN_STATES.test(e.code)) return 'database';
    }
  }
  return undefined;
}

/** What the 503 says, per dependency. */
export const DEPENDENCY_DOWN: Record<Dependency, { code: string; message: string; retryAfterS: number }> = {
  database: {
    code: 'database_unavailable',
    message:
      'The database is not reachable. Writes are all or nothing: repeat the request (with the same Idempotency-Key where it takes one) after Retry-After seconds.',
    retryAfterS: 5,
  },
  temporal: {
    code: 'temporal_unavailable',
    message:
      'The workflow engine (Temporal) is not reachable. What this request committed before is kept; repeat it after Retry-After seconds.',
    retryAfterS: 5,
  },
};
