import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type DomainErrorKind } from '../../lib/errors.js';
import { DEPENDENCY_DOWN, downDependency } from '../../lib/infra/dependency-errors.js';
import { giveUp } from '../../services/idempotency/action.js';
import { unavailableTotal } from '../../lib/observability/metrics.js';

/** Issue 20: gt_http_unavailable_total by the dependency a 503 names (its code when it names none: gate_overloaded, …). */
function countUnavailable(err: DomainError): void {
  const named = (err.details as { dependency?: unknown } | undefined)?.dependency;
  const dependency = typeof named === 'string' ? named : err.code.replace(/_unavailable$/, '');
  unavailableTotal.labels(dependency, err.code).inc();
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Request paths of the inputs that services and repositories name differently in their errors
     * (`caseId` → `params.id`, `evidence.content` → `body.evidence.contentBase64`); see requestField.
     */
    errorFields?: Readonly<Record<string, string>>;
  }
}

/** Retry-After of a DomainError 503 (a workflow not started yet, Temporal or mail unavailable). */
const RETRY_AFTER_S = 5;

const STATUS: Record<DomainErrorKind, number> = {
  validation: 400,
  not_found: 404,
  conflict: 409,
  forbidden: 403,
  state: 409,
  unavailable: 503,
  rate_limited: 429,
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

const REQUEST_PATH = /^(body|params|query|querystring|headers)(\.|$)/;

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

/** A DomainError's status and body, as every route answers it (also what a repeated case action replays). */
export function domainErrorAnswer(
  err: DomainError,
  request: FastifyRequest,
): { status: number; body: { code: string; message: string; field?: string; details?: Record<string, unknown> } } {
  const field = err.field ? requestField(err.field, request) : undefined;
  return {
    status: STATUS[err.kind],
    body: {
      code: err.code,
      message: err.message,
      ...(field ? { field } : {}),
      ...(err.details ? { details: err.details } : {}),
    },
  };
}

/**
 * A case action's 503 says what became of the action (issue 20): `not_done` (its write was never sent) or
 * `unknown` (sent: it may still complete; repeat with the same Idempotency-Key). Other answers unchanged.
 */
function withOutcome<B extends { details?: Record<string, unknown> }>(
  request: FastifyRequest,
  status: number,
  body: B,
): B {
  if (status !== 503 || !request.caseAction) return body;
  return { ...body, details: { ...body.details, outcome: giveUp(request.caseAction) } };
}

/**
 * One error handler: domain errors become their stable 4xx body, framework errors get stable
 * codes, and 5xx bodies never carry internals (they are logged with the request context).
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | DomainError | Error, request, reply) => {
    // Refused before the body has all arrived (a CSV upload judged bad at its header): close the connection
    // after the answer rather than read and discard the rest of a file that may be gigabytes.
    if (request.raw.complete === false) void reply.header('connection', 'close');
    if (err instanceof DomainError) {
      const { status, body } = domainErrorAnswer(err, request);
      request.log.info({ code: err.code, field: body.field }, 'request refused');
      if (status === 503) {
        void reply.header('retry-after', String(RETRY_AFTER_S));
        countUnavailable(err);
      }
      return reply.status(status).send(withOutcome(request, status, body));
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
    const down = downDependency(err);
    if (down) {
      // A dependency down is no bug of ours: a fast 503 naming it, never a 500.
      const d = DEPENDENCY_DOWN[down];
      request.log.warn({ err, dependency: down }, 'dependency unavailable');
      unavailableTotal.labels(down, d.code).inc();
      return reply
        .status(503)
        .header('retry-after', String(d.retryAfterS))
        .send(withOutcome(request, 503, { code: d.code, message: d.message, details: { dependency: down } }));
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

/** The router's refusals before any route runs: a URL that does not decode, a path parameter too long (414). */
const FRAMEWORK: Record<string, { status: number; code: string; field: string; message: string }> = {
  FST_ERR_BAD_URL: { status: 400, code: 'malformed_url', field: 'url', message: 'The URL does not decode' },
  FST_ERR_MAX_PARAM_LENGTH: {
    status: 414,
    code: 'uri_too_long',
    field: 'params',
    message: 'A path parameter is longer than any this API takes',
  },
};

/** Fastify's `frameworkErrors`: the router's own refusals in the documented error body. */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const known = err.code ? FRAMEWORK[err.code] : undefined;
  if (!known) {
    request.log.error({ err }, 'request failed in the router');
    void reply.status(500).send({
      code: 'internal_error',
      message: 'The request could not be completed. It has been logged with id ' + request.id + '.',
    });
    return;
  }
  request.log.info({ code: known.code }, 'request refused');
  void reply.status(known.status).send({ code: known.code, message: known.message, field: known.field });
}

/**
 * Fastify's `clientErrorHandler`: a request Node's HTTP parser refuses (headers too large → 431, a timeout → 408,
 * anything unparsable → 400) never reaches Fastify's routing; it is answered on the socket, in the same body shape.
 */
export function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, body] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [
          431,
          {
            code: 'headers_too_large',
            message: 'The request line and headers exceed the size allowed',
            field: 'headers',
          },
        ]
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, { code: 'request_timeout', message: 'The request did not arrive in time' }]
        : [400, { code: 'malformed_request', message: 'The request is not valid HTTP/1.1', field: 'headers' }];
  this.log.debug({ err }, 'client error');
  if (socket.writable) {
    const json = JSON.stringify(body);
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`,
    );
  }
  socket.destroy(err);
}
