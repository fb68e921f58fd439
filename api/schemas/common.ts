import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** Every 4xx/5xx body: a stable `code` to match on, a human `message`, and the `field` at fault. */
export const ErrorResponse = Type.Object(
  {
    code: Type.String({ description: 'Stable machine-readable error code' }),
    message: Type.String({ description: 'Human-readable explanation' }),
    field: Type.Optional(
      Type.String({ description: 'The input field at fault, as a JSON pointer-ish path (e.g. body.connectionEan)' }),
    ),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { title: 'ErrorResponse' },
);
export type ErrorResponseT = Static<typeof ErrorResponse>;

/** The error responses every authenticated route can give, for the OpenAPI document. */
export const authErrorResponses = {
  400: ErrorResponse,
  401: ErrorResponse,
  403: ErrorResponse,
} as const;

export const Ean18 = Type.String({
  pattern: '^[0-9]{18}$',
  description: '18-digit connection EAN (GS1 check digit)',
  examples: ['871687120000000019'],
});
export const Gln13 = Type.String({ pattern: '^[0-9]{13}$', description: '13-digit party GLN (GS1 check digit)' });
export const Uuid = Type.String({ format: 'uuid' });
/**
 * The years an instant may have (issue 8): PostgreSQL misreads years before 100 and RFC 3339 has none after
 * 9999; nothing this service records (signals, mandates, readings, report windows) lies outside 1900-2999, and
 * the margin keeps every instant derived from one (deadlines, window ends) a valid RFC 3339 date-time.
 * api/plugins/input.ts holds every `date-time` input to it, also one declared inline.
 */
export const DATE_TIME_YEARS = { from: 1900, to: 2999, pattern: /^(?:19|2[0-9])[0-9]{2}-/ } as const;

export const DateTime = Type.String({
  format: 'date-time',
  pattern: DATE_TIME_YEARS.pattern.source,
  description: `RFC 3339 instant, years ${DATE_TIME_YEARS.from}-${DATE_TIME_YEARS.to}`,
});

/**
 * A calendar day (YYYY-MM-DD) that exists, in the years DATE_TIME_YEARS allows: `format: 'date'` refuses
 * 2026-02-30 and 2025-02-29, which a pattern alone let through to PostgreSQL (issue 18, a 500). Every day a
 * route takes, in a path, query or body, is this one schema.
 */
export const CalendarDay = Type.String({
  format: 'date',
  pattern: `${DATE_TIME_YEARS.pattern.source}[0-9]{2}-[0-9]{2}$`,
  description: `Calendar day in Europe/Amsterdam (YYYY-MM-DD), years ${DATE_TIME_YEARS.from}-${DATE_TIME_YEARS.to}`,
  examples: ['2025-03-12'],
});

/** The deepest page a list serves: beyond it a caller narrows the filter (and PostgreSQL's OFFSET stays bigint). */
export const MAX_OFFSET = 1_000_000;

export const Paging = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  offset: Type.Integer({ minimum: 0, maximum: MAX_OFFSET, default: 0 }),
});

export const Page = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() });
