/**
 * The OpenAPI document says what each answer means (issue 10): every response carries a real description,
 * every error a route can give is listed with the error body, and a query parameter with a default is not
 * required (Ajv fills it in). Routes state what is theirs (their success bodies, 404, 409, a route-specific
 * 503); what the edge does to every route is added here once, so a new route cannot forget it:
 * 400 (bad input, an unknown query parameter), 401 / 403 / 503 (authentication reads PostgreSQL) on
 * authenticated routes, 413 / 415 on routes with a body, 414 on routes with a path parameter, 500 on all.
 */
import { STATUS_CODES } from 'node:http';
import type { FastifySchema, RouteOptions } from 'fastify';
import { ErrorResponse } from '../schemas/common.js';

/** What each error status means in this API (api/plugins/errors.ts gives the bodies). */
export const ERROR_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'Bad input, refused before anything changed: `code` says why (e.g. invalid_request, unknown_query_parameter), `field` names the input at fault',
  401: 'No API key, or an unknown or revoked one (unauthenticated, invalid_api_key)',
  403: "The key's role may not do this, or the key does not act for the party its role needs (forbidden_role, key_without_party)",
  404: "Not found, or not the caller's to see: what a caller may not know exists answers as absent (domain/visibility.ts)",
  409: 'Refused in the current state (the record has moved on, or a duplicate exists); nothing changed',
  413: 'The body is larger than allowed (payload_too_large)',
  414: 'A path parameter is longer than any this route takes (uri_too_long)',
  415: 'The body is not application/json (unsupported_media_type)',
  500: 'An unexpected failure, logged under the request id the message gives; the body carries no internals',
  503: 'A dependency is unavailable (PostgreSQL, Temporal or mail; `code` and `details.dependency` name it); Retry-After says when to try again',
};

type ResponseSchemas = Record<string, Record<string, unknown>>;

/** The answers the edge gives this route whatever its handler does. */
function edgeErrors(route: RouteOptions, schema: FastifySchema): number[] {
  const statuses = [400, 500];
  if (!route.config?.public) statuses.push(401, 403, 503);
  if (schema.body) statuses.push(413, 415);
  if (route.url.includes(':')) statuses.push(414);
  return statuses;
}

/**
 * A real description for a response that has none: what the error means (for the error body), else the
 * route's summary, after the status for anything but a GET's 200 (a health report's 503 says it is the report).
 */
function descriptionOf(
  status: string,
  body: Record<string, unknown>,
  route: RouteOptions,
  schema: FastifySchema & { summary?: string },
): string {
  const n = Number(status);
  if (ERROR_DESCRIPTIONS[n] && body.title === ErrorResponse.title) return ERROR_DESCRIPTIONS[n];
  const what = schema.summary ?? `${route.method} ${route.url}`;
  return route.method === 'GET' && n < 300 ? what : `${STATUS_CODES[n] ?? status}: ${what}`;
}

/** @fastify/swagger `transform`: the route's schema as documented (a copy; Fastify serialises by the original). */
export function documentRoute({ schema, url, route }: { schema: FastifySchema; url: string; route: RouteOptions }): {
  schema: FastifySchema;
  url: string;
} {
  if (!schema || (schema as { hide?: boolean }).hide) return { schema, url };
  const given = (schema.response ?? {}) as ResponseSchemas;
  const response: ResponseSchemas = {};
  for (const [status, body] of Object.entries(given))
    response[status] = body.description
      ? body
      : { ...body, 'x-response-description': descriptionOf(status, body, route, schema) };
  for (const status of edgeErrors(route, schema))
    if (!response[status])
      response[status] = {
        ...ErrorResponse,
        'x-response-description': descriptionOf(String(status), ErrorResponse, route, schema),
      };
  return { schema: { ...schema, response }, url };
}

interface DocumentedOperation {
  parameters?: { required?: boolean; schema?: { default?: unknown } }[];
}

/** @fastify/swagger `transformObject`: a parameter with a default is not required (Ajv fills the default in). */
export function documentDefaults<D extends { paths?: object }>(doc: D): D {
  for (const ops of Object.values(doc.paths ?? {}) as Record<string, unknown>[])
    for (const op of Object.values(ops) as DocumentedOperation[])
      for (const p of op?.parameters ?? []) if (p.schema?.default !== undefined) p.required = false;
  return doc;
}
