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
export const DateTime = Type.String({ format: 'date-time', description: 'RFC 3339 instant' });

export const Paging = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  offset: Type.Integer({ minimum: 0, default: 0 }),
});

export const Page = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() });
