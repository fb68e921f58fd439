import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError, type DomainErrorKind } from '../../lib/errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Request paths of the inputs that services and repositories name differently in their errors
     * (`caseId` → `params.id`, `evidence.content` → `body.evidence.contentBase64`); see requestField.
     */
    errorFields?: Readonly<Record<string, string>>;
  }
}

const STATUS: Record<DomainErrorKind, number> = {
  validation: 400,
  not_found: 404,
  conflict: 409,
  forbidden: 403,
  state: 409,
  unavailable: 503,
};

/** Ajv's instancePath (/connectionEan/0) and the validation context (body) → body.connectionEan[0]. */
function fieldOf(err: FastifyError): string | undefined {
  const v = err.validation?.[0];
  if (!v) return undefined;
  const ctx = err.validationContext ?? 'body';
  const path = v.instancePath
    .split('/')
    .filter(Boolean)
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
    .join('');
  const missing = (v.params as { missingProperty?: string }).missingProperty;
  const extra = (v.params as { additionalProperty?: string }).additionalProperty;
  return `${ctx}${path}${missing ? `.${missing}` : ''}${extra ? `.${extra}` : ''}`;
}

const REQUEST_PATH = /^(body|params|query|headers)(\.|$)/;

/**
 * Services and repositories name their own inputs in `DomainError.field` (`caseId`, `evidence.content`,
 * `connectionEan`); the answer names the request's. A request path (api/ wrote it) stays; otherwise the
 * route's `errorFields` decide, else the part of the request that carries an input of that name
 * (params, then query), else the body of a route that takes one.
 */
export function requestField(field: string, request: FastifyRequest): string {
  if (REQUEST_PATH.test(field)) return field;
  const mapped = request.routeOptions.config.errorFields?.[field];
  if (mapped) return mapped;
  const root = field.split('.')[0]!;
  for (const part of ['params', 'query'] as const) {
    const given = request[part];
    if (given && typeof given === 'object' && root in given) return `${part}.${field}`;
  }
  return request.routeOptions.schema?.body ? `body.${field}` : field;
}

/** Give every route registered after this call in this plugin's context these `errorFields` (a route's own win). */
export function errorFieldsForRoutes(app: FastifyInstance, fields: Readonly<Record<string, string>>): void {
  app.addHook('onRoute', (route) => {
    route.config = { ...(route.config ?? {}), errorFields: { ...fields, ...(route.config?.errorFields ?? {}) } };
  });
}

/**
 * One error handler: domain errors become their stable 4xx body, framework errors get stable
 * codes, and 5xx bodies never carry internals (they are logged with the request context).
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | DomainError | Error, request, reply) => {
    if (err instanceof DomainError) {
      const status = STATUS[err.kind];
      const field = err.field ? requestField(err.field, request) : undefined;
      request.log.info({ code: err.code, field }, 'request refused');
      return reply.status(status).send({
        code: err.code,
        message: err.message,
        ...(field ? { field } : {}),
        ...(err.details ? { details: err.details } : {}),
      });
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      const field = fieldOf(fe);
      return reply.status(400).send({ code: 'invalid_request', message: fe.message, ...(field ? { field } : {}) });
    }
    const statusCode = fe.statusCode ?? 500;
    if (statusCode >= 400 && statusCode < 500) {
      const byCode: Record<string, { code: string; field?: string }> = {
        FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'unsupported_media_type', field: 'headers.content-type' },
        FST_ERR_CTP_BODY_TOO_LARGE: { code: 'payload_too_large', field: 'body' },
        FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'empty_body', field: 'body' },
        FST_ERR_CTP_INVALID_JSON_BODY: { code: 'malformed_json', field: 'body' },
        FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'invalid_content_length', field: 'headers.content-length' },
      };
      const mapped =
        (fe.code && byCode[fe.code]) ||
        (err instanceof SyntaxError ? { code: 'malformed_json', field: 'body' } : undefined);
      return reply.status(statusCode).send({
        code: mapped?.code ?? (fe.code ? fe.code.toLowerCase() : 'bad_request'),
        message: fe.message,
        ...(mapped?.field ? { field: mapped.field } : {}),
      });
    }
    request.log.error({ err }, 'request failed');
    return reply.status(statusCode >= 500 ? statusCode : 500).send({
      code: statusCode === 503 ? 'service_unavailable' : 'internal_error',
      message: 'The request could not be completed. It has been logged with id ' + request.id + '.',
    });
  });

  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send({ code: 'route_not_found', message: `No route ${request.method} ${request.url.split('?')[0]}` }),
  );
}
