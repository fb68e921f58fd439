/**
 * Issue 20: request metrics, request spans and the request id that travels into Temporal (docs/operations.md,
 * "Metrics and traces").
 *
 * - Every route: gt_http_request_duration_seconds by method, route pattern and status, added up by a hook of the
 *   route's own into plain numbers (lib/observability/metrics.ts RouteMetrics; Fastify's own elapsed time).
 * - Routes that may call Temporal (all but the P4 gate's, which never does): their hooks and handler run inside
 *   `requestIds.run(request.id)`, so the Temporal client interceptor puts the id in the workflow's headers.
 * - With tracing on (lib/observability/tracing.ts), a server span per request, active while the handler runs,
 *   so the Temporal client's spans are its children. With tracing off no hook of this kind is added at all.
 */
import { context, trace, SpanKind, SpanStatusCode, type Span } from '@opentelemetry/api';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RouteMetrics } from '../../lib/observability/metrics.js';
import { requestIds } from '../../lib/observability/request-id.js';
import type { Tracing } from '../../lib/observability/tracing.js';

declare module 'fastify' {
  interface FastifyRequest {
    span?: Span;
  }
}

/**
 * Routes that never call Temporal keep their path free of the request-id scope: the P4 gate's above all (its hot
 * path), and bench/p4-server.ts's constant route, so that the gate is measured against a ceiling with the same hooks.
 */
const TEMPORAL_FREE = /^\/(p4|access-register|health|docs|openapi\.json|bench)(\/|$)/;

export function registerObservability(app: FastifyInstance, tracing: Tracing | undefined): void {
  const tracer = tracing?.enabled ? tracing.tracer : undefined;

  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method.join(',') : route.method;
    const metrics = RouteMetrics.of(methods, route.url ?? route.path);
    // The route's own hook: its counts are found by closure, not looked up per request.
    const count = (_request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
      metrics.observe(reply.statusCode, reply.elapsedTime);
      done();
    };
    const after = route.onResponse;
    route.onResponse = after === undefined ? [count] : [count, ...(Array.isArray(after) ? after : [after])];
    if (tracer === undefined && TEMPORAL_FREE.test(route.url ?? route.path)) return;
    // Runs last of the app's preHandlers, right before the route's own: the rest of the request (the route's
    // preHandlers and handler) runs inside the request's scope (request id; span when tracing).
    const scope = (request: FastifyRequest, _reply: unknown, done: () => void): void => {
      const run = () => requestIds.run(request.id, done);
      if (request.span) context.with(trace.setSpan(context.active(), request.span), run);
      else run();
    };
    const own = route.preHandler;
    route.preHandler = own === undefined ? [scope] : [scope, ...(Array.isArray(own) ? own : [own])];
  });

  if (tracer === undefined) return;
  app.addHook('onResponse', (request, reply, done) => {
    const span = request.span;
    if (span) {
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    done();
  });
  app.addHook('onRequest', (request, _reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    request.span = tracer.startSpan(`${request.method} ${route}`, {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': request.method,
        'http.route': route,
        'url.path': request.url.split('?')[0],
        'gt.request_id': request.id,
      },
    });
    done();
  });
}
