/**
 * Issue 20: what the Temporal clients and workers add for traces and the request id (docs/operations.md,
 * "Metrics and traces").
 *
 * - Clients: the request id header (lib/observability/request-id.ts) on starts, signals and Updates, and, with
 *   tracing on, OpenTelemetry's client interceptor (a span per call, its context in the headers).
 * - Workers: the workflow interceptor module workflows/interceptors.ts (request id and OpenTelemetry's workflow
 *   interceptors; bundled with the workflow code), the span sink the workflow spans leave through, and the
 *   activity interceptors: the request id in every log line of the activity, and, with tracing on, a span per
 *   activity run whose parent is the workflow's StartActivity span.
 */
import type { ClientInterceptors, WorkflowClientInterceptor } from '@temporalio/client';
import { defaultPayloadConverter, type Headers } from '@temporalio/common';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  type OpenTelemetryWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import { REQUEST_ID_HEADER, requestIds } from '../observability/request-id.js';
import { currentTracing, type Tracing } from '../observability/tracing.js';

function withRequestId(headers: Headers): Headers {
  const id = requestIds.getStore();
  if (id === undefined || headers[REQUEST_ID_HEADER] !== undefined) return headers;
  return { ...headers, [REQUEST_ID_HEADER]: defaultPayloadConverter.toPayload(id) };
}

/** The request id of the API request this call is made for, in a header of the call (none outside a request). */
export const requestIdClientInterceptor: WorkflowClientInterceptor = {
  start: (input, next) => next({ ...input, headers: withRequestId(input.headers) }),
  startWithDetails: (input, next) => next({ ...input, headers: withRequestId(input.headers) }),
  signal: (input, next) => next({ ...input, headers: withRequestId(input.headers) }),
  signalWithStart: (input, next) => next({ ...input, headers: withRequestId(input.headers) }),
  startUpdate: (input, next) => next({ ...input, headers: withRequestId(input.headers) }),
  startUpdateWithStart: (input, next) =>
    next({
      ...input,
      workflowStartHeaders: withRequestId(input.workflowStartHeaders),
      updateHeaders: withRequestId(input.updateHeaders),
    }),
};

const TRACED_CALLS = [
  'start',
  'startWithDetails',
  'signal',
  'signalWithStart',
  'startUpdate',
  'startUpdateWithStart',
  'query',
  'terminate',
  'cancel',
  'describe',
] as const;

/**
 * OpenTelemetry's client interceptor when tracing is on at the time of the call (a client may be made before the
 * process's tracing is set up, as the tests do); a plain pass-through when it is off.
 */
function tracingClientInterceptor(): WorkflowClientInterceptor {
  let otel: OpenTelemetryWorkflowClientInterceptor | undefined;
  const traced = (): OpenTelemetryWorkflowClientInterceptor | undefined => {
    const t = currentTracing();
    if (!t?.enabled) return undefined;
    return (otel ??= new OpenTelemetryWorkflowClientInterceptor({ tracer: t.tracer! }));
  };
  const interceptor: Record<string, unknown> = {};
  for (const call of TRACED_CALLS) {
    interceptor[call] = (input: unknown, next: (i: unknown) => Promise<unknown>) => {
      const o = traced() as unknown as Record<string, (i: unknown, n: typeof next) => Promise<unknown>> | undefined;
      return o ? o[call]!.call(o, input, next) : next(input);
    };
  }
  return interceptor as WorkflowClientInterceptor;
}

/** A client's interceptors: the request id, and OpenTelemetry's when tracing is on. */
export function clientInterceptors(): ClientInterceptors {
  return { workflow: [requestIdClientInterceptor, tracingClientInterceptor()] };
}

function requestIdOf(headers: Headers): string | undefined {
  const p = headers[REQUEST_ID_HEADER];
  if (p === undefined) return undefined;
  try {
    const id = defaultPayloadConverter.fromPayload<unknown>(p);
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** The request id the workflow handed the activity, in every log line of the activity (`requestId`). */
const requestIdActivityInterceptors: ActivityInterceptorsFactory = () => {
  let requestId: string | undefined;
  return {
    inbound: {
      execute(input, next) {
        requestId = requestIdOf(input.headers);
        return next(input);
      },
    },
    outbound: {
      getLogAttributes: (attrs, next) => next(requestId === undefined ? attrs : { ...attrs, requestId }),
    },
  };
};

/** The activity interceptors of a worker (see the module comment). */
export function activityInterceptors(tracing: Tracing | undefined): ActivityInterceptorsFactory[] {
  const factories = [requestIdActivityInterceptors];
  if (tracing?.enabled) {
    const tracer = tracing.tracer!;
    factories.push((ctx) => ({
      inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer }),
      outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
    }));
  }
  return factories;
}

/**
 * The sink workflows/interceptors.ts sends its spans through (always registered: the module is in every
 * workflow bundle; with tracing off it drops them).
 */
export function workflowSinks(tracing: Tracing): InjectedSinks<{ exporter: OpenTelemetryWorkflowExporter }> {
  if (!tracing.enabled || !tracing.processor || !tracing.resource)
    return { exporter: { export: { fn: () => undefined, callDuringReplay: false } } };
  return { exporter: makeWorkflowExporter(tracing.processor, tracing.resource) };
}
